/**
 * Render throughput: a compiled connector whose create_record has ~35 params (=DEFAULT_VALUE,
 * =CONCAT_OR, =CONCAT_AND, nested maps and lists, a handlebars text param, two phone numbers,
 * derived names and mm:ss durations). Measures prepareCall + buildRequest (everything
 * between the checked variables and the bytes-ready request) in ops/s and params/s
 * (target: ≥ 200,000 params/s). Baseline in the same run: a hand-written function building the
 * same request (same URL, same body, checked deep-equal before measuring), using libphonenumber
 * and a template literal directly; its phone formatting alone is measured too, because it is
 * most of either side's cost.
 *
 * Also: compiling config/zendesk.yaml 100 times (distinct ids), total and per connector (best of
 * 3 passes), with a plain YAML parse (yaml.parseDocument) of the same texts as the baseline.
 * "first_ms" is the first compile of that file in the process (its handlebars template is not
 * cached yet).
 *
 * Single-threaded, in-process, no I/O: every figure is the best of BENCH_RENDER_ROUNDS rounds
 * (default 10) of BENCH_RENDER_MS (default 150 ms) each, the contenders' rounds interleaved, after
 * a warm-up; inputs rotate over 8 variable sets so neither side sees one constant input. Best-of
 * because other work on a shared machine only ever slows a round down. About 8 s in all.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import YAML from 'yaml';
import { compileConnector } from '../src/config/compile';
import type { CompiledEndpoint, Connector } from '../src/config/types';
import { buildRequest } from '../src/operations/request';
import { prepareCall } from '../src/operations/variables';
import type { TemplateNode } from '../src/template/compile';
import { line, round } from './lib';

const ROUND_MS = Number(process.env.BENCH_RENDER_MS ?? 150);
const ROUNDS = Number(process.env.BENCH_RENDER_ROUNDS ?? 10);
const COMPILE_N = 100;
const TARGET_PARAMS_PER_SEC = 200_000;

export const RENDER_CONNECTOR = `
id: render_bench
name: Render bench
base_url: https://crm.example.com
auth: { type: basic, username: api@example.com, password: render-bench-secret }
phone: { format: international, default_region: US }
timeout_seconds: 5
variables: [LOYALTY_TIER, ORDER_ID]
endpoints:
  find_account: { method: GET, url: /api/contacts/search, params: { q: "=CONCAT_OR(phone:{PHONE_NUMBER}, email:{EMAIL})" } }
  create_account: { method: POST, url: /api/contacts, params: { name: "{NAME}" } }
  create_record:
    method: POST
    url: /api/accounts/{ACCOUNT_ID}/cases
    body_format: container_map
    container_name: case
    params:
      subject: =DEFAULT_VALUE({TICKET_SUBJECT}, Call from {PHONE_NUMBER})
      status: open
      priority: normal
      type: =DEFAULT_VALUE({SESSION_TYPE}, voice)
      account_id: "{ACCOUNT_ID}"
      external_ref: "session-{SESSION_ID}"
      search_hint: =CONCAT_OR((Phone:equals:{PHONE_NUMBER}), (Email:equals:{EMAIL}), (Id:equals:{ACCOUNT_ID}))
      routing: =CONCAT_AND(lang:{LANG}, queue:{QUEUE_NAME}, channel:{CHANNEL})
      caller:
        first_name: "{FIRST_NAME}"
        last_name: "{LAST_NAME}"
        email: "{EMAIL}"
        user_id: "{CUSTOM_USER_ID}"
        phone: "{PHONE_NUMBER}"
        callback: "{OUTBOUND_PHONE_NUMBER}"
        profile:
          device: =DEFAULT_VALUE({DEVICE_TYPE}, unknown device)
          tier: "{LOYALTY_TIER}"
          sdk: =CONCAT_OR({SDK_NAME}, {SDK_EMAIL})
      agent:
        id: "{AGENT_ID}"
        email: =DEFAULT_VALUE({AGENT_EMAIL}, support@example.com)
        custom_id: "{AGENT_CUSTOM_ID}"
      metrics:
        duration: "{CALL_DURATION}"
        hold: "{HOLD_TIME}"
        wait: "{WAIT_TIME}"
        rating: "{RATING}"
        disconnected_by: "{DISCONNECTED_BY}"
      tags: [crm-gateway, "{CHANNEL}", "queue-{QUEUE_ID}", "=DEFAULT_VALUE({LANG}, en)"]
      custom_fields:
        - { id: 360001, value: "{ORDER_ID}" }
        - { id: 360002, value: "{MENU_PATH}" }
        - { id: 360003, value: "=DEFAULT_VALUE({FEEDBACK}, none)" }
      description: |
        {{default TICKET_DESCRIPTION "Contact-center session"}}
        Session: {{SESSION_ID}} ({{SESSION_TYPE}})
        Queue: {{default QUEUE_NAME "-"}}  Menu: {{default MENU_PATH "-"}}  Language: {{default LANG "-"}}
        Agent: {{default AGENT_EMAIL "not yet assigned"}}
    response_data_location: case
`;

/** 8 realistic variable sets: some optional values missing, phones written in different styles. */
export function variableSets(): Array<Record<string, unknown>> {
  const phones = [
    '+1 (222) 333-4444',
    '2223334444',
    '+44 20 7946 0958',
    '+1-415-555-0132',
    '(646) 555-0199',
    '+33 1 42 68 53 00',
    '312.555.0101',
    '+49 30 901820',
  ];
  return phones.map((phone, i) => ({
    NAME: i % 4 === 3 ? 'Madonna' : `Kim Lee ${i}`,
    EMAIL: `kim.lee${i}@example.com`,
    PHONE_NUMBER: phone,
    ...(i % 2 === 0 ? { OUTBOUND_PHONE_NUMBER: '+1 800 555 0100' } : {}),
    ACCOUNT_ID: 10_000 + i,
    SESSION_ID: `sess-${i}-8f14e45f`,
    SESSION_TYPE: i % 3 === 0 ? 'chat' : 'voice_call',
    ...(i % 3 === 1 ? {} : { TICKET_SUBJECT: `Missed call ${i}` }),
    LANG: 'en',
    ...(i % 2 === 1 ? { QUEUE_NAME: 'Billing' } : {}),
    QUEUE_ID: 40 + i,
    CHANNEL: i % 2 ? 'voice' : 'chat',
    DEVICE_TYPE: i % 4 === 0 ? '' : 'ios',
    LOYALTY_TIER: i % 2 ? 'gold' : null,
    ...(i % 5 === 0 ? { SDK_NAME: 'ujet-ios' } : {}),
    AGENT_ID: 7 + i,
    ...(i % 2 ? { AGENT_EMAIL: 'agent@example.com' } : {}),
    AGENT_CUSTOM_ID: `A-${i}`,
    CALL_DURATION: 65 + i * 61,
    HOLD_TIME: '12',
    WAIT_TIME: 3725,
    RATING: 5,
    DISCONNECTED_BY: 'end_user',
    ORDER_ID: `ORD-${1000 + i}`,
    MENU_PATH: 'Billing > Refunds',
    ...(i % 3 === 2 ? { FEEDBACK: 'Quick and helpful' } : {}),
    TICKET_DESCRIPTION: i % 2 ? 'Caller asked about a refund' : undefined,
  }));
}

