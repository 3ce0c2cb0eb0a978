/**
 * Whole sessions end to end: 8 platform events per session (start, answer, transfer, CSAT,
 * disposition, custom data, end, recording) posted to /v1/connectors/zendesk/sessions/{id}/events,
 * until the account, the record, the comments, the update and the upload are all in the sample
 * CRM; on SQLite and PostgreSQL (with BENCH_DATABASE_URL/TEST_DATABASE_URL).
 *
 * Baseline in the same run: a script that makes the same CRM calls per session straight to the
 * CRM (find the caller, create them, look for an open ticket, create one, six comments, the update,
 * the upload and its comment), one session after another per loop, with as many loops as the
 * gateway gets concurrent sessions. Direct and gateway run in interleaved slices (BENCH_FLOWS_ROUNDS,
 * order swapped each round), each on a freshly reset CRM, so both see the same machine and a CRM
 * of the same size.
 *
 * "sessions/s" is N over the time from the first event to the last write delivered. Topology as
 * in bench/durable.ts: CRM, gateway and load generator each in a process of their own.
 */
import { cpuOfProcessesNamed, line, processCpuMs, round, runPool, startCrmProcess, summarize } from './lib';
import { CRM_AUTH } from './sync-server';
import { counts, dropSchema, type Counts } from './durable';
import { LeanClient, startServer, type ChildServer } from './sync';

const N = Number(process.env.BENCH_FLOWS_N ?? 300);
const CONCURRENCY = Number(process.env.BENCH_FLOWS_CONCURRENCY ?? 16);
const WORKERS = Number(process.env.BENCH_FLOWS_WORKERS ?? 32);
const WARMUP = 20;
/** Direct and gateway slices alternate this many times per store. */
const ROUNDS = Number(process.env.BENCH_FLOWS_ROUNDS ?? 3);
const TARGET = 0.5;
/** BENCH_FLOWS_PROFILE=<dir>: the gateway runs with --cpu-prof (summarise with bench/cpuprofile-top.ts). */
const PROFILE_DIR = process.env.BENCH_FLOWS_PROFILE;
const BASIC = `Basic ${Buffer.from(`${CRM_AUTH.username}:${CRM_AUTH.password}`).toString('base64')}`;
const RECORDING = Buffer.alloc(2048, 7).toString('base64');
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** A phone number of its own per session, so no session finds another's caller or ticket. */
function phoneOf(n: number): string {
  return `+1 212 ${200 + (Math.floor(n / 10_000) % 800)} ${String(n % 10_000).padStart(4, '0')}`;
}

/** The platform's 8 events of one call. */
export function sessionEvents(n: number): Array<{ type: string; event_id: string; data: Record<string, unknown> }> {
  const call_id = n;
  const events: Array<[string, Record<string, unknown>]> = [
    [
      'Session_Started',
      {
        call_id,
        session_type: 'IVR_Call',
        channel: 'voice_call',
        queue_name: 'Billing',
        lang: 'en',
        end_user: { name: `Flow Caller ${n}`, phone: phoneOf(n) },
      },
    ],
    ['New_Call', { call_id, agent_id: 7, agent_email: 'kim@example.com', queue_path: 'Billing', session_type: 'IVR_Call' }],
    ['Party_Added', { call_id, agent_email: 'lee@example.com' }],
    ['CSAT_Submitted', { call_id, rating: 5, feedback: 'Quick and kind' }],
    ['Disposition_Set', { call_id, code: 'RESOLVED', notes: 'Refund issued' }],
    ['Custom_Data', { call_id, data: { plan: 'gold', order: `A-${n}` } }],
    ['End_Call', { call_id, agent_email: 'lee@example.com', call_duration: 125, hold_time: 5, wait_time: 30, disconnected_by: 'end_user' }],
    ['File_Available', { kind: 'call_recording', file_name: `call-${n}.mp3`, content_type: 'audio/mpeg', content_base64: RECORDING }],
  ];
  return events.map(([type, data], k) => ({ type, event_id: `e${k + 1}`, data }));
}

