/**
 * External storage over SFTP (ssh2). Each file is written under a temporary name beside its
 * final one (`.{name}.part`) and then renamed over it: a crash or a dropped connection never
 * leaves a half file under the real name, and a retry writes the same temporary name again
 * and replaces the final file (idempotent; never a second copy). With the server's
 * posix-rename extension (OpenSSH) the replacement is atomic; without it the old file is
 * removed first, so for a moment there is no file, never a partial one.
 *
 * One connection per storage, reused by the writes that follow (at most MAX_PARALLEL
 * operations at once, others wait), closed after IDLE_MS without use and reopened on demand.
 * Every connect and every write has a deadline.
 *
 * Host key: `host_key_sha256` pins the server's key (the fingerprint `ssh-keygen -lf` prints,
 * with or without its "SHA256:" prefix); a different key is refused. Without a pin the key is
 * accepted and its fingerprint logged as a warning on every new connection, to be pinned.
 */
import crypto from 'node:crypto';
import { posix } from 'node:path';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { GatewayError } from '../errors';
import type { FileStore, StorageFolder, StoredObject } from './types';
import { normalizeFingerprint, type SftpSettings } from '../config/storage-types';

export { normalizeFingerprint, type SftpSettings };

/** The http(s) link of a stored file, when the SFTP folder is also published on the web (public_url). */
export function sftpFileUrl(s: SftpSettings, folder: StorageFolder, name: string): string | undefined {
  return s.publicUrl ? `${s.publicUrl}/${folder}/${encodeURIComponent(name)}` : undefined;
}

export interface SftpOptions {
  /** Told the fingerprint of an unpinned server key (a warning to log). */
  onUnpinnedHostKey?: (fingerprint: string) => void;
  idleMs?: number;
}

const MAX_PARALLEL = 4;
const IDLE_MS = 30_000;

export function hostKeyFingerprint(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

interface Session {
  client: Client;
  sftp: SFTPWrapper;
  /** Rejects when the connection goes away: operations in flight fail at once instead of at the deadline. */
  lost: Promise<never>;
}

export class SftpStore implements FileStore {
  readonly kind = 'sftp';
  private session?: Promise<Session>;
  private active = 0;
  private waiting: Array<() => void> = [];
  private idle?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly s: SftpSettings,
    private readonly o: SftpOptions = {},
  ) {}

  /** For people and logs: never the user's password or key. */
  private location(p: string): string {
    return `sftp://${this.s.host}${this.s.port === 22 ? '' : `:${this.s.port}`}/${p.replace(/^\/+/, '')}`;
  }

  private dir(folder: StorageFolder): string {
    return this.s.folder ? posix.join(this.s.folder, folder) : folder;
  }

  async put(folder: StorageFolder, name: string, data: Buffer, _contentType: string): Promise<StoredObject> {
    const dir = this.dir(folder);
    const final = posix.join(dir, name);
    const part = posix.join(dir, `.${name}.part`);
    await this.run(`writing ${final}`, async (sftp) => {
      await mkdirs(sftp, dir);
      await writeAll(sftp, part, data);
      await renameOver(sftp, part, final);
    });
    const url = sftpFileUrl(this.s, folder, name);
    return { location: this.location(final), ...(url ? { url } : {}) };
  }

  async get(folder: StorageFolder, name: string): Promise<Buffer | undefined> {
    const file = posix.join(this.dir(folder), name);
    return this.run(
      `reading ${file}`,
      (sftp) =>
        new Promise<Buffer | undefined>((resolve, reject) => {
          sftp.readFile(file, (err, buf) => (err ? (isNoSuchFile(err) ? resolve(undefined) : reject(err)) : resolve(buf)));
        }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
  }

  /** One operation on the shared connection, within the bound and the deadline. */
  private async run<T>(what: string, op: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    if (this.closed) throw new GatewayError('storage_failed', 'sftp storage: closed (the connector was reloaded); retried');
    await this.slot();
    clearTimeout(this.idle);
    let timer: NodeJS.Timeout | undefined;
    try {
      const session = await this.connect();
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.drop();
          reject(new Error(`no answer within ${this.s.timeoutMs} ms`));
        }, this.s.timeoutMs);
      });
      return await Promise.race([op(session.sftp), deadline, session.lost]);
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new GatewayError('storage_failed', `sftp storage ${this.location('')}: ${what} failed: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.active < MAX_PARALLEL) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
    if (this.active === 0 && !this.closed) {
      this.idle = setTimeout(() => this.drop(), this.o.idleMs ?? IDLE_MS);
      this.idle.unref();
    }
  }

  private drop(): void {
    clearTimeout(this.idle);
    const s = this.session;
    this.session = undefined;
    s?.then(
      (x) => x.client.end(),
      () => undefined,
    );
  }

  private connect(): Promise<Session> {
    this.session ??= this.open().catch((e) => {
      this.session = undefined;
      throw e;
    });
    return this.session;
  }

  private open(): Promise<Session> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let refusedKey: string | undefined;
      let settled = false;
      let lose: (e: Error) => void = () => undefined;
      const lost = new Promise<never>((_, reject) => {
        lose = reject;
      });
      lost.catch(() => undefined);
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(
          refusedKey
            ? new GatewayError(
                'storage_failed',
                `sftp storage ${this.location('')}: the server's host key SHA256:${refusedKey} is not the pinned storage.host_key_sha256; refused`,
              )
            : e,
        );
      };
      client.once('error', fail);
      client.once('close', () => {
        fail(new Error('the connection closed'));
        lose(new Error('the connection closed'));
        // A connection that dies later is forgotten: the next write opens a new one.
        if (this.session && settled)
          this.session.then(
            (x) => {
              if (x.client === client) this.session = undefined;
            },
            () => undefined,
          );
      });
      client.once('ready', () => {
        client.sftp((err, sftp) => {
          if (err) return fail(err);
          settled = true;
          resolve({ client, sftp, lost });
        });
      });
      const config: ConnectConfig = {
        host: this.s.host,
        port: this.s.port,
        username: this.s.user,
        readyTimeout: this.s.timeoutMs,
        keepaliveInterval: 10_000,
        hostVerifier: (key: Buffer) => {
          const seen = hostKeyFingerprint(key);
          if (!this.s.hostKeySha256) {
            this.o.onUnpinnedHostKey?.(`SHA256:${seen}`);
            return true;
          }
          if (seen === this.s.hostKeySha256) return true;
          refusedKey = seen;
          return false;
        },
        ...(this.s.privateKey ? { privateKey: this.s.privateKey, passphrase: this.s.passphrase } : { password: this.s.password }),
      };
      try {
        client.connect(config);
      } catch (e) {
        // ssh2 throws synchronously for a key it cannot read (wrong passphrase, not a key).
        fail(new Error(`the private key cannot be used: ${(e as Error).message}`));
      }
    });
  }
}

