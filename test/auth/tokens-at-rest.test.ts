/**
 * Tokens at rest through `serve` (SQLite): with no key configured one is generated into the
 * data directory (0600) and reused; plaintext tokens of an earlier version (oauth-tokens.json)
 * are sealed and the file removed; the database file then holds no token; a malformed key is
 * a start-up error that does not repeat it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve } from '../../src/cli/serve';
import { silentLogger } from '../../src/util/logger';
import { ROOT } from '../helpers/harness';

let dir: string;
const configFiles = [path.join(ROOT, 'config/zendesk.yaml')];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'at-rest-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const start = (env: Record<string, string> = {}) =>
  serve({
    port: 0,
    configFiles,
    dataDir: path.join(dir, 'data'),
    env: { ZENDESK_URL: 'http://127.0.0.1:9', CONFIG_WATCH: 'off', ...env },
    logger: silentLogger,
    apiKeys: null,
    workers: 0,
  });

test('SQLite, no key: one is generated (0600), the old plaintext token file is sealed into the database and removed, the next start reuses the key', async () => {
  const token = { access_token: `AT-${crypto.randomBytes(8).toString('hex')}`, refresh_token: `RT-${crypto.randomBytes(8).toString('hex')}`, obtained_at: 1 };
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data/oauth-tokens.json'), JSON.stringify({ zoho: token }), { mode: 0o600 });
  const first = await start();
  try {
    expect(first.tokenKey).toEqual({ source: 'generated', file: path.join(dir, 'data/encryption.key') });
    expect(fs.statSync(path.join(dir, 'data/encryption.key')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dir, 'data/oauth-tokens.json'))).toBe(false);
    expect(await first.store.tokens.get('zoho')).toEqual(token);
  } finally {
    await first.close();
  }
  // Nothing readable left on disk: the database (and its WAL) hold only ciphertext.
  for (const f of fs.readdirSync(path.join(dir, 'data'))) {
    const bytes = fs.readFileSync(path.join(dir, 'data', f)).toString('latin1');
    expect(bytes).not.toContain(token.access_token);
    expect(bytes).not.toContain(token.refresh_token);
  }
  const second = await start();
  try {
    expect(second.tokenKey.source).toBe('key file');
    expect(await second.store.tokens.get('zoho')).toEqual(token);
  } finally {
    await second.close();
  }
});

test('a key from the environment: no file is generated; a malformed one stops the start, naming the setting, not the value', async () => {
  const running = await start({ GATEWAY_ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex') });
  try {
    expect(running.tokenKey).toEqual({ source: 'environment', file: undefined });
    expect(fs.existsSync(path.join(dir, 'data/encryption.key'))).toBe(false);
  } finally {
    await running.close();
  }
  await expect(start({ GATEWAY_ENCRYPTION_KEY: 'hunter2-is-not-a-key' })).rejects.toThrow(/^GATEWAY_ENCRYPTION_KEY must be 32 random bytes/);
  await expect(start({ GATEWAY_ENCRYPTION_KEY: 'hunter2-is-not-a-key' })).rejects.not.toThrow(/hunter2/);
});

test.each([['abc'], ['-1'], ['1.5']])('RETENTION_DAYS=%s is a start-up error', async (value) => {
  await expect(start({ RETENTION_DAYS: value })).rejects.toThrow(`RETENTION_DAYS must be a whole number of days (0 = keep forever), got "${value}"`);
});

test('the demo generates a token key into its data directory and says where', async () => {
  const printed: string[] = [];
  const { runDemo } = await import('../../src/cli/demo');
  const stop = await runDemo({ SAMPLE_CRM_PORT: '0', PORT: '0', DATA_DIR: path.join(dir, 'demo-data'), LOG_LEVEL: 'silent' }, (s) => printed.push(s));
  try {
    const key = path.join(dir, 'demo-data/encryption.key');
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(printed.join('\n')).toContain(`token key          ${key}   (generated now: encrypts OAuth tokens at rest`);
  } finally {
    await stop();
  }
});
