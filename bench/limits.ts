/**
 * `npm run bench -- limits`: a sample CRM (own process) enforcing N requests/s, a queue of
 * durable writes (create_account, ordering keys per session) accepted first, then drained by
 * one and then two gateway processes on PostgreSQL with `rate_limit: {requests: N}`. Goals:
 * delivered/s ≥ 0.95 × N (from the gateways' start to the last delivery), 429s ≤ 1 % of the
 * CRM calls, none lost.
 *
 * BENCH_LIMITS_N (default 200) requests/s; BENCH_LIMITS_WRITES (default 6000 per case, the
 * issue's 10,000 takes ~50 s per case at 200/s); BENCH_LIMITS_BURST (the gateway's, default
 * 10; the CRM allows twice that, as real CRMs allow some burst). Needs PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { line, round, runPool, startCrmProcess } from './lib';
import { CRM_AUTH } from './sync-server';

const N = Number(process.env.BENCH_LIMITS_N ?? 200);
const WRITES = Number(process.env.BENCH_LIMITS_WRITES ?? 6000);
const BURST = Number(process.env.BENCH_LIMITS_BURST ?? 10);
const SESSIONS = 1000;
const BASIC = `Basic ${Buffer.from(`${CRM_AUTH.username}:${CRM_AUTH.password}`).toString('base64')}`;

interface CaseResult {
  processes: number;
  writes: number;
  seconds: number;
  deliveredPerSec: number;
  ratio: number;
  crmCalls: number;
  rejected429: number;
  share429: number;
  lost: number;
  pass: boolean;
  /** Bulk batching on: CRM calls (bulk calls and job polls) per delivered write. */
  callsPerWrite?: number;
}

/** Tickets the batching case comments on (one ordering key each, so up to this many per bulk call). */
const BATCH_TICKETS = 200;

export async function benchLimits(pgUrl: string | undefined): Promise<{ n: number; writes: number; cases: CaseResult[] } | undefined> {
  if (!pgUrl) {
    process.stdout.write('limits: needs PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL); skipped\n');
    return undefined;
  }
  process.stdout.write(
    `limits: sample CRM limited to ${N}/s (burst ${2 * BURST}), ${WRITES} durable writes per case, gateway rate_limit ${N}/s burst ${BURST}\n`,
  );
  const crm = await startCrmProcess();
  const cases: CaseResult[] = [];
  try {
    for (const processes of [1, 2]) cases.push(await runCase(pgUrl, crm.url, processes));
  } finally {
    crm.stop();
  }
  // With bulk batching on: the same limit, comments on existing tickets sent as update_many jobs.
  const crm2 = await startCrmProcess();
  try {
    cases.push(await runCase(pgUrl, crm2.url, 1, true));
  } finally {
    crm2.stop();
  }
  return { n: N, writes: WRITES, cases };
}