// ---- the hand-written baseline --------------------------------------------------------------------

const blank = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const mmss = (v: unknown): string | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) return undefined;
  const t = Math.round(n);
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};
function phone(v: unknown): string | undefined {
  if (blank(v)) return undefined;
  const p = parsePhoneNumberWithError(str(v), { defaultCountry: 'US' });
  if (!p.isPossible()) throw new Error(`bad phone ${str(v)}`);
  return p.format('INTERNATIONAL');
}
/** Sets obj[k] = v unless v is blank (the gateway never sends empty values). */
function put(obj: Record<string, unknown>, k: string, v: unknown): void {
  if (!blank(v)) obj[k] = v;
}

/** What a developer would write by hand for this one endpoint, with the same output. */
export function handWritten(v: Record<string, unknown>): { method: string; url: string; headers: Record<string, string>; body: unknown } {
  if (blank(v.ACCOUNT_ID)) throw new Error('ACCOUNT_ID is required');
  const name = typeof v.NAME === 'string' ? v.NAME.trim().split(/\s+/) : [];
  const first = name[0];
  const last = name.length > 1 ? name.slice(1).join(' ') : '--';
  const email = blank(v.EMAIL) ? undefined : str(v.EMAIL);
  const userId = email && email.lastIndexOf('@') > 0 ? email.slice(0, email.lastIndexOf('@')) : undefined;
  const tel = phone(v.PHONE_NUMBER);
  const callback = phone(v.OUTBOUND_PHONE_NUMBER);
  const or = (...xs: Array<string | undefined>) => xs.filter((x) => x !== undefined && x.trim() !== '').join(' or ');
  const and = (...xs: Array<string | undefined>) => xs.filter((x) => x !== undefined && x.trim() !== '').join(' and ');
  const def = (a: unknown, b: string | undefined) => (blank(a) ? b : str(a));
  const text = (...parts: unknown[]) => (parts.some(blank) ? undefined : parts.map(str).join(''));

  const c: Record<string, unknown> = {};
  put(c, 'subject', def(v.TICKET_SUBJECT, tel && `Call from ${tel}`));
  c.status = 'open';
  c.priority = 'normal';
  put(c, 'type', def(v.SESSION_TYPE, 'voice'));
  c.account_id = v.ACCOUNT_ID;
  put(c, 'external_ref', text('session-', v.SESSION_ID));
  put(c, 'search_hint', or(tel && `(Phone:equals:${tel})`, email && `(Email:equals:${email})`, `(Id:equals:${str(v.ACCOUNT_ID)})`));
  put(c, 'routing', and(text('lang:', v.LANG), text('queue:', v.QUEUE_NAME), text('channel:', v.CHANNEL)));
  const caller: Record<string, unknown> = {};
  put(caller, 'first_name', first);
  put(caller, 'last_name', last);
  put(caller, 'email', email);
  put(caller, 'user_id', userId);
  put(caller, 'phone', tel);
  put(caller, 'callback', callback);
  const profile: Record<string, unknown> = {};
  put(profile, 'device', def(v.DEVICE_TYPE, 'unknown device'));
  put(profile, 'tier', v.LOYALTY_TIER);
  put(profile, 'sdk', or(blank(v.SDK_NAME) ? undefined : str(v.SDK_NAME), blank(v.SDK_EMAIL) ? undefined : str(v.SDK_EMAIL)));
  if (Object.keys(profile).length) caller.profile = profile;
  if (Object.keys(caller).length) c.caller = caller;
  const agent: Record<string, unknown> = {};
  put(agent, 'id', v.AGENT_ID);
  put(agent, 'email', def(v.AGENT_EMAIL, 'support@example.com'));
  put(agent, 'custom_id', v.AGENT_CUSTOM_ID);
  if (Object.keys(agent).length) c.agent = agent;
  const metrics: Record<string, unknown> = {};
  put(metrics, 'duration', mmss(v.CALL_DURATION));
  put(metrics, 'hold', mmss(v.HOLD_TIME));
  put(metrics, 'wait', mmss(v.WAIT_TIME));
  put(metrics, 'rating', v.RATING);
  put(metrics, 'disconnected_by', v.DISCONNECTED_BY);
  if (Object.keys(metrics).length) c.metrics = metrics;
  c.tags = ['crm-gateway', v.CHANNEL, text('queue-', v.QUEUE_ID), def(v.LANG, 'en')].filter((x) => !blank(x));
  const field = (id: number, value: unknown) => (blank(value) ? { id } : { id, value });
  c.custom_fields = [field(360001, v.ORDER_ID), field(360002, v.MENU_PATH), field(360003, def(v.FEEDBACK, 'none'))];
  const d = (x: unknown, fallback: string) => (blank(x) ? fallback : str(x));
  const o = (x: unknown) => (x === undefined || x === null ? '' : str(x));
  c.description =
    `${d(v.TICKET_DESCRIPTION, 'Contact-center session')}\nSession: ${o(v.SESSION_ID)} (${o(v.SESSION_TYPE)})\n` +
    `Queue: ${d(v.QUEUE_NAME, '-')}  Menu: ${d(v.MENU_PATH, '-')}  Language: ${d(v.LANG, '-')}\nAgent: ${d(v.AGENT_EMAIL, 'not yet assigned')}\n`;
  return {
    method: 'POST',
    url: `https://crm.example.com/api/accounts/${encodeURIComponent(str(v.ACCOUNT_ID))}/cases`,
    headers: { 'User-Agent': 'crm-gateway/0.1', Accept: 'application/json', 'Content-Type': 'application/json' },
    body: { case: c },
  };
}

