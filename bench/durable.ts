/**
 * Durable path: writes accepted over HTTP (?async=true) → delivered to the sample CRM, per
 * second, for SQLite and PostgreSQL with 1 and 4 workers; p99 accept latency. Baseline in the
 * same run: the same creates sent straight to the CRM with axios (keep-alive) at the same
 * concurrency. Prints the ratio. The CRM runs in its own process.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { serve } from '../src/cli/serve';
import { silentLogger } from '../src/util/logger';
import { line, round, runPool, startCrmProcess, summarize } from './lib';

const N = Number(process.env.BENCH_DURABLE_N ?? 4000);
const CONCURRENCY = 32;

export async function benchDurable(pgUrl: string | undefined): Promise<Record<string, unknown>> {
  const crm = await startCrmProcess();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const client = axios.create({ httpAgent: agent, validateStatus: () => true });
  const auth = { username: 'agent@example.com/token', password: 'sample-token' };
  const out: Record<string, unknown> = { n: N, concurrency: CONCURRENCY };
  try {
    // Baseline: the CRM call itself, no gateway.
    const t0 = performance.now();
    await runPool(N, CONCURRENCY, (i) => client.post(`${crm.url}/api/v2/users.json`, { user: { name: `Direct ${i}` } }, { auth }));
    const directPerSec = N / ((performance.now() - t0) / 1000);
    out.direct_per_sec = round(directPerSec, 0);
    line('durable: direct axios → CRM (baseline)', { per_sec: round(directPerSec, 0) });

    const stores: Array<['sqlite' | 'postgres', string | undefined]> = [['sqlite', undefined]];
    if (pgUrl) stores.push(['postgres', pgUrl]);
    for (const [kind, url] of stores) {
      for (const workers of [1, 4]) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-durable-'));
        fs.mkdirSync(path.join(dir, 'config'));
        fs.copyFileSync(path.join(process.cwd(), 'config/zendesk.yaml'), path.join(dir, 'config/zendesk.yaml'));
        const schema = `bench_${process.pid}_${workers}`;
        const gw = await serve({
          port: 0, configDir: path.join(dir, 'config'), dataDir: path.join(dir, 'data'), databaseUrl: url, databaseSchema: url ? schema : undefined,
          env: { ...process.env, ZENDESK_URL: crm.url }, logger: silentLogger, workers: workers * 8, pollMs: 5, apiKeys: null,
        });
        const start = performance.now();
        const accept = await runPool(N, CONCURRENCY, (i) => client.post(`${gw.url}/v1/connectors/zendesk/operations/create_account?async=true`, { variables: { NAME: `Durable ${i}` } }));
        const acceptedAt = performance.now();
        const giveUp = Date.now() + 120_000;
        for (;;) {
          const c = await gw.store.counts();
          if (c.delivered + c.dead >= N) break;
          if (Date.now() > giveUp) throw new Error(`durable bench: only ${c.delivered} of ${N} delivered after 120 s (accept answers: ${accept.length})`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const seconds = (performance.now() - start) / 1000;
        const acc = summarize(accept);
        const perSec = N / seconds;
        const key = `${kind}_${workers}w`;
        out[key] = { delivered_per_sec: round(perSec, 0), accepted_per_sec: round(N / ((acceptedAt - start) / 1000), 0), accept_p50_ms: acc.p50, accept_p99_ms: acc.p99, ratio_vs_direct: round(perSec / directPerSec) };
        line(`durable: ${kind}, ${workers} worker process-slot${workers > 1 ? 's' : ''} (×8)`, out[key] as Record<string, unknown>);
        await gw.close();
        if (url) {
          const pg = await import('pg');
          const c = new pg.default.Client({ connectionString: url });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await c.end();
        }
        fs.rmSync(dir, { recursive: true, force: true });
          }
    }
  } finally {
    agent.destroy();
    crm.stop();
  }
  return out;
}
