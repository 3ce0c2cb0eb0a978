/**
 * The rate-limit budget on PostgreSQL: the SQL does bucket.ts's arithmetic (same grants and
 * waits as the in-memory buckets, step by step), and two gateway processes sharing one
 * database together stay under the connector's N/s, measured by a sample CRM that counts the
 * requests it receives.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../../src/delivery/postgres-store';
import { MemoryBuckets, type SlotGrant } from '../../src/pacing/limiter';
import { PostgresBuckets } from '../../src/pacing/postgres-buckets';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { bundled } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';

jest.setTimeout(120_000);

const spec = { ratePerSec: 10, burst: 3 };
const T0 = 1_700_000_000_000;

/** The most of the sorted times that fall in any window of `ms`. */
function worstWindow(sorted: number[], ms: number): number {
  let worst = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j] < sorted[i] + ms) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}

type Step =
  | { op: 'reserve'; at: number; maxWait: number }
  | { op: 'block'; at: number; until: number }
  | { op: 'cap'; at: number; rate: number; until: number }
  | { op: 'refund'; at: number };

const script: Step[] = [
  ...[0, 0, 0, 0, 0].map(() => ({ op: 'reserve' as const, at: T0, maxWait: 1000 })),
  { op: 'reserve', at: T0 + 50, maxWait: 100 },
  { op: 'refund', at: T0 + 60 },
  { op: 'reserve', at: T0 + 500, maxWait: 1000 },
  { op: 'block', at: T0 + 600, until: T0 + 2600 },
  { op: 'reserve', at: T0 + 700, maxWait: 1000 },
  { op: 'reserve', at: T0 + 700, maxWait: 5000 },
  { op: 'cap', at: T0 + 3000, rate: 2, until: T0 + 8000 },
  ...[0, 1, 2, 3].map((i) => ({ op: 'reserve' as const, at: T0 + 3000 + i, maxWait: 10_000 })),
  { op: 'reserve', at: T0 + 9000, maxWait: 10_000 },
  { op: 'reserve', at: T0 + 60_000, maxWait: 0 },
];