// ---- measuring ------------------------------------------------------------------------------------

function countParams(node: TemplateNode): number {
  if (node.k === 'map') return node.entries.reduce((n, [, child]) => n + countParams(child), 0);
  if (node.k === 'list') return node.items.reduce((n, child) => n + countParams(child), 0);
  return 1;
}

/**
 * Best-of-rounds ops/s of each `fns[k](i)`, the functions' rounds interleaved (A B C A B C …) so
 * that a burst of other work on the machine hits all of them alike; `sink` keeps the results
 * observable so nothing is optimised away.
 */
function opsPerSec(fns: Array<(i: number) => unknown>): number[] {
  let sink = 0;
  for (const fn of fns) {
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < ROUND_MS; i++) sink += fn(i) ? 1 : 0; // warm-up
  }
  const best = fns.map(() => 0);
  for (let r = 0; r < ROUNDS; r++) {
    // No global.gc() between rounds: a forced full GC flushes V8's inline caches and optimised
    // code of whatever runs next, and made the first rounds after it up to 2× slower.
    fns.forEach((fn, k) => {
      let n = 0;
      const start = performance.now();
      let now = start;
      while (now - start < ROUND_MS) {
        for (let j = 0; j < 64; j++, n++) sink += fn(n) ? 1 : 0;
        now = performance.now();
      }
      best[k] = Math.max(best[k], n / ((now - start) / 1000));
    });
  }
  if (sink < 0) process.stdout.write('');
  return best;
}

