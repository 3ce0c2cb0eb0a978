/**
 * Durable path: writes accepted over HTTP (?async=true: 202 once committed) → delivered to the
 * sample CRM, per second, for SQLite and PostgreSQL with 1 and 4 workers; p50/p99 accept
 * latency. One "worker" is one delivery slot group of 8 concurrent deliveries in the gateway
 * process (DELIVERY_WORKERS=8 per worker).
 *
 * Topology, as in the sync benchmark: the CRM, the gateway and the load generator each in a
 * process of their own (three processes on two cores), the load generator a lean node:http
 * keep-alive client (bench/sync.ts LeanClient). The baseline in the same run is the same creates
 * sent straight to the CRM by the same client at the same concurrency: the rate the CRM itself
 * takes on this machine, which bounds any gateway in front of it.
 *
 * "delivered/s" is N over the time from the first accept to the last delivery (so it includes
 * accepting); "accepted/s" is N over the time to the last 202.
 */
import { cpuOfProcessesNamed, line, processCpuMs, round, runPool, startCrmProcess, summarize } from './lib';
import { CRM_AUTH } from './sync-server';
import { LeanClient, startServer, type ChildServer } from './sync';

const N = Number(process.env.BENCH_DURABLE_N ?? 6000);
const CONCURRENCY = Number(process.env.BENCH_DURABLE_CONCURRENCY ?? 32);
const WORKERS = [1, 4];
const SLOTS_PER_WORKER = 8;
/** Delivered/s with 4 workers as a share of the direct rate, at least. */
const TARGETS: Array<['sqlite' | 'postgres', number]> = [
  ['sqlite', 0.75],
  ['postgres', 0.6],
];
/** BENCH_DURABLE_PROFILE=<dir>: the gateway runs with --cpu-prof (summarise with bench/cpuprofile-top.ts). */
const PROFILE_DIR = process.env.BENCH_DURABLE_PROFILE;
const BASIC = `Basic ${Buffer.from(`${CRM_AUTH.username}:${CRM_AUTH.password}`).toString('base64')}`;

/** Deliveries by status in a gateway child process (asked over its IPC channel). */
export interface Counts {
  delivered: number;
  dead: number;
  pending: number;
  running: number;
}

export function counts(server: ChildServer): Promise<Counts> {
  const tag = Math.random();
  return new Promise((resolve, reject) => {
    const on = (m: { counts?: number; value?: Counts; error?: string }) => {
      if (m?.counts !== tag) return;
      server.proc.off('message', on);
      if (m.error) reject(new Error(m.error));
      else resolve(m.value!);
    };
    server.proc.on('message', on);
    server.proc.send({ counts: tag });
  });
}

