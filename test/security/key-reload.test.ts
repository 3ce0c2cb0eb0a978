/**
 * API keys reload without a restart (a change of API_KEYS_FILE, or SIGHUP), so a revoked key
 * stops working on its next request, even one that was just accepted (no stale cache); a file
 * that does not parse keeps the current keys. With METRICS_AUTH=on, /metrics needs an admin or
 * metrics key, and a metrics key opens nothing else. A real `serve()` gateway over HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { serve, type RunningGateway } from '../../src/cli/serve';
import { hashKey } from '../../src/access/api-keys';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild } from '../helpers/child';
import { bundled } from '../helpers/harness';

const ADMIN = 'cgw_reload-admin';
const LEAKED = 'cgw_reload-leaked-scoped';
const NEW = 'cgw_reload-new-scoped';
const METRICS = 'cgw_reload-metrics-only';

let crm: RunningSampleCrm;
let gw: RunningGateway;
let keysFile: string;
const logs: string[] = [];

beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config/zendesk.yaml'), bundled('zendesk.yaml'));
  keysFile = path.join(dir, 'keys.txt');
  fs.writeFileSync(keysFile, `# keys\nsha256:${hashKey(ADMIN)}:admin\nsha256:${hashKey(LEAKED)}:connectors=zendesk\nsha256:${hashKey(METRICS)}:metrics\n`);
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(c, _e, cb) {
        logs.push(String(c));
        cb();
      },
    }),
  );
  gw = await serve({
    port: 0,
    configDir: path.join(dir, 'config'),
    dataDir: path.join(dir, 'data'),
    logger,
    env: { ZENDESK_URL: crm.url, API_KEYS_FILE: keysFile, METRICS_AUTH: 'on', CONFIG_WATCH: 'off' },
  });
});
afterAll(async () => {
  await gw?.close();
  await crm?.close();
});

const call = (method: string, p: string, key?: string) =>
  fetch(gw.url + p, {
    method,
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: method === 'POST' ? JSON.stringify({ variables: { EMAIL: 'x@example.com' } }) : undefined,
  }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
const op = (key: string) => call('POST', '/v1/connectors/zendesk/operations/find_account', key);

async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('not within the time allowed');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a key removed from API_KEYS_FILE stops working without a restart; the new one works', async () => {
  expect(await op(LEAKED)).toBe(200);
  expect(await op(NEW)).toBe(401);
  fs.writeFileSync(keysFile, `sha256:${hashKey(ADMIN)}:admin\nsha256:${hashKey(NEW)}:connectors=zendesk\nsha256:${hashKey(METRICS)}:metrics\n`);
  await eventually(async () => (await op(LEAKED)) === 401);
  expect(await op(NEW)).toBe(200);
  expect(logs.join('')).toMatch(/API keys reloaded/);
  // No key, hash or file content in the log.
  expect(logs.join('')).not.toContain(hashKey(NEW));
});

test('a file that does not parse keeps the current keys (logged), a fixed file is taken', async () => {
  fs.writeFileSync(keysFile, 'not a hash\n');
  await eventually(async () => /API keys not reloaded/.test(logs.join('')));
  expect(await op(NEW)).toBe(200);
  expect(logs.join('')).not.toContain('not a hash');
  fs.writeFileSync(keysFile, `sha256:${hashKey(ADMIN)}:admin\nsha256:${hashKey(LEAKED)}:connectors=zendesk\nsha256:${hashKey(METRICS)}:metrics\n`);
  await eventually(async () => (await op(LEAKED)) === 200);
  expect(await op(NEW)).toBe(401);
});

test('SIGHUP reloads as well (a real signal to a gateway process)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-hup-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config/zendesk.yaml'), bundled('zendesk.yaml'));
  const file = path.join(dir, 'keys.txt');
  fs.writeFileSync(file, `sha256:${hashKey(LEAKED)}:connectors=zendesk\n`);
  const child = await startChild({
    GATEWAY_AUTH: 'on',
    API_KEYS_FILE: file,
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    CONFIG_WATCH: 'off',
    LOG_LEVEL: 'info',
  });
  try {
    const at = (key: string) =>
      fetch(`${child.url}/v1/connectors/zendesk/operations/find_account?dry_run=true`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
        body: '{"variables":{"EMAIL":"a@example.com"}}',
      }).then((r) => r.status);
    expect(await at(LEAKED)).toBe(200);
    // Written to a new file and renamed over the old one (as editors and config tools do).
    fs.writeFileSync(`${file}.new`, `sha256:${hashKey(NEW)}:connectors=zendesk\n`);
    fs.renameSync(`${file}.new`, file);
    child.proc.kill('SIGHUP');
    await eventually(async () => (await at(LEAKED)) === 401);
    expect(await at(NEW)).toBe(200);
    expect(child.proc.exitCode).toBeNull();
    await eventually(async () => /"trigger":"SIGHUP"[^\n]*API keys reloaded|API keys reloaded[^\n]*"trigger":"SIGHUP"/.test(child.stderr.join('')));
  } finally {
    await child.kill('SIGTERM');
  }
}, 60_000);

describe('METRICS_AUTH=on', () => {
  test('/metrics needs an admin or metrics key', async () => {
    expect(await call('GET', '/metrics')).toBe(401);
    expect(await call('GET', '/metrics', 'cgw_wrong')).toBe(401);
    expect(await call('GET', '/metrics', METRICS)).toBe(200);
    expect(await call('GET', '/metrics', ADMIN)).toBe(200);
    // health stays open
    expect(await call('GET', '/healthz')).toBe(200);
  });

  test('a metrics key opens nothing else', async () => {
    expect(await op(METRICS)).toBe(403);
    expect(await call('GET', '/v1/connectors', METRICS)).toBe(403);
    expect(await call('GET', '/v1/deliveries', METRICS)).toBe(403);
    expect(await call('GET', '/v1/deliveries?connector=zendesk', METRICS)).toBe(403);
    expect(await call('GET', '/v1/connectors/zendesk/sessions/x', METRICS)).toBe(403);
  });

  test('a scoped key may not read /metrics either', async () => {
    fs.writeFileSync(keysFile, `sha256:${hashKey(ADMIN)}:admin\nsha256:${hashKey(LEAKED)}:connectors=zendesk\n`);
    await eventually(async () => (await op(LEAKED)) === 200);
    expect(await call('GET', '/metrics', LEAKED)).toBe(403);
  });

  test('METRICS_AUTH takes on or off only', async () => {
    await expect(serve({ port: 0, env: { METRICS_AUTH: 'yes' }, dataDir: os.tmpdir() })).rejects.toThrow(/METRICS_AUTH must be "on" or "off"/);
  });
});
