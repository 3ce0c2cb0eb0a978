/** Sealing tokens at rest: key parsing, AES-256-GCM round trip, wrong keys, rotation. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TokenCipher, TokenDecryptError, keysFromEnv, parseKey } from '../../src/auth/token-cipher';
import { requireKeyForOAuth, resolveEncryptionKeys } from '../../src/auth/encryption-setup';

const raw = crypto.randomBytes(32);

describe('keys from the environment', () => {
  test.each([
    ['64 hex digits', raw.toString('hex')],
    ['base64', raw.toString('base64')],
    ['base64url, no padding', raw.toString('base64url')],
    ['surrounded by whitespace', `  ${raw.toString('base64')}\n`],
  ])('%s', (_name, text) => {
    expect(parseKey(text, 'GATEWAY_ENCRYPTION_KEY').equals(raw)).toBe(true);
  });

  test.each([
    ['too short', crypto.randomBytes(16).toString('base64')],
    ['too long', crypto.randomBytes(48).toString('hex')],
    ['a passphrase', 'correct horse battery staple'],
    ['hex with a typo', `${raw.toString('hex').slice(0, 63)}g`],
    ['empty', ''],
  ])('%s: a clear error that names the setting and never repeats the value', (_name, text) => {
    let message = '';
    try {
      parseKey(text, 'GATEWAY_ENCRYPTION_KEY');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^GATEWAY_ENCRYPTION_KEY must be 32 random bytes, written as 64 hex digits or 44 base64 characters/);
    if (text) expect(message).not.toContain(text);
  });

  test('previous keys: one or a list; only previous keys is an error; none at all is undefined', () => {
    const a = crypto.randomBytes(32);
    const b = crypto.randomBytes(32);
    const keys = keysFromEnv({
      GATEWAY_ENCRYPTION_KEY: raw.toString('base64'),
      GATEWAY_ENCRYPTION_KEY_PREVIOUS: `${a.toString('hex')}, ${b.toString('base64')}`,
    })!;
    expect(keys.current.equals(raw)).toBe(true);
    expect(keys.previous.map((k) => k.toString('hex'))).toEqual([a.toString('hex'), b.toString('hex')]);
    expect(keysFromEnv({})).toBeUndefined();
    expect(() => keysFromEnv({ GATEWAY_ENCRYPTION_KEY_PREVIOUS: a.toString('hex') })).toThrow(
      /GATEWAY_ENCRYPTION_KEY_PREVIOUS is set but GATEWAY_ENCRYPTION_KEY is not/,
    );
    expect(() => keysFromEnv({ GATEWAY_ENCRYPTION_KEY: raw.toString('hex'), GATEWAY_ENCRYPTION_KEY_PREVIOUS: 'nope' })).toThrow(
      /GATEWAY_ENCRYPTION_KEY_PREVIOUS \(key 1\) must be 32 random bytes/,
    );
  });
});

describe('TokenCipher', () => {
  const cipher = new TokenCipher({ current: raw, previous: [] });

  test('round trip; a fresh IV each time; the plaintext appears in no form', () => {
    const secret = 'RT-very-secret-refresh-token';
    const a = cipher.seal(secret, 'connector zd');
    const b = cipher.seal(secret, 'connector zd');
    expect(a).not.toBe(b);
    for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) expect(a).not.toContain(form);
    expect(cipher.open(a, 'connector zd')).toEqual({ plaintext: secret, stale: false });
  });

  test('a wrong key, an altered value, another row, a foreign format: TokenDecryptError, never garbage', () => {
    const sealed = cipher.seal('{"access_token":"x"}', 'connector zd');
    const other = new TokenCipher({ current: crypto.randomBytes(32), previous: [] });
    expect(() => other.open(sealed, 'connector zd')).toThrow(TokenDecryptError);
    expect(() => other.open(sealed, 'connector zd')).toThrow(/neither GATEWAY_ENCRYPTION_KEY nor in GATEWAY_ENCRYPTION_KEY_PREVIOUS/);
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[4], 'base64url');
    flipped[0] ^= 1;
    expect(() => cipher.open([...parts.slice(0, 4), flipped.toString('base64url')].join('.'), 'connector zd')).toThrow(/failed authentication/);
    expect(() => cipher.open(sealed, 'connector hubspot')).toThrow(/connector hubspot failed authentication/);
    expect(() => cipher.open('{"access_token":"x"}', 'connector zd')).toThrow(/not in a format this gateway reads/);
  });

  test('rotation: a value sealed with a previous key opens and says it is stale', () => {
    const next = crypto.randomBytes(32);
    const old = cipher.seal('token', 'c');
    const rotated = new TokenCipher({ current: next, previous: [raw] });
    expect(rotated.open(old, 'c')).toEqual({ plaintext: 'token', stale: true });
    expect(rotated.open(rotated.seal('token', 'c'), 'c')).toEqual({ plaintext: 'token', stale: false });
    expect(TokenCipher.keyIdOf(old)).not.toBe(rotated.currentKeyId);
  });
});

describe('which key at start-up', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the environment wins; no key file is written', () => {
    const r = resolveEncryptionKeys({ GATEWAY_ENCRYPTION_KEY: raw.toString('hex') }, { sqlite: true, dataDir: dir });
    expect(r.source).toBe('environment');
    expect(fs.existsSync(path.join(dir, 'encryption.key'))).toBe(false);
  });

  test('SQLite without a key: one is generated into the data directory (0600) and reused on the next start', () => {
    const first = resolveEncryptionKeys({}, { sqlite: true, dataDir: dir });
    expect(first.source).toBe('generated');
    expect(fs.statSync(path.join(dir, 'encryption.key')).mode & 0o777).toBe(0o600);
    const second = resolveEncryptionKeys({}, { sqlite: true, dataDir: dir });
    expect(second.source).toBe('key file');
    expect(second.keys!.current.equals(first.keys!.current)).toBe(true);
    fs.chmodSync(path.join(dir, 'encryption.key'), 0o644);
    expect(() => resolveEncryptionKeys({}, { sqlite: true, dataDir: dir })).toThrow(/can be read by other users \(mode 644\): chmod 600 it/);
  });

  test('PostgreSQL without a key: none, and refused once an OAuth connector exists', () => {
    const r = resolveEncryptionKeys({}, { sqlite: false, dataDir: dir });
    expect(r).toEqual({ source: 'none' });
    expect(() => requireKeyForOAuth(r, [])).not.toThrow();
    expect(() => requireKeyForOAuth(r, ['hubspot'])).toThrow(
      /GATEWAY_ENCRYPTION_KEY is not set, and connector hubspot uses OAuth: with PostgreSQL the gateway stores OAuth tokens only encrypted/,
    );
    expect(() => requireKeyForOAuth({ source: 'environment', keys: { current: raw, previous: [] } }, ['hubspot'])).not.toThrow();
  });
});