export async function benchDurable(pgUrl: string | undefined): Promise<Record<string, unknown>> {
  const crm = await startCrmProcess();
  const out: Record<string, unknown> = { n: N, concurrency: CONCURRENCY, slots_per_worker: SLOTS_PER_WORKER };
  try {
    // Baseline: the CRM call itself, no gateway, same client and concurrency.
    const direct = new LeanClient(crm.url, CONCURRENCY);
    const create = (name: string) =>
      direct.request(
        'POST',
        '/api/v2/users.json',
        { authorization: BASIC, 'content-type': 'application/json', accept: 'application/json' },
        JSON.stringify({ user: { name } }),
      );
    await runPool(500, CONCURRENCY, (i) => create(`Warm ${i}`));
    const t0 = performance.now();
    await runPool(N, CONCURRENCY, async (i) => {
      const a = await create(`Direct ${i}`);
      if (a.status !== 201) throw new Error(`direct: HTTP ${a.status}`);
    });
    const directPerSec = N / ((performance.now() - t0) / 1000);
    direct.close();
    out.direct_per_sec = round(directPerSec, 0);
    line('durable: direct → CRM (baseline)', { per_sec: round(directPerSec, 0) });

    const stores: Array<['sqlite' | 'postgres', string | undefined]> = [['sqlite', undefined]];
    if (pgUrl && process.env.BENCH_DURABLE_STORES !== 'sqlite') stores.push(['postgres', pgUrl]);
    for (const [kind, url] of stores) {
      for (const workers of WORKERS) {
        const schema = url ? `bench_${process.pid}_${workers}` : undefined;
        const gw = await startServer('gateway-durable', crm.url, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [], [
          JSON.stringify({ databaseUrl: url, databaseSchema: schema, workers: workers * SLOTS_PER_WORKER }),
        ]);
        const client = new LeanClient(gw.url, CONCURRENCY);
        try {
          const accept = async (i: number) => {
            const a = await client.request(
              'POST',
              '/v1/connectors/zendesk/operations/create_account?async=true',
              { 'content-type': 'application/json', accept: 'application/json' },
              JSON.stringify({ variables: { NAME: `Durable ${i}`, PHONE_NUMBER: '+12223334444' } }),
            );
            if (a.status !== 202) throw new Error(`accept: HTTP ${a.status} ${a.text.slice(0, 200)}`);
          };
          // Warm-up (JIT, connections, the store's first pages), delivered before measuring.
          await runPool(300, CONCURRENCY, (i) => accept(-1 - i));
          await until(gw, 300, Date.now() + 60_000);
          const cpu0 = {
            gw: processCpuMs(gw.proc.pid!),
            crm: processCpuMs(crm.pid),
            me: process.cpuUsage(),
            db: kind === 'postgres' ? cpuOfProcessesNamed('postgres') : 0,
          };
          const start = performance.now();
          const latencies = await runPool(N, CONCURRENCY, accept);
          const acceptedAt = performance.now();
          await until(gw, 300 + N, Date.now() + 180_000);
          const seconds = (performance.now() - start) / 1000;
          const me = process.cpuUsage(cpu0.me);
          // CPU per delivery of each process: what the machine's two cores allow at best.
          const cpu = {
            gateway: ((processCpuMs(gw.proc.pid!) ?? NaN) - (cpu0.gw ?? NaN)) / N,
            crm: ((processCpuMs(crm.pid) ?? NaN) - (cpu0.crm ?? NaN)) / N,
            client: (me.user + me.system) / 1000 / N,
            database: kind === 'postgres' ? ((cpuOfProcessesNamed('postgres') ?? NaN) - (cpu0.db ?? NaN)) / N : 0,
          };
          const acc = summarize(latencies);
          const perSec = N / seconds;
          const key = `${kind}_${workers}w`;
          const c = await counts(gw);
          const cpuTotal = cpu.gateway + cpu.crm + cpu.client + cpu.database;
          out[key] = {
            delivered_per_sec: round(perSec, 0),
            accepted_per_sec: round(N / ((acceptedAt - start) / 1000), 0),
            accept_p50_ms: acc.p50,
            accept_p99_ms: acc.p99,
            ratio_vs_direct: round(perSec / directPerSec),
            dead: c.dead,
            // gateway/CRM/load generator[/PostgreSQL server]
            cpu_ms_per_delivery: [cpu.gateway, cpu.crm, cpu.client, ...(kind === 'postgres' ? [cpu.database] : [])].map((x) => round(x, 3)).join('/'),
            // Two cores, and the gateway itself on one event loop: neither bound can be beaten.
            ceiling_per_sec: round(Math.min(2000 / cpuTotal, 1000 / cpu.gateway), 0),
          };
          line(`durable: ${kind}, ${workers} worker${workers > 1 ? 's' : ''} (${workers * SLOTS_PER_WORKER} slots)`, out[key] as Record<string, unknown>);
        } finally {
          client.close();
          await gw.stop();
          if (url && schema) await dropSchema(url, schema);
        }
      }
    }
    // The targets: 4 workers against the direct rate of the same run.
    const targets: Record<string, { ratio: number; pass: boolean }> = {};
    for (const [kind, floor] of TARGETS) {
      const r = out[`${kind}_4w`] as { ratio_vs_direct: number } | undefined;
      if (!r) continue;
      targets[`durable-${kind}`] = { ratio: r.ratio_vs_direct, pass: r.ratio_vs_direct >= floor };
      line(`durable: target durable-${kind} 4_workers_vs_direct_ge_${floor}`, targets[`durable-${kind}`]);
    }
    out.targets = targets;
  } finally {
    crm.stop();
  }
  return out;
}

async function until(gw: ChildServer, total: number, giveUp: number): Promise<void> {
  for (;;) {
    const c = await counts(gw);
    if (c.delivered + c.dead >= total) return;
    if (Date.now() > giveUp) throw new Error(`durable bench: only ${c.delivered} of ${total} delivered in time (${c.dead} dead, ${c.pending} pending)`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const pg = await import('pg');
  const c = new pg.default.Client({ connectionString: url });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}