test('PostgreSQL buckets grant and wait exactly as the in-memory ones', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const store = new PostgresStore({ connectionString: PG_URL, schema, max: 2, onError: () => undefined });
  try {
    await store.migrate();
    const pgb = new PostgresBuckets(store.pool, 'zd');
    const mem = new MemoryBuckets();
    const run = async (b: PostgresBuckets | MemoryBuckets): Promise<Array<SlotGrant | undefined>> => {
      const out: Array<SlotGrant | undefined> = [];
      for (const s of script) {
        if (s.op === 'reserve') out.push(await b.reserve('*', spec, s.at, s.maxWait));
        else {
          if (s.op === 'block') await b.block('*', spec, s.at, s.until);
          if (s.op === 'cap') await b.cap('*', spec, s.at, s.rate, s.until);
          if (s.op === 'refund') await b.refund('*', spec, s.at);
          out.push(undefined);
        }
      }
      return out;
    };
    const fromPg = await run(pgb);
    const fromMemory = await run(mem);
    expect(fromPg.length).toBe(fromMemory.length);
    fromPg.forEach((g, i) => {
      const m = fromMemory[i];
      expect({ i, granted: g?.granted }).toEqual({ i, granted: m?.granted });
      if (g?.granted && m?.granted) expect(g.waitMs).toBeCloseTo(m.waitMs, 3);
      if (g && !g.granted && m && !m.granted) expect(g.retryAfterMs).toBe(m.retryAfterMs);
    });
    // The script exercises waits, refusals, the pause and the cap.
    expect(fromMemory.filter((g) => g && !g.granted).length).toBeGreaterThan(0);
    expect(fromMemory.some((g) => g?.granted && g.waitMs > 1500)).toBe(true);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

describe('two gateway processes on one PostgreSQL', () => {
  const N = 20;
  let crm: RunningSampleCrm;
  let dir: string;
  let schema: string;
  const children: Child[] = [];

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    // The CRM counts what arrives per second; it enforces nothing (any excess would show).
    crm = await startSampleCrm({ port: 0, limit: { perSecond: 10_000, burst: 10_000 } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pacing-pg-'));
    fs.mkdirSync(path.join(dir, 'config'));
    fs.writeFileSync(
      path.join(dir, 'config/zendesk.yaml'),
      bundled('zendesk.yaml').replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5\nrate_limit:\n  requests: ${N}\n  burst: 5`),
    );
    schema = newSchemaName();
    const env = { CONFIG_DIR: path.join(dir, 'config'), DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, DELIVERY_WORKERS: '8', ZENDESK_URL: crm.url };
    children.push(await startChild({ ...env, DATA_DIR: path.join(dir, 'a') }));
    children.push(await startChild({ ...env, DATA_DIR: path.join(dir, 'b') }));
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await crm?.close();
    if (schema) await dropSchema(schema);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`together they never send more than ${N}/s (plus the burst), and deliver every write`, async () => {
    if (!(await postgresAvailable())) return;
    const runId = crypto.randomBytes(4).toString('hex');
    // Warm-up (not measured): the first calls of a fresh process compile code paths and lag
    // behind their slots; the window starts once both processes have delivered.
    await writeAll('warm', 10);
    crm.crm.clearRequests();
    crm.crm.setLimit({ perSecond: 10_000, burst: 10_000 });
    const total = 120;
    const started = Date.now();
    const ids = await writeAll(runId, total);
    expect(ids).toHaveLength(total);
    const elapsed = (Date.now() - started) / 1000;
    // Both processes made CRM calls: the budget was shared, not used by one of them alone.
    for (const c of children) expect(await crmCalls(c)).toBeGreaterThan(10);
    // Any sliding window of one second holds about N + burst sends (the burst only after a
    // quiet spell), as the gateways stamped them (attempt times in the store, both processes)
    // and as the CRM saw them arrive. The stamps are taken after the slot, a timer and the auth
    // header, and arrivals after loopback: on a loaded 2-core machine a process that stalls for
    // J ms stamps late the sends of J ms and bunches them with the next ones, so a window can
    // hold N·J/1000 more (28 for 20 + 5 was seen in CI). The margin below allows a 250 ms stall
    // and still fails by far if the budget were not shared: two processes each at N/s would put
    // 2N + 2·burst = 50 in a window. The whole-run rate below is the tight check.
    const slack = Math.ceil(N * 0.25);
    const sent = await sendTimes(total);
    expect(worstWindow(sent, 1000)).toBeLessThanOrEqual(N + 5 + slack);
    const times = crm.crm.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/users.json').map((r) => r.time);
    times.sort((a, b) => a - b);
    expect(worstWindow(times, 1000)).toBeLessThanOrEqual(N + 5 + slack);
    expect(worstWindow(times, 3000)).toBeLessThanOrEqual(3 * N + 5 + slack);
    // Over the whole run: no faster than N/s after the burst (a late first arrival shortens the
    // span by its lateness, hence 10 %; unshared would be 2N), and not much slower (stalls of a
    // loaded machine lengthen it).
    expect(times.length).toBe(total);
    const span = (times[times.length - 1] - times[0]) / 1000;
    expect((total - 5) / span).toBeLessThanOrEqual(N * 1.1);
    expect((total - 5) / span).toBeGreaterThanOrEqual(N * 0.6);
    expect(elapsed).toBeLessThan(total / N + 10);
  });

  async function sendTimes(last: number): Promise<number[]> {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT at FROM ${schema}.delivery_attempts ORDER BY at`);
      return rows.map((r: { at: string }) => Number(r.at)).slice(-last);
    } finally {
      await c.end();
    }
  }

  async function crmCalls(c: Child): Promise<number> {
    const text = await (await fetch(`${c.url}/metrics`)).text();
    return [...text.matchAll(/^crm_gateway_crm_call_duration_seconds_count\{[^}]*connector="zendesk"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  }

  /** `n` durable writes, alternating between the two processes; resolves once the CRM has them all. */
  async function writeAll(runId: string, n: number): Promise<string[]> {
    // Four lanes: faster than the budget, but not a burst of hundreds of requests that would make
    // this process (whose clock stamps the CRM's arrivals) lag.
    const ids: string[] = [];
    const lane = async (first: number) => {
      for (let i = first; i < n; i += 4) {
        const res = await fetch(`${children[i % 2].url}/v1/connectors/zendesk/operations/create_account`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer: 'respond-async' },
          body: JSON.stringify({ variables: { NAME: `pg-${runId}-${i}` } }),
        });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { id: string }).id);
      }
    };
    await Promise.all([0, 1, 2, 3].map(lane));
    const deadline = Date.now() + 60_000;
    while (crm.crm.state.users.filter((u) => u.name.startsWith(`pg-${runId}-`)).length < n && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(crm.crm.state.users.filter((u) => u.name.startsWith(`pg-${runId}-`))).toHaveLength(n);
    return ids;
  }
});
