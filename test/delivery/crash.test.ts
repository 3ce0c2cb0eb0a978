/**
 * Kill -9 while delivering: a real gateway child process is SIGKILLed at random points
 * while it delivers N writes to the sample CRM, restarted, and in the end every write is
 * delivered and none is duplicated in the CRM (creates that were in flight when the process
 * died are looked up before being sent again). Against SQLite and PostgreSQL.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import { PostgresStore } from '../../src/delivery/postgres-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { ROOT } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';

jest.setTimeout(120_000);
const N = 120;

async function enqueueAll(url: string, runId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, N - i) }, async (_, j) => {
        const n = i + j;
        const res = await fetch(`${url}/v1/connectors/zendesk/operations/create_account?async=true`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `${runId}-${n}` },
          body: JSON.stringify({ variables: { NAME: `Crash ${n}`, EMAIL: `crash-${runId}-${n}@example.com` } }),
        });
        if (res.status !== 202) throw new Error(`enqueue ${n}: ${res.status} ${await res.text()}`);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

async function crashRun(label: string, env: Record<string, string>, openStore: (dataDir: string) => Promise<DeliveryStore>): Promise<void> {
  const crm: RunningSampleCrm = await startSampleCrm({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.copyFileSync(path.join(ROOT, 'config/zendesk.yaml'), path.join(dir, 'config/zendesk.yaml'));
  // Each create takes a little while, so kills land while requests are in flight.
  crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', delayMs: 40, always: true });
  const childEnv = {
    ...env,
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    DELIVERY_WORKERS: '4',
    DELIVERY_LEASE_MS: '1500',
  };
  const runId = crypto.randomBytes(4).toString('hex');
  let child: Child | undefined;
  const store = await openStore(path.join(dir, 'data'));
  try {
    child = await startChild(childEnv);
    const ids = await enqueueAll(child.url, runId);
    let kills = 0;
    for (let round = 0; round < 4; round++) {
      await new Promise((r) => setTimeout(r, 40 + Math.floor(Math.random() * 160)));
      await child.kill('SIGKILL');
      kills++;
      child = await startChild(childEnv);
    }
    // Let the last process finish everything (reclaiming the leases of the killed ones).
    const deadline = Date.now() + 60_000;
    let counts = await store.counts();
    while (counts.delivered < N && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      counts = await store.counts();
    }
    expect({ label, kills, counts }).toEqual({ label, kills: 4, counts: { pending: 0, running: 0, delivered: N, dead: 0, cancelled: 0, unknown_outcome: 0 } });
    const final = await Promise.all(ids.map((id) => store.get(id)));
    expect(final.every((d) => d!.status === 'delivered')).toBe(true);
    // The kills really landed mid-delivery: some writes were interrupted and taken over.
    const interrupted = final.filter((d) => d!.attempts > 1);
    expect(interrupted.length).toBeGreaterThan(0);
    const mine = crm.crm.state.users.filter((u) => u.email?.startsWith(`crash-${runId}-`));
    const emails = mine.map((u) => u.email);
    expect(new Set(emails).size).toBe(emails.length); // no duplicate in the CRM
    expect(mine).toHaveLength(N);
  } finally {
    await child?.kill('SIGKILL');
    await store.close();
    await crm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('SQLite: SIGKILL during delivery loses and duplicates nothing', async () => {
  await crashRun('sqlite', {}, async (dataDir) => {
    const s = new SqliteStore(path.join(dataDir, 'crm-gateway.db'));
    await s.migrate();
    return s;
  });
});

test('PostgreSQL: SIGKILL during delivery loses and duplicates nothing', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    await crashRun('postgres', { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema }, async () => {
      const s = new PostgresStore({ connectionString: PG_URL, schema, max: 2 });
      await s.migrate();
      return s;
    });
  } finally {
    await dropSchema(schema);
  }
});