/** Every accepted write delivered (or dead): nothing pending or running. */
async function settled(gw: ChildServer, giveUp: number): Promise<Counts> {
  for (;;) {
    const c = await counts(gw);
    if (c.pending + c.running === 0) return c;
    if (Date.now() > giveUp) throw new Error(`flows bench: ${c.pending} pending and ${c.running} running after the time allowed (${c.delivered} delivered)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The CRM calls of one session, made directly: what a script without the gateway does. */
async function directSession(crm: LeanClient, n: number): Promise<number> {
  const auth = { authorization: BASIC, accept: 'application/json' };
  const json = { ...auth, 'content-type': 'application/json' };
  const phone = phoneOf(n);
  let calls = 0;
  const call = async (method: string, path: string, headers: Record<string, string>, body?: string | Buffer) => {
    calls++;
    const a = await crm.request(method, path, headers, body as string | undefined);
    if (a.status >= 300) throw new Error(`direct ${method} ${path}: HTTP ${a.status} ${a.text.slice(0, 200)}`);
    return JSON.parse(a.text) as Record<string, never>;
  };
  const search = (query: string) => `/api/v2/search.json?${new URLSearchParams({ query, sort_by: 'created_at', sort_order: 'desc' })}`;
  const found = await call('GET', search(`type:user phone:${phone}`), auth);
  if ((found.results as unknown[]).length) throw new Error('direct: a new caller was found');
  const user = (await call('POST', '/api/v2/users.json', json, JSON.stringify({ user: { name: `Flow Caller ${n}`, phone } }))).user as { id: number };
  await call('GET', search(`type:ticket requester_id:${user.id} status<closed`), auth);
  const description = `Session direct-${n} (IVR_Call, voice_call)\nCustomer: Flow Caller ${n}  Phone: ${phone}\nQueue: Billing  Menu: -  Language: en\nAgent: kim@example.com`;
  const ticket = (
    await call(
      'POST',
      '/api/v2/tickets.json',
      json,
      JSON.stringify({
        ticket: {
          subject: `voice_call from Flow Caller ${n}`,
          requester_id: user.id,
          tags: ['crm-gateway', 'voice_call'],
          custom_fields: [
            { id: 1001, value: 'Billing' },
            { id: 1002, value: 'voice_call' },
          ],
          comment: { public: false, body: description },
          external_id: `direct-${n}`,
        },
      }),
    )
  ).ticket as { id: number };
  const comment = (body: string, extra: Record<string, unknown> = {}) =>
    call('PUT', `/api/v2/tickets/${ticket.id}.json`, json, JSON.stringify({ ticket: { comment: { body, public: false, ...extra } } }));
  await comment(`Call/chat id ${n} · language en · menu/queue Billing`);
  await comment('Transferred to lee@example.com');
  await comment('CSAT rating 5/5: Quick and kind');
  await comment('Disposition RESOLVED: Refund issued');
  await comment(`Custom data:\nplan: gold\norder: A-${n}`);
  await comment('Session ended (disconnected by end_user). Duration 02:05, hold 00:05, wait 00:30. Agent: lee@example.com.');
  await comment(description.replace('kim@', 'lee@')); // the update on end
  const boundary = `----flows${n}`;
  const file = Buffer.from(RECORDING, 'base64');
  const multipart = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="call-${n}.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const upload = (
    await call('POST', `/api/v2/uploads.json?filename=call-${n}.mp3`, { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, multipart)
  ).upload as { token: string; attachment: { content_url: string } };
  await comment(`call_recording call-${n}.mp3: ${upload.attachment.content_url}`, { uploads: [upload.token] });
  return calls;
}

async function crmControl(crmUrl: string, method: string, path: string): Promise<unknown> {
  const r = await fetch(`${crmUrl}/__control${path}`, { method });
  return r.status === 204 ? undefined : r.json();
}

async function crmCalls(crmUrl: string): Promise<number> {
  return ((await crmControl(crmUrl, 'GET', '/requests')) as { requests: unknown[] }).requests.length;
}

export async function benchFlows(pgUrl: string | undefined): Promise<Record<string, unknown>> {
  const crm = await startCrmProcess();
  const perRound = Math.max(1, Math.round(N / ROUNDS));
  const out: Record<string, unknown> = {
    sessions: perRound * ROUNDS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    events_per_session: 8,
    delivery_slots: WORKERS,
  };
  let base = 0;
  const fresh = (count: number) => {
    const from = base;
    base += count;
    return from;
  };
  try {
    const direct = new LeanClient(crm.url, CONCURRENCY);
    const from = fresh(WARMUP);
    await runPool(WARMUP, CONCURRENCY, (i) => directSession(direct, from + i));
    const stores: Array<['sqlite' | 'postgres', string | undefined]> = [['sqlite', undefined]];
    if (pgUrl && process.env.BENCH_FLOWS_STORES !== 'sqlite') stores.push(['postgres', pgUrl]);
    for (const [kind, url] of stores) {
      const schema = url ? `bench_flows_${process.pid}` : undefined;
      const gw = await startServer('gateway-durable', crm.url, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [], [
        JSON.stringify({ databaseUrl: url, databaseSchema: schema, workers: WORKERS }),
      ]);
      const client = new LeanClient(gw.url, CONCURRENCY);
      try {
        const latencies: number[] = [];
        const session = async (n: number, tag: string) => {
          for (const e of sessionEvents(n)) {
            const t = performance.now();
            const a = await client.request('POST', `/v1/connectors/zendesk/sessions/${tag}-${n}/events`, JSON_HEADERS, JSON.stringify(e));
            if (a.status !== 202) throw new Error(`event ${e.type}: HTTP ${a.status} ${a.text.slice(0, 200)}`);
            latencies.push(performance.now() - t);
          }
        };
        // Warm-up (JIT, connections, the store's first pages), settled before measuring.
        const warm = fresh(WARMUP);
        await runPool(WARMUP, CONCURRENCY, (i) => session(warm + i, `warm-${kind}`));
        await settled(gw, Date.now() + 60_000);
        latencies.length = 0;
        // Direct and gateway slices interleaved (order swapped each round), each on a freshly reset
        // CRM: a burst of unrelated load on the machine hits both, not one.
        const t = { direct: 0, gateway: 0, accepting: 0, gatewayCpu: 0, dbCpu: 0, calls: 0, directCalls: 0, delivered: 0, dead: 0 };
        for (let r = 0; r < ROUNDS; r++) {
          for (const which of r % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
            await crmControl(crm.url, 'POST', '/reset');
            await crmControl(crm.url, 'DELETE', '/requests');
            const first = fresh(perRound);
            if (which === 'direct') {
              const t0 = performance.now();
              await runPool(perRound, CONCURRENCY, async (i) => {
                const calls = await directSession(direct, first + i);
                t.directCalls += calls;
              });
              t.direct += performance.now() - t0;
              continue;
            }
            const before = await counts(gw);
            const cpu0 = { gw: processCpuMs(gw.proc.pid!) ?? NaN, db: kind === 'postgres' ? (cpuOfProcessesNamed('postgres') ?? NaN) : 0 };
            const t0 = performance.now();
            await runPool(perRound, CONCURRENCY, (i) => session(first + i, `flow-${kind}`));
            t.accepting += performance.now() - t0;
            const after = await settled(gw, Date.now() + 180_000);
            t.gateway += performance.now() - t0;
            t.gatewayCpu += (processCpuMs(gw.proc.pid!) ?? NaN) - cpu0.gw;
            if (kind === 'postgres') t.dbCpu += (cpuOfProcessesNamed('postgres') ?? NaN) - cpu0.db;
            t.calls += await crmCalls(crm.url);
            t.delivered += after.delivered - before.delivered;
            t.dead += after.dead - before.dead;
          }
        }
        const total = perRound * ROUNDS;
        const directPerSec = total / (t.direct / 1000);
        const perSec = total / (t.gateway / 1000);
        const gatewayCpu = t.gatewayCpu / total;
        const acc = summarize(latencies);
        const ratio = perSec / directPerSec;
        out[`direct_${kind}`] = { sessions_per_sec: round(directPerSec, 1), crm_calls_per_session: round(t.directCalls / total, 2) };
        out[kind] = {
          sessions_per_sec: round(perSec, 1),
          accepted_sessions_per_sec: round(total / (t.accepting / 1000), 1),
          crm_calls_per_session: round(t.calls / total, 2),
          deliveries_per_session: round(t.delivered / total, 2),
          dead: t.dead,
          event_accept_p50_ms: acc.p50,
          event_accept_p99_ms: acc.p99,
          gateway_cpu_ms_per_session: round(gatewayCpu, 1),
          ...(kind === 'postgres' ? { postgres_cpu_ms_per_session: round(t.dbCpu / total, 1) } : {}),
          // One event loop: the gateway cannot run more sessions per second than this.
          gateway_cpu_ceiling_sessions_per_sec: round(1000 / gatewayCpu, 0),
          ratio_vs_direct: round(ratio),
        };
        line(`flows: direct → CRM (baseline, ${kind} rounds)`, out[`direct_${kind}`] as Record<string, unknown>);
        line(`flows: ${kind}, ${WORKERS} delivery slots`, out[kind] as Record<string, unknown>);
        line(`target flows-${kind}`, {
          gateway_sessions_per_sec: round(perSec, 1),
          direct_sessions_per_sec: round(directPerSec, 1),
          goal: `>=${TARGET}x`,
          ratio: round(ratio),
          pass: ratio >= TARGET,
        });
      } finally {
        client.close();
        await gw.stop();
        if (url && schema) await dropSchema(url, schema);
      }
    }
    direct.close();
  } finally {
    crm.stop();
  }
  return out;
}
