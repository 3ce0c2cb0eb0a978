/**
 * Which keys seal OAuth tokens, decided at start-up (README, "Tokens at rest"):
 *   - GATEWAY_ENCRYPTION_KEY (and GATEWAY_ENCRYPTION_KEY_PREVIOUS during a rotation) when set;
 *   - else, with SQLite, a key generated once into DATA_DIR/encryption.key (mode 0600) and read
 *     from there on later starts: zero setup, and a copy of the database alone holds no usable
 *     token (keep the key file out of database backups, or set the variable instead);
 *   - else (PostgreSQL) none: a deployment that has OAuth connectors is refused (see
 *     `requireKeyForOAuth`), because replicas sharing a database cannot share a generated file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KEY_ENV, generateKey, keysFromEnv, parseKey, type EncryptionKeys } from './token-cipher';

export const KEY_FILE_NAME = 'encryption.key';

export interface ResolvedKeys {
  keys?: EncryptionKeys;
  /** Where the key came from, for the start-up log (never the key itself). */
  source: 'environment' | 'generated' | 'key file' | 'none';
  keyFile?: string;
}

export function resolveEncryptionKeys(env: NodeJS.ProcessEnv, store: { sqlite: boolean; dataDir: string }): ResolvedKeys {
  const fromEnv = keysFromEnv(env);
  if (fromEnv) return { keys: fromEnv, source: 'environment' };
  if (!store.sqlite) return { source: 'none' };
  const keyFile = path.join(store.dataDir, KEY_FILE_NAME);
  if (fs.existsSync(keyFile)) {
    const mode = fs.statSync(keyFile).mode & 0o077;
    if (mode !== 0) throw new Error(`${keyFile} can be read by other users (mode ${(fs.statSync(keyFile).mode & 0o777).toString(8)}): chmod 600 it`);
    return { keys: { current: parseKey(fs.readFileSync(keyFile, 'utf8'), keyFile), previous: [] }, source: 'key file', keyFile };
  }
  fs.mkdirSync(store.dataDir, { recursive: true });
  // 'wx': never overwrite a key another process wrote a moment ago (tokens sealed with it would be lost).
  try {
    fs.writeFileSync(keyFile, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { keys: { current: parseKey(fs.readFileSync(keyFile, 'utf8'), keyFile), previous: [] }, source: 'key file', keyFile };
  }
  return { keys: { current: parseKey(fs.readFileSync(keyFile, 'utf8'), keyFile), previous: [] }, source: 'generated', keyFile };
}

/** PostgreSQL without a key: refused as soon as an OAuth connector is configured. */
export function requireKeyForOAuth(resolved: ResolvedKeys, oauthConnectors: string[]): void {
  if (resolved.keys || oauthConnectors.length === 0) return;
  throw new Error(
    `${KEY_ENV} is not set, and connector${oauthConnectors.length === 1 ? '' : 's'} ${oauthConnectors.join(', ')} use${oauthConnectors.length === 1 ? 's' : ''} OAuth: with PostgreSQL the gateway stores OAuth tokens only encrypted. Set ${KEY_ENV} to 32 random bytes (openssl rand -base64 32), the same on every replica`,
  );
}
