/**
 * Starting and running through PostgreSQL outages, with real gateway processes: the gateway
 * listens while the database is down or not created yet (/readyz 503 with a reason, one short
 * log line per attempt, sync operations still answer), becomes ready when the database answers,
 * and a completion it could not save is not logged as delivered and lands exactly once later.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../../src/delivery/postgres-store';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { ROOT } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import { TcpProxy } from '../helpers/tcp-proxy';

jest.setTimeout(90_000);

let crm: RunningSampleCrm;
let dir: string;
beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outage-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.copyFileSync(path.join(ROOT, 'config/zendesk.yaml'), path.join(dir, 'config/zendesk.yaml'));
});
afterAll(async () => {
  await crm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const children: Child[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
});

async function gateway(env: Record<string, string>): Promise<Child> {
  const child = await startChild({
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, `data-${crypto.randomBytes(3).toString('hex')}`),
    ZENDESK_URL: crm.url,
    LOG_LEVEL: 'info',
    ACCESS_LOG: 'off',
    ...env,
  });
  children.push(child);
  return child;
}

async function readyz(url: string): Promise<{ status: number; body: { status: string; reason?: string; store?: { reachable: boolean } } }> {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as never };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The child's log, one JSON object per line (pino on stderr). */
function logLines(child: Child): Array<{ raw: string; msg: string; [k: string]: unknown }> {
  return child.stderr
    .join('')
    .split('\n')
    .filter((l) => l.trim())
    .map((raw) => {
      try {
        return { raw, ...(JSON.parse(raw) as { msg: string }) };
      } catch {
        return { raw, msg: `(not JSON) ${raw}` };
      }
    });
}

/** Every line is JSON, short, without a stack trace or the database password. */
function expectCleanLog(child: Child, password: string): void {
  for (const l of logLines(child)) {
    expect(l.msg).not.toMatch(/^\(not JSON\)/);
    expect(l.raw.length).toBeLessThan(800);
    expect(l.raw).not.toContain(password);
    expect(l.raw).not.toMatch(/\n\s+at |\\n\s+at /);
  }
}

test('starts while PostgreSQL refuses connections: /readyz 503 with a reason, sync operations answer; ready once it answers', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const proxy = await TcpProxy.start(PG_URL, 'refuse');
  try {
    const child = await gateway({ DATABASE_URL: proxy.urlFor(PG_URL), DATABASE_SCHEMA: schema, DELIVERY_WORKERS: '2' });
    const before = await readyz(child.url);
    expect(before.status).toBe(503);
    expect(before.body.status).toBe('not_ready');
    expect(before.body.reason).toMatch(/^database not ready: .+; attempt \d+, next in [\d.]+ s$/);
    expect(before.body.store?.reachable).toBe(false);
    // A sync operation needs no store: it is served while the database is down.
    const sync = await fetch(`${child.url}/v1/connectors/zendesk/operations/create_account`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { NAME: 'While down', EMAIL: `down-${schema}@example.com` } }),
    });
    expect(sync.status).toBe(200);
    // A durable write cannot be kept: refused (503 problem), nothing accepted.
    const durable = await fetch(`${child.url}/v1/connectors/zendesk/operations/create_account?async=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { NAME: 'Durable', EMAIL: `durable-${schema}@example.com` } }),
    });
    expect(durable.status).toBe(503);
    expect(((await durable.json()) as { type: string }).type).toMatch(/store-unavailable$/);
    // Reading what the store holds: 503 to retry (not a 500 with a stack trace in the log).
    const read = await fetch(`${child.url}/v1/deliveries?limit=1`);
    expect(read.status).toBe(503);
    expect(((await read.json()) as { type: string }).type).toMatch(/store-unavailable$/);
    expect(logLines(child).some((l) => l.msg === 'unhandled error')).toBe(false);
    // A few attempts, one line each.
    await until('two start-up attempts', () => logLines(child).filter((l) => /database not ready at start-up/.test(l.msg)).length >= 2 || undefined);

    proxy.mode = 'forward';
    await until('ready', async () => ((await readyz(child.url)).status === 200 ? true : undefined));
    const attempts = logLines(child).filter((l) => /database not ready at start-up/.test(l.msg));
    for (const a of attempts) {
      expect(a).toMatchObject({ attempt: expect.any(Number), error: expect.any(String), retry_in_ms: expect.any(Number) });
      expect(a).not.toHaveProperty('err');
    }
    expect(logLines(child).some((l) => /migrations done, starting delivery/.test(l.msg))).toBe(true);

    // The workers started: a durable write is delivered.
    const later = await fetch(`${child.url}/v1/connectors/zendesk/operations/create_account?async=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { NAME: 'After', EMAIL: `after-${schema}@example.com` } }),
    });
    expect(later.status).toBe(202);
    const { id } = (await later.json()) as { id: string };
    await until('delivered', async () => {
      const d = (await (await fetch(`${child.url}/v1/deliveries/${id}`)).json()) as { status: string };
      return d.status === 'delivered' ? true : undefined;
    });

    // A connection lost later: one short warning (message and code), not the pg client object.
    proxy.cut();
    await until('connection-lost warning', () => logLines(child).find((l) => /database connection lost/.test(l.msg)));
    expectCleanLog(child, 'postgres:postgres@');
  } finally {
    await proxy.close();
    await dropSchema(schema);
  }
});

