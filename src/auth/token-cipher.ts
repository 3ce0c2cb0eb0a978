/**
 * Sealing OAuth tokens at rest: AES-256-GCM (node:crypto) under a 32-byte key from the
 * environment. A sealed value names the key that sealed it (a fingerprint, not the key), so
 * after a key rotation the gateway opens old values with a previous key and seals them again
 * with the current one. The connector id is authenticated with each value (GCM additional
 * data): a value copied onto another connector's row does not open.
 *
 * Format: `v1.<key fingerprint>.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
import crypto from 'node:crypto';

export const KEY_ENV = 'GATEWAY_ENCRYPTION_KEY';
export const PREVIOUS_KEYS_ENV = 'GATEWAY_ENCRYPTION_KEY_PREVIOUS';

const VERSION = 'v1';
const IV_BYTES = 12;

export interface EncryptionKeys {
  /** Seals every new value. */
  current: Buffer;
  /** Open values sealed before a rotation; never used to seal. */
  previous: Buffer[];
}

/** The stored value cannot be opened: wrong or missing key, or the value was altered. */
export class TokenDecryptError extends Error {
  override readonly name = 'TokenDecryptError';
}

/**
 * A key from its text: 64 hex digits, or base64/base64url of 32 bytes. The error names the
 * setting and never repeats the value (it is a secret, even when malformed).
 */
export function parseKey(raw: string, setting: string): Buffer {
  const text = raw.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key?.length !== 32) {
    throw new Error(
      `${setting} must be 32 random bytes, written as 64 hex digits or 44 base64 characters (for example the output of: openssl rand -base64 32); the value given is ${text.length} characters long and is not that`,
    );
  }
  return key;
}

/**
 * Keys from the environment: GATEWAY_ENCRYPTION_KEY, and GATEWAY_ENCRYPTION_KEY_PREVIOUS (one
 * key, or several separated by commas or spaces) during a rotation. Undefined when no key is
 * set; a start-up error when one is malformed or only previous keys are given.
 */
export function keysFromEnv(env: NodeJS.ProcessEnv): EncryptionKeys | undefined {
  const current = env[KEY_ENV]?.trim();
  const previousText = env[PREVIOUS_KEYS_ENV]?.trim();
  if (!current) {
    if (previousText) throw new Error(`${PREVIOUS_KEYS_ENV} is set but ${KEY_ENV} is not: set the new key in ${KEY_ENV}`);
    return undefined;
  }
  const previous = (previousText ? previousText.split(/[\s,]+/).filter(Boolean) : []).map((k, i) => parseKey(k, `${PREVIOUS_KEYS_ENV} (key ${i + 1})`));
  return { current: parseKey(current, KEY_ENV), previous };
}

/** A new random key, base64 (what the demo and a fresh SQLite data directory use). */
export function generateKey(): string {
  return crypto.randomBytes(32).toString('base64');
}

/** Names a key without revealing it: a hash under a fixed label, shortened. */
export function keyFingerprint(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('crm-gateway token key fingerprint').digest('base64url').slice(0, 11);
}

export class TokenCipher {
  private readonly byFingerprint = new Map<string, Buffer>();
  /** Fingerprint of the key that seals. */
  readonly currentKeyId: string;

  constructor(keys: EncryptionKeys) {
    this.currentKeyId = keyFingerprint(keys.current);
    for (const k of [keys.current, ...keys.previous]) {
      const id = keyFingerprint(k);
      if (!this.byFingerprint.has(id)) this.byFingerprint.set(id, k);
    }
  }

  seal(plaintext: string, context: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.byFingerprint.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The plaintext, and whether it was sealed with a previous key (then it should be sealed again). */
  open(sealed: string, context: string): { plaintext: string; stale: boolean } {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new TokenDecryptError(`the stored OAuth token of ${context} is not in a format this gateway reads`);
    const [, keyId, iv, tag, body] = parts;
    const key = this.byFingerprint.get(keyId);
    if (!key) {
      throw new TokenDecryptError(
        `the stored OAuth token of ${context} was encrypted with a key that is neither ${KEY_ENV} nor in ${PREVIOUS_KEYS_ENV} (key fingerprint ${keyId}): set the key it was written with, or authorize the connector again`,
      );
    }
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plaintext = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      return { plaintext, stale: keyId !== this.currentKeyId };
    } catch {
      throw new TokenDecryptError(
        `the stored OAuth token of ${context} failed authentication under key fingerprint ${keyId}: it was altered or belongs to another row; authorize the connector again`,
      );
    }
  }

  /** The key fingerprint a sealed value names (to find values sealed before a rotation). */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
  }
}
