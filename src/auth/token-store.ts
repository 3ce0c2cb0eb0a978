/**
 * Where OAuth tokens live between restarts: the durable store (SQLite or PostgreSQL), sealed
 * with AES-256-GCM (token-cipher.ts), so a copy of the database or a backup does not hand out
 * CRM credentials. The memory store serves dry runs and tests.
 */
import fs from 'node:fs';
import { KEY_ENV, TokenCipher, TokenDecryptError, type EncryptionKeys } from './token-cipher';

export interface StoredToken {
  access_token: string;
  refresh_token?: string;
  token_type?: string;
  scope?: string;
  /** Epoch ms; absent when the CRM gave no expiry. */
  expires_at?: number;
  obtained_at: number;
}

export interface TokenStore {
  get(connectorId: string): Promise<StoredToken | undefined>;
  set(connectorId: string, token: StoredToken): Promise<void>;
  delete(connectorId: string): Promise<void>;
  /**
   * Runs `fn` while holding the connector's refresh lock, shared by every process on the same
   * store (replicas), so that one of them refreshes and the others read its result. Absent:
   * this process is the only one using these tokens.
   */
  withRefreshLock?<T>(connectorId: string, fn: () => Promise<T>): Promise<T>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, StoredToken>();
  async get(id: string) {
    return this.tokens.get(id);
  }
  async set(id: string, t: StoredToken) {
    this.tokens.set(id, t);
  }
  async delete(id: string) {
    this.tokens.delete(id);
  }
}

/** The raw rows a durable store keeps: one sealed text per connector, and the refresh lock. */
export interface TokenRows {
  read(connectorId: string): Promise<string | undefined>;
  write(connectorId: string, sealed: string, keyId: string): Promise<void>;
  remove(connectorId: string): Promise<void>;
  /** Connector ids whose value was sealed with a key other than `keyId` (after a rotation). */
  sealedWithOtherKey(keyId: string): Promise<string[]>;
  /** Tokens in the plaintext table of earlier versions (`dropLegacy` deletes one once it is sealed). */
  legacy(): Promise<Array<{ connectorId: string; json: string }>>;
  dropLegacy(connectorId: string): Promise<void>;
  withLock<T>(connectorId: string, fn: () => Promise<T>): Promise<T>;
}

/** A TokenStore over sealed rows. Without keys it stores nothing and says why. */
export class SealedTokenStore implements TokenStore {
  private readonly cipher?: TokenCipher;

  constructor(
    private readonly rows: TokenRows,
    keys: EncryptionKeys | undefined,
  ) {
    this.cipher = keys && new TokenCipher(keys);
  }

  get encrypted(): boolean {
    return this.cipher !== undefined;
  }

  private requireCipher(connectorId: string): TokenCipher {
    if (!this.cipher)
      throw new TokenDecryptError(`OAuth tokens of connector ${connectorId} cannot be read or stored: ${KEY_ENV} is not set (see README, "Tokens at rest")`);
    return this.cipher;
  }

  async get(connectorId: string): Promise<StoredToken | undefined> {
    const sealed = await this.rows.read(connectorId);
    if (sealed === undefined) return undefined;
    const { plaintext } = this.requireCipher(connectorId).open(sealed, `connector ${connectorId}`);
    return JSON.parse(plaintext) as StoredToken;
  }

  async set(connectorId: string, token: StoredToken): Promise<void> {
    const cipher = this.requireCipher(connectorId);
    await this.rows.write(connectorId, cipher.seal(JSON.stringify(token), `connector ${connectorId}`), cipher.currentKeyId);
  }

  async delete(connectorId: string): Promise<void> {
    await this.rows.remove(connectorId);
  }

  withRefreshLock<T>(connectorId: string, fn: () => Promise<T>): Promise<T> {
    return this.rows.withLock(connectorId, fn);
  }

  /**
   * Start-up housekeeping, once keys are known: seals the plaintext tokens of earlier versions
   * (the old table, and the JSON file `legacyFile` under the data directory, which is then
   * deleted) and seals again, with the current key, values sealed with a previous one.
   * Returns what it did, for the start-up log (`unreadable`: connectors whose token no given key
   * opens; `plaintextLeft`: old plaintext rows, plus 1 for the old file, left for want of a key).
   */
  async upgrade(legacyFile?: string): Promise<{ sealed: number; resealed: number; legacyFileRemoved: boolean; unreadable: string[]; plaintextLeft: number }> {
    const out = { sealed: 0, resealed: 0, legacyFileRemoved: false, unreadable: [] as string[], plaintextLeft: 0 };
    if (!this.cipher) {
      // Nothing to seal with: say how many plaintext tokens of an earlier version remain.
      out.plaintextLeft = (await this.rows.legacy()).length + (legacyFile && fs.existsSync(legacyFile) ? 1 : 0);
      return out;
    }
    for (const { connectorId, json } of await this.rows.legacy()) {
      // A token already in the sealed table is newer than the plaintext copy.
      if ((await this.rows.read(connectorId)) === undefined) {
        await this.set(connectorId, JSON.parse(json) as StoredToken);
        out.sealed++;
      }
      await this.rows.dropLegacy(connectorId);
    }
    if (legacyFile && fs.existsSync(legacyFile)) {
      const all = JSON.parse(fs.readFileSync(legacyFile, 'utf8')) as Record<string, StoredToken>;
      for (const [connectorId, token] of Object.entries(all)) {
        if ((await this.rows.read(connectorId)) === undefined) {
          await this.set(connectorId, token);
          out.sealed++;
        }
      }
      fs.rmSync(legacyFile);
      out.legacyFileRemoved = true;
    }
    for (const connectorId of await this.rows.sealedWithOtherKey(this.cipher.currentKeyId)) {
      // Under the refresh lock: a replica refreshing this token at the same moment would otherwise be overwritten.
      await this.rows.withLock(connectorId, async () => {
        const sealed = await this.rows.read(connectorId);
        if (sealed === undefined) return;
        let opened: { plaintext: string; stale: boolean };
        try {
          opened = this.cipher!.open(sealed, `connector ${connectorId}`);
        } catch (e) {
          // Sealed with a key we were not given: start anyway (other connectors work); the
          // connector's calls say why until its key is set or it is authorized again.
          if (!(e instanceof TokenDecryptError)) throw e;
          out.unreadable.push(connectorId);
          return;
        }
        if (!opened.stale) return;
        await this.rows.write(connectorId, this.cipher!.seal(opened.plaintext, `connector ${connectorId}`), this.cipher!.currentKeyId);
        out.resealed++;
      });
    }
    return out;
  }
}