export async function benchRender(): Promise<Record<string, unknown>> {
  const env = { ...process.env };
  const compiled = compileConnector(RENDER_CONNECTOR, 'render-bench.yaml', env);
  if (!compiled.connector) throw new Error(`render connector does not compile: ${compiled.issues.map((i) => i.message).join('; ')}`);
  const c: Connector = compiled.connector;
  const ep: CompiledEndpoint = c.endpoints.get('create_record')!;
  const params = countParams(ep.params!);
  const sets = variableSets();

  // Same request both ways, or the comparison means nothing.
  for (const vars of sets) {
    const g = buildRequest(c, ep, prepareCall(vars, c, ep, Date.now()));
    const h = handWritten(vars);
    assert.deepEqual({ method: g.method, url: g.url, headers: g.headers, body: g.body.kind === 'json' ? g.body.value : undefined }, h);
  }

  const phones = sets.flatMap((s) => [s.PHONE_NUMBER, s.OUTBOUND_PHONE_NUMBER].filter((p) => !blank(p)));
  const [gateway, prepareOnly, hand, phonePerSec] = opsPerSec([
    (i) => buildRequest(c, ep, prepareCall(sets[i & 7], c, ep, Date.now())),
    (i) => prepareCall(sets[i & 7], c, ep, Date.now()),
    (i) => handWritten(sets[i & 7]),
    (i) => phone(phones[i % phones.length]),
  ]);
  const phonesPerOp = phones.length / sets.length;

  const out: Record<string, unknown> = {
    params_per_request: params,
    gateway: { ops_per_sec: round(gateway, 0), params_per_sec: round(gateway * params, 0), us_per_op: round(1e6 / gateway, 1) },
    gateway_prepare_variables_only: { ops_per_sec: round(prepareOnly, 0), us_per_op: round(1e6 / prepareOnly, 1) },
    hand_written: { ops_per_sec: round(hand, 0), params_per_sec: round(hand * params, 0), us_per_op: round(1e6 / hand, 1) },
    phone_format: {
      per_sec: round(phonePerSec, 0),
      us_each: round(1e6 / phonePerSec, 1),
      per_request: phonesPerOp,
      share_of_hand_written: round((hand / phonePerSec) * phonesPerOp),
    },
    ratio_gateway_vs_hand_written: round(gateway / hand),
    target_params_per_sec: TARGET_PARAMS_PER_SEC,
    target_met: gateway * params >= TARGET_PARAMS_PER_SEC,
  };
  line(`render: prepareCall+buildRequest (${params} params)`, out.gateway as Record<string, unknown>);
  line('render:   of which prepareCall', out.gateway_prepare_variables_only as Record<string, unknown>);
  line('render: hand-written function (baseline)', out.hand_written as Record<string, unknown>);
  line('render: libphonenumber parse+format alone', out.phone_format as Record<string, unknown>);
  line('render: ratio gateway / hand-written', { ratio: out.ratio_gateway_vs_hand_written, params_per_sec_target: TARGET_PARAMS_PER_SEC, met: out.target_met });

  try {
    out.compile = benchCompile();
    line(`render: compile config/zendesk.yaml ×${COMPILE_N}`, out.compile as Record<string, unknown>);
  } catch (e) {
    // config/ is edited by others too: a broken file should not lose the render figures.
    out.compile = { error: (e as Error).message };
    line(`render: compile config/zendesk.yaml ×${COMPILE_N}`, { error: JSON.stringify((e as Error).message) });
  }
  return out;
}

