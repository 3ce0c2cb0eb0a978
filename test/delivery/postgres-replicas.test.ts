/**
 * PostgreSQL shared by several gateway processes: connection loss mid-run (every backend
 * terminated, repeatedly) loses no write; 20 producers × 4 workers in two processes deliver
 * every write exactly once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve, type RunningGateway } from '../../src/cli/serve';
import { PostgresStore } from '../../src/delivery/postgres-store';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { silentLogger } from '../../src/util/logger';
import { startChild, type Child } from '../helpers/child';
import { ROOT } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable, terminateBackends } from '../helpers/postgres';

jest.setTimeout(120_000);

let crm: RunningSampleCrm;
let dir: string;
beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-replicas-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.copyFileSync(path.join(ROOT, 'config/zendesk.yaml'), path.join(dir, 'config/zendesk.yaml'));
});
afterAll(async () => {
  await crm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, n: number, runId: string): Promise<{ status: number; id?: string }> {
  const res = await fetch(`${url}/v1/connectors/zendesk/operations/create_account?async=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `${runId}-${n}` },
    body: JSON.stringify({ variables: { NAME: `Replica ${n}`, EMAIL: `${runId}-${n}@example.com` } }),
  });
  const body = (await res.json()) as { id?: string };
  return { status: res.status, id: body.id };
}

async function waitDelivered(store: PostgresStore, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = await store.counts().catch(() => undefined);
    if ((c && c.delivered >= n) || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('terminating every PostgreSQL backend mid-run loses no write', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const runId = crypto.randomBytes(4).toString('hex');
  crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', delayMs: 10, always: true });
  let gw: RunningGateway | undefined;
  const observer = new PostgresStore({ connectionString: PG_URL, schema, max: 1, onError: () => undefined });
  try {
    gw = await serve({
      port: 0,
      configDir: path.join(dir, 'config'),
      dataDir: path.join(dir, 'data'),
      databaseUrl: PG_URL,
      databaseSchema: schema,
      env: { ...process.env, ZENDESK_URL: crm.url },
      logger: silentLogger,
      workers: 4,
      pollMs: 20,
      leaseMs: 2000,
      apiKeys: null,
    });
    await observer.migrate();
    const accepted: string[] = [];
    const N = 150;
    // Producers keep going through the outages: a write is either accepted (202, committed) or refused (503) and resent.
    const producing = (async () => {
      for (let n = 0; n < N; n++) {
        for (let tries = 0; ; tries++) {
          const r = await post(gw!.url, n, runId).catch(() => ({ status: 0, id: undefined }));
          if (r.status === 202 || r.status === 200) {
            accepted.push(r.id!);
            break;
          }
          expect([0, 503]).toContain(r.status);
          if (tries > 50) throw new Error(`write ${n} never accepted`);
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    })();
    let killed = 0;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      killed += await terminateBackends();
    }
    await producing;
    expect(killed).toBeGreaterThan(0);
    await waitDelivered(observer, N);
    const counts = await observer.counts();
    expect(counts).toEqual({ pending: 0, running: 0, delivered: N, dead: 0, cancelled: 0, unknown_outcome: 0 });
    expect(new Set(accepted).size).toBe(N);
    const users = crm.crm.state.users.filter((u) => u.email?.startsWith(`${runId}-`));
    expect(new Set(users.map((u) => u.email)).size).toBe(N);
    expect(users).toHaveLength(N);
  } finally {
    crm.crm.clearFaults();
    await gw?.close();
    await observer.close();
    await dropSchema(schema);
  }
});

test('20 producers × 4 workers in two processes: every write delivered exactly once', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const runId = crypto.randomBytes(4).toString('hex');
  const env = {
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    DATABASE_URL: PG_URL,
    DATABASE_SCHEMA: schema,
    DELIVERY_WORKERS: '2',
  };
  const children: Child[] = [];
  const observer = new PostgresStore({ connectionString: PG_URL, schema, max: 1 });
  try {
    children.push(await startChild(env), await startChild(env));
    await observer.migrate();
    const PRODUCERS = 20;
    const EACH = 15;
    crm.crm.clearRequests();
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, p) => {
        for (let i = 0; i < EACH; i++) {
          const n = p * EACH + i;
          const r = await post(children[n % 2].url, n, runId);
          expect(r.status).toBe(202);
        }
      }),
    );
    const total = PRODUCERS * EACH;
    await waitDelivered(observer, total);
    expect(await observer.counts()).toMatchObject({ delivered: total, pending: 0, running: 0, dead: 0 });
    // Exactly once, by count, on the CRM's side.
    const creates = crm.crm.requests.filter(
      (r) => r.method === 'POST' && r.path === '/api/v2/users.json' && String((r.body as { user?: { email?: string } })?.user?.email).startsWith(`${runId}-`),
    );
    expect(creates).toHaveLength(total);
    expect(new Set(creates.map((r) => (r.body as { user: { email: string } }).user.email)).size).toBe(total);
    const rows = await observer.list({ limit: 1000 });
    expect(rows.every((d) => d.attempts === 1)).toBe(true);
  } finally {
    for (const c of children) await c.kill('SIGTERM');
    await observer.close();
    await dropSchema(schema);
  }
});