async function runCase(pgUrl: string, crmUrl: string, processes: number, batching = false): Promise<CaseResult> {
  const schema = `bench_limits_${crypto.randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-limits-'));
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  let yaml = fs.readFileSync(path.join(__dirname, '..', '..', 'config', 'zendesk.yaml'), 'utf8');
  yaml = yaml.replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5\nrate_limit:\n  requests: ${N}\n  burst: ${BURST}`);
  // The bundled file's commented batch: block on add_comment, switched on, with a 1 s window.
  if (batching)
    yaml = yaml
      .replace(/^ {4}# batch:\n((?: {4}# {3}.*\n)+)/m, (block) => block.replace(/^ {4}# /gm, '    '))
      .replace('window_seconds: 5', 'window_seconds: 1');
  if (batching && !yaml.includes('\n    batch:\n')) throw new Error('config/zendesk.yaml: the commented batch: block was not found');
  fs.writeFileSync(path.join(configDir, 'zendesk.yaml'), yaml);
  const tickets = batching ? await createTickets(crmUrl, BATCH_TICKETS) : [];
  const gateways: Array<{ url: string; proc: ChildProcess }> = [];
  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  try {
    const env = {
      CONFIG_DIR: configDir,
      DATABASE_URL: pgUrl,
      DATABASE_SCHEMA: schema,
      ZENDESK_URL: crmUrl,
      GATEWAY_AUTH: 'off',
    };
    // The queue first (gateways that only accept), so the drain is measured, not the enqueueing.
    const queueStart = performance.now();
    const accepting = await startGateway({ ...env, DATA_DIR: path.join(dir, 'accept'), DELIVERY_WORKERS: '0' });
    try {
      await runPool(WRITES, 16, async (i) => {
        const ticket = tickets[i % Math.max(1, tickets.length)];
        const res = await fetch(`${accepting.url}/v1/connectors/zendesk/operations/${batching ? 'add_comment' : 'create_account'}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer: 'respond-async' },
          body: JSON.stringify(
            batching
              ? { variables: { RECORD_ID: ticket, COMMENT_BODY: `Limits note ${i}` }, ordering_key: `ticket-${ticket}` }
              : { variables: { NAME: `Limits ${i}` }, ordering_key: `session-${i % SESSIONS}` },
          ),
        });
        if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      });
    } finally {
      await stop(accepting.proc);
    }
    process.stdout.write(`limits ${processes}p: ${WRITES} writes queued in ${round((performance.now() - queueStart) / 1000, 1)} s; draining\n`);
    await control(crmUrl, 'POST', '/__control/limit', { perSecond: N, burst: 2 * BURST }); // counts start now
    await Promise.all(
      Array.from({ length: processes }, async (_, i) =>
        gateways.push(await startGateway({ ...env, DATA_DIR: path.join(dir, `data-${i}`), DELIVERY_WORKERS: '16' })),
      ),
    );
    // The clock starts once every gateway listens (their start-up is not the CRM's pace); what
    // was delivered by then is left out of the rate.
    const started = performance.now();
    const deliveredBefore = await countDelivered(db, schema);
    let delivered = 0;
    const deadline = performance.now() + (WRITES / N) * 3000 + 60_000;
    for (;;) {
      const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM ${schema}.deliveries GROUP BY status`);
      const by = Object.fromEntries(rows.map((r: { status: string; n: number }) => [r.status, r.n]));
      delivered = by.delivered ?? 0;
      if (delivered + (by.dead ?? 0) >= WRITES || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const stats = (await control(crmUrl, 'GET', '/__control/limit')) as { admitted: number; rejected: number };
    const crmCalls = stats.admitted + stats.rejected;
    const deliveredPerSec = (delivered - deliveredBefore) / seconds;
    const ratio = deliveredPerSec / N;
    const share429 = crmCalls ? stats.rejected / crmCalls : 0;
    const lost = WRITES - delivered;
    // With batching the CRM's budget is not what limits the pace (one call carries up to 100
    // writes): the goal is fewer calls per write, without a 429 or a lost write.
    const callsPerWrite = delivered ? crmCalls / delivered : Number.POSITIVE_INFINITY;
    const pass = (batching ? callsPerWrite <= 0.1 : ratio >= 0.95) && share429 <= 0.01 && lost === 0;
    line(batching ? 'limits batching' : `limits ${processes} process${processes > 1 ? 'es' : ''}`, {
      writes: WRITES,
      seconds: round(seconds, 1),
      'delivered/s': round(deliveredPerSec, 1),
      crm_calls: crmCalls,
      '429s': stats.rejected,
      lost,
    });
    const goal = batching
      ? `limits-batching crm_calls_per_write≤0.1 429s≤1% lost=0  ratio=${round(callsPerWrite, 4)}`
      : `limits-${processes}proc delivered/s≥0.95×${N} 429s≤1% lost=0  ratio=${round(ratio, 3)}`;
    process.stdout.write(`target ${goal} share429=${round(share429 * 100, 2)}% lost=${lost} pass=${pass}\n`);
    return {
      processes,
      writes: WRITES,
      seconds: round(seconds, 1),
      deliveredPerSec: round(deliveredPerSec, 1),
      ratio: round(ratio, 3),
      crmCalls,
      rejected429: stats.rejected,
      share429,
      lost,
      pass,
      ...(batching ? { callsPerWrite: round(callsPerWrite, 4) } : {}),
    };
  } finally {
    await Promise.all(gateways.map((g) => stop(g.proc)));
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Tickets made straight on the sample CRM (before its limit is on) for the batching case to comment on. */
async function createTickets(crmUrl: string, n: number): Promise<string[]> {
  const ids: string[] = new Array(n);
  await runPool(n, 8, async (i) => {
    const res = await fetch(`${crmUrl}/api/v2/tickets.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: BASIC },
      body: JSON.stringify({ ticket: { subject: `Limits ${i}`, requester: { name: `Limits ${i}` }, comment: { body: 'opened' } } }),
    });
    if (res.status !== 201) throw new Error(`sample CRM ticket create answered ${res.status}: ${await res.text()}`);
    ids[i] = String(((await res.json()) as { ticket: { id: number } }).ticket.id);
  });
  return ids;
}

async function countDelivered(db: pg.Client, schema: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE status = 'delivered'`);
  return (rows[0] as { n: number }).n;
}

async function control(crmUrl: string, method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(crmUrl + p, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`sample CRM control ${method} ${p}: ${res.status}`);
  return res.status === 204 ? undefined : res.json();
}

function startGateway(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [path.join(__dirname, 'limits-gateway.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b) => {
      out += String(b);
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ url: m[1], proc });
    });
    proc.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