test('a closed port: each attempt one line without a stack trace or the password', async () => {
  const proxy = await TcpProxy.start(PG_URL, 'refuse');
  const port = proxy.port;
  await proxy.close(); // nothing listens there now
  const password = 'Outage-Secret-Pw-9731';
  const child = await gateway({ DATABASE_URL: `postgres://gw:${password}@127.0.0.1:${port}/crm` });
  const r = await readyz(child.url);
  expect(r.status).toBe(503);
  expect(r.body.reason).toContain('ECONNREFUSED');
  expect(JSON.stringify(r.body)).not.toContain(password);
  await until('two attempts', () => logLines(child).filter((l) => /database not ready at start-up/.test(l.msg)).length >= 2 || undefined);
  const first = logLines(child).find((l) => /database not ready at start-up/.test(l.msg))!;
  expect(first).toMatchObject({ attempt: 1, code: 'ECONNREFUSED' });
  expectCleanLog(child, password);
});

test('a database that does not exist yet: retried until it is created', async () => {
  if (!(await postgresAvailable())) return;
  const name = `cgw_outage_${crypto.randomBytes(4).toString('hex')}`;
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const child = await gateway({ DATABASE_URL: url.toString() });
    const r = await readyz(child.url);
    expect(r.status).toBe(503);
    expect(r.body.reason).toMatch(/does not exist \(3D000\)/);
    await admin.query(`CREATE DATABASE ${name}`);
    await until('ready', async () => ((await readyz(child.url)).status === 200 ? true : undefined));
    expectCleanLog(child, 'postgres:postgres@');
    await child.kill();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
});

test('a completion the store could not save is not logged delivered; the write lands exactly once after the lease expires', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const proxy = await TcpProxy.start(PG_URL, 'forward');
  const observer = new PostgresStore({ connectionString: PG_URL, schema, max: 1, onError: () => undefined });
  const email = `cut-${schema}@example.com`;
  // The CRM takes its time, so the connection can be cut while the call is in flight.
  crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', delayMs: 1500, times: 1 });
  try {
    const child = await gateway({ DATABASE_URL: proxy.urlFor(PG_URL), DATABASE_SCHEMA: schema, DELIVERY_WORKERS: '1', DELIVERY_LEASE_MS: '3000' });
    await until('ready', async () => ((await readyz(child.url)).status === 200 ? true : undefined));
    await observer.migrate();
    const accepted = await fetch(`${child.url}/v1/connectors/zendesk/operations/create_account?async=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { NAME: 'Cut', EMAIL: email } }),
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await until('claimed', async () => ((await observer.get(id))?.status === 'running' ? true : undefined));
    // The database goes away while the CRM call is in flight.
    proxy.mode = 'refuse';
    proxy.cut();
    const notSaved = await until('the not-recorded line', () => logLines(child).find((l) => l.delivery === id && l.status === 'not_recorded'), 20_000);
    expect(notSaved).toMatchObject({ attempt_outcome: 'delivered', level: 50 });
    expect(crm.crm.state.users.filter((u) => u.email === email)).toHaveLength(1);
    proxy.mode = 'forward';
    await until('delivered', async () => ((await observer.get(id))?.status === 'delivered' ? true : undefined));
    const attemptLines = logLines(child).filter((l) => l.delivery === id && /delivery attempt/.test(l.msg));
    // The first try was never said to be delivered; the second (ambiguous) found the user it made.
    expect(attemptLines.map((l) => [l.attempt, l.status])).toEqual([
      [1, 'not_recorded'],
      [2, 'delivered'],
    ]);
    expect((await observer.get(id))?.result).toMatchObject({ recovered_by: expect.any(String) });
    expect(crm.crm.state.users.filter((u) => u.email === email)).toHaveLength(1);
    expectCleanLog(child, 'postgres:postgres@');
  } finally {
    crm.crm.clearFaults();
    await proxy.close();
    await observer.close();
    await dropSchema(schema);
  }
});