function call(f: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())));
}

function isNoSuchFile(e: unknown): boolean {
  return (e as { code?: number }).code === 2;
}

/** Every level of `dir`, made where missing (another writer making it at the same time is fine). */
async function mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
  const parts = dir.split('/').filter(Boolean);
  let at = dir.startsWith('/') ? '/' : '';
  for (const p of parts) {
    at = at ? posix.join(at, p) : p;
    const exists = await new Promise<boolean>((resolve) => sftp.stat(at, (err, st) => resolve(!err && st.isDirectory())));
    if (exists) continue;
    try {
      await call((cb) => sftp.mkdir(at, cb));
    } catch (e) {
      const now = await new Promise<boolean>((resolve) => sftp.stat(at, (err, st) => resolve(!err && st.isDirectory())));
      if (!now) throw new Error(`cannot make folder ${at}: ${(e as Error).message}`);
    }
  }
}

async function writeAll(sftp: SFTPWrapper, file: string, data: Buffer): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(file, 'w', (err, h) => (err ? reject(err) : resolve(h))));
  try {
    const chunk = 32 * 1024;
    for (let at = 0; at < data.length; at += chunk) {
      const n = Math.min(chunk, data.length - at);
      await call((cb) => sftp.write(handle, data, at, n, at, cb));
    }
  } finally {
    await call((cb) => sftp.close(handle, cb));
  }
}

async function renameOver(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  // posix-rename replaces the target atomically (ssh2 throws at once when the server lacks it).
  try {
    await call((cb) => sftp.ext_openssh_rename(from, to, cb));
    return;
  } catch {
    // Plain SFTP v3 rename below.
  }
  try {
    await call((cb) => sftp.rename(from, to, cb));
  } catch {
    // SFTP v3 rename does not replace: remove the old copy, then rename.
    await call((cb) => sftp.unlink(to, cb)).catch(() => undefined);
    await call((cb) => sftp.rename(from, to, cb));
  }
}