/** Config compile: config/zendesk.yaml, 100 distinct ids; a plain YAML parse as the baseline. */
function benchCompile(): Record<string, unknown> {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'config', 'zendesk.yaml'), 'utf8');
  const texts = Array.from({ length: COMPILE_N }, (_, i) => text.replace(/^id: zendesk$/m, `id: zendesk_${i}`));
  const compileEnv = { ...process.env, ZENDESK_URL: 'http://127.0.0.1:4010' };
  let t = performance.now();
  const first = compileConnector(texts[0], 'zendesk_0.yaml', compileEnv);
  const firstMs = performance.now() - t;
  if (!first.connector) throw new Error(`config/zendesk.yaml does not compile: ${first.issues.map((i) => i.message).join('; ')}`);
  // Best of 3 passes each, alternated (a shared machine only ever slows a pass down).
  let totalMs = Infinity;
  let parseMs = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    t = performance.now();
    for (let i = 0; i < COMPILE_N; i++) {
      const r = compileConnector(texts[i], `zendesk_${i}.yaml`, compileEnv);
      if (r.connector?.id !== `zendesk_${i}`) throw new Error(`compile ${i} failed`);
    }
    totalMs = Math.min(totalMs, performance.now() - t);
    t = performance.now();
    for (let i = 0; i < COMPILE_N; i++) YAML.parseDocument(texts[i]);
    parseMs = Math.min(parseMs, performance.now() - t);
  }
  return {
    connectors: COMPILE_N,
    total_ms: round(totalMs, 1),
    per_connector_ms: round(totalMs / COMPILE_N, 3),
    first_ms: round(firstMs, 1),
    yaml_parse_only_total_ms: round(parseMs, 1),
    ratio_vs_yaml_parse: round(totalMs / parseMs),
  };
}
