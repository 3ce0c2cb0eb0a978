/**
 * Fuzz suite: at least 10,000 generated requests (fast-check) against a gateway process —
 * real HTTP over loopback, sample CRMs behind it (Zendesk-like for operations and session
 * flows, Salesforce-like for an authorization-code OAuth connector), API keys on — covering
 * operations (sync, async, dry run, Idempotency-Key, depends_on, ordering_key, odd media
 * types, multipart uploads), platform events (valid, lenient, hostile), deliveries (list, get, retry, cancel),
 * session views, OAuth authorize and callback, links, and URL shapes (case, slashes,
 * encodings, methods). Asserted for every answer:
 *   - an answer comes, within a bound (no hang);
 *   - no 5xx of the gateway's own (500 internal or config_invalid, 503 store_unavailable). A
 *     5xx about the CRM (502/503/504 with a crm_* or destination code) is an answer about
 *     the CRM, documented as such, and is allowed;
 *   - every 4xx/5xx is application/problem+json whose `status` and `code` match the answer;
 * and at the end: the process is still running, answers /healthz, and logged no unhandled
 * error. FUZZ_SEED reproduces a run (printed on failure); FUZZ_RUNS changes the count.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ERROR_CODES } from '../../src/errors';
import { GATEWAY_EVENTS, PLATFORM_EVENTS } from '../../src/flows/events';
import { hashKey } from '../../src/access/api-keys';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { SESSION_VARIABLES } from '../../src/template/variables';
import { OPERATIONS } from '../../src/config/types';
import { startChild, type Child } from '../helpers/child';
import { bundled } from '../helpers/harness';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 16;
/** The longest any answer may take: a synchronous write with an Idempotency-Key waits up to twice the CRM timeout. */
const ANSWER_BOUND_MS = 20_000;
/** 5xx codes that describe the CRM (or its address), not a failure of the gateway. */
const ABOUT_THE_CRM = new Set([
  'crm_request_failed',
  'crm_retry_later',
  'crm_unreachable',
  'crm_response_invalid',
  'destination_blocked',
  'file_download_failed',
]);

jest.setTimeout(180_000);

const ADMIN = 'cgw_fuzz-admin';
const SCOPED = 'cgw_fuzz-scoped-zendesk';
const ALL = 'cgw_fuzz-all-connectors';
let zd: RunningSampleCrm;
let sf: RunningSampleCrm;
let child: Child;
const deliveryIds: string[] = [];

beforeAll(async () => {
  zd = await startSampleCrm({ port: 0 });
  sf = await startSampleCrm({ port: 0, flavor: 'salesforce' } as never);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config/zendesk.yaml'), bundled('zendesk.yaml'));
  fs.writeFileSync(
    path.join(dir, 'config/sf-code.yaml'),
    bundled('salesforce.yaml')
      .replace(/^id: salesforce$/m, 'id: sf-code')
      .replace('grant: client_credentials', 'grant: authorization_code'),
  );
  child = await startChild({
    GATEWAY_AUTH: 'on',
    API_KEYS: [`${hashKey(ADMIN)}:admin`, `${hashKey(SCOPED)}:connectors=zendesk`, hashKey(ALL)].join(','),
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    CONFIG_WATCH: 'off',
    ZENDESK_URL: zd.url,
    SALESFORCE_URL: sf.url,
    DELIVERY_WORKERS: '2',
    LOG_LEVEL: 'error',
  });
});
afterAll(async () => {
  await child?.kill('SIGTERM');
  await zd?.close();
  await sf?.close();
});

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

// ---- generators -------------------------------------------------------------------------
const key = fc.oneof(
  { weight: 17, arbitrary: fc.constantFrom<string | undefined>(ADMIN, ADMIN, ADMIN, SCOPED, SCOPED, ALL) },
  { weight: 3, arbitrary: fc.constantFrom<string | undefined>(undefined, 'cgw_wrong', '') },
);
const connector = fc.oneof(
  { weight: 8, arbitrary: fc.constant('zendesk') },
  { weight: 2, arbitrary: fc.constantFrom('sf-code', 'nope', 'ZENDESK', 'zendesk%2F..', '%7Aendesk', '..', '%00') },
);
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
  fc.constantFrom('..', '.', '%2F', '%ZZ', '%F0%9F%98%80', '%ED%A0%80', 'x'.repeat(300), '%2e%2e', 'a b'.replace(' ', '%20')),
);
const unicode = fc.constantFrom('\ud800', 'a\udc00b', '李', 'é', '\u0000', '\r\nX-Injected: 1', '😀', '\u202e', '\ufeff');
const text = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: unicode },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(5000), '+1 222 333 4444', 'kim@example.com', '../..', '{EMAIL}', '=CONCAT(') },
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const varName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(...SESSION_VARIABLES, 'ACCOUNT_ID', 'RECORD_ID', 'COMMENT_BODY', 'TICKET_SUBJECT', 'FILE_DATA', 'FILE_NAME', 'FILE_KIND'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'N'.repeat(200), 'EMAIl') },
);
const variables = fc.dictionary(varName, fc.oneof({ weight: 8, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }), { maxKeys: 6 });
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

/** A JSON body: usually valid, sometimes broken the ways clients break it. */
const jsonBody = (value: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 8, arbitrary: value.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: value.map((v) => JSON.stringify(v, null, 1).replace(/,\n/g, '\n')) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{',
        'null',
        '[]',
        '"x"',
        '{"a":1}{',
        deep(100),
        '\n'.repeat(2000),
        `{"variables":${deep(40)}}`,
        '\ufeff{}',
        '{"variables":{"EMAIL":"\\ud800"}}',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  );

const operationReq = fc
  .record({
    connector,
    op: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...OPERATIONS) }, { weight: 1, arbitrary: segment }),
    query: fc.constantFrom('', '', '?dry_run=true', '?dry_run=true', '?async=true', '?async=1&async=1', '?dry_run=true&async=true', '?x=%ZZ'),
    body: jsonBody(
      fc.record(
        { variables, depends_on: fc.oneof(fc.constantFrom(...['00000000-0000-4000-8000-000000000000', '']), fc.string({ maxLength: 8 })), ordering_key: text },
        { requiredKeys: ['variables'] },
      ),
    ),
    idem: fc.option(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.constantFrom('', 'é', 'x'.repeat(300))), { freq: 4 }),
    prefer: fc.option(fc.constantFrom('respond-async', 'wait=1'), { freq: 6 }),
    type: fc.constantFrom(
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/vnd.x+json',
      'text/plain',
      'application/json; charset=latin1',
      'multipart/form-data; boundary=x',
    ),
    key,
  })
  .map(
    ({ connector: c, op, query, body, idem, prefer, type, key: k }): Req => ({
      method: 'POST',
      path: `/v1/connectors/${c}/operations/${op}${query}`,
      body: Buffer.from(body),
      headers: {
        'Content-Type': type,
        ...(idem !== null ? { 'Idempotency-Key': encodeURIComponent(idem) } : {}),
        ...(prefer ? { Prefer: prefer } : {}),
        ...auth(k),
      },
    }),
  );

/** Multipart operation calls (uploads): a `variables` field (JSON, or not), other fields, maybe a file part. */
const multipartReq = fc
  .record({
    connector,
    op: fc.constantFrom('upload_file', 'upload_file', 'add_comment', 'find_account'),
    query: fc.constantFrom('', '?dry_run=true', '?async=true'),
    vars: jsonBody(variables),
    dependsOn: fc.option(fc.string({ maxLength: 8 })),
    orderingKey: fc.option(text),
    file: fc.option(
      fc.record({
        name: fc.oneof(fc.constantFrom('a.txt', 'x".pdf', '../../etc/passwd', '李.png', ''), fc.string({ maxLength: 12 })),
        type: fc.constantFrom('text/plain', 'image/png', '', 'x/y; z'),
        data: fc.uint8Array({ maxLength: 64 }),
      }),
      { freq: 3 },
    ),
    extra: fc.option(fc.constantFrom('unknown', 'file', 'variables')),
    key,
  })
  .map(({ connector: c, op, query, vars, dependsOn, orderingKey, file, extra, key: k }): Req => {
    const b = 'fuzzboundary';
    const field = (name: string, value: string) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const parts: Buffer[] = [Buffer.from(field('variables', vars))];
    if (dependsOn !== null) parts.push(Buffer.from(field('depends_on', dependsOn)));
    if (orderingKey !== null) parts.push(Buffer.from(field('ordering_key', orderingKey)));
    if (extra !== null) parts.push(Buffer.from(field(extra, 'x')));
    if (file)
      parts.push(
        Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`),
        Buffer.from(file.data),
        Buffer.from('\r\n'),
      );
    parts.push(Buffer.from(`--${b}--\r\n`));
    return {
      method: 'POST',
      path: `/v1/connectors/${c}/operations/${op}${query}`,
      body: Buffer.concat(parts),
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}`, ...auth(k) },
    };
  });

const event = fc.record(
  {
    type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...PLATFORM_EVENTS, ...GATEWAY_EVENTS) }, { weight: 1, arbitrary: text }),
    event_id: fc.option(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { freq: 3 }),
    timestamp: fc.option(fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.double()), { freq: 3 }),
    data: fc.record(
      {
        call_id: fc.option(fc.integer({ min: 1, max: 50 })),
        chat_id: fc.option(fc.integer({ min: 1, max: 50 })),
        agent_email: fc.option(text),
        queue_name: fc.option(text),
        rating: fc.option(fc.integer({ min: -5, max: 10 })),
        end_user: fc.option(fc.record({ name: text, phone: text, email: text }, { requiredKeys: [] })),
        custom_data_not_secured: fc.option(fc.jsonValue({ maxDepth: 3 })),
        kind: fc.option(fc.constantFrom('photo', 'voicemail', 'x')),
        url: fc.option(fc.constantFrom('http://169.254.169.254/', 'http://127.0.0.1:1/x', 'ftp://x', 'not a url')),
        base64: fc.option(fc.constantFrom('QUJD', '!!!')),
        code: fc.option(text),
        answers: fc.option(fc.array(fc.record({ question: text, answer: text }), { maxLength: 3 })),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['type', 'data'] },
);
const eventReq = fc
  .record({
    connector,
    session: fc.oneof(fc.constantFrom('s1', 's2', 's3'), segment),
    body: jsonBody(event),
    hint: fc.constantFrom('', '', '?type=Call_Redaction_Started', '?type=nope'),
    key,
  })
  .map(
    ({ connector: c, session, body, hint, key: k }): Req => ({
      method: 'POST',
      path: `/v1/connectors/${c}/sessions/${session}/events${hint}`,
      body: Buffer.from(body),
      headers: { 'Content-Type': 'application/json', ...auth(k) },
    }),
  );

const deliveryId = fc.oneof(fc.constant('@known'), fc.uuid(), segment);
const deliveryReq = fc.oneof(
  fc
    .record({
      q: fc.constantFrom(
        '',
        '?connector=zendesk',
        '?status=dead',
        '?status=nope',
        '?limit=0',
        '?limit=5&before=3',
        '?before=x',
        '?connector=zendesk&connector=x',
        '?limit=1001',
      ),
      key,
    })
    .map(({ q, key: k }): Req => ({ method: 'GET', path: `/v1/deliveries${q}`, headers: auth(k) })),
  fc
    .record({ id: deliveryId, action: fc.constantFrom('', '/retry', '/cancel', '/retry/', '/Cancel', '/resolve'), key })
    .map(({ id, action, key: k }): Req => ({ method: action ? 'POST' : 'GET', path: `/v1/deliveries/${id}${action}`, headers: auth(k) })),
);
const sessionReq = fc
  .record({ connector, session: fc.oneof(fc.constantFrom('s1', 's2', 's3'), segment), key })
  .map(({ connector: c, session, key: k }): Req => ({ method: 'GET', path: `/v1/connectors/${c}/sessions/${session}`, headers: auth(k) }));
const oauthReq = fc.oneof(
  fc
    .record({ c: fc.constantFrom('sf-code', 'zendesk', 'nope'), key })
    .map(({ c, key: k }): Req => ({ method: 'GET', path: `/v1/connectors/${c}/oauth/authorize`, headers: auth(k) })),
  fc
    .record({
      q: fc.constantFrom('', '?state=x', '?state=x&code=y', '?error=access_denied', '?error=%ED%A0%80', '?state=&code=', '?state=a&state=b&code=c'),
      key,
    })
    .map(({ q, key: k }): Req => ({ method: 'GET', path: `/v1/oauth/callback${q}`, headers: auth(k) })),
);
const linksReq = fc
  .record({
    connector,
    q: fc.constantFrom('', '?ACCOUNT_ID=1', '?ACCOUNT_ID=1&ACCOUNT_ID=2', '?EMAIL=%ED%A0%80', '?RECORD_ID=%2F..%2F', `?x=${'y'.repeat(3000)}`),
    key,
  })
  .map(({ connector: c, q, key: k }): Req => ({ method: 'GET', path: `/v1/connectors/${c}/links${q}`, headers: auth(k) }));
const otherReq = fc
  .record({
    method: fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'POST'),
    path: fc.constantFrom(
      '/healthz',
      '/readyz',
      '/metrics',
      '/v1/connectors',
      '/v1/connectors/zendesk',
      '/V1/connectors',
      '/v1/connectors/',
      '//v1/connectors',
      '/v1/Connectors/zendesk',
      '/',
      '/v1',
      '/v1/connectors/zendesk/oauth/authorize/',
      '/v1/%63onnectors',
    ),
    key,
  })
  .map(({ method, path: p, key: k }): Req => ({ method, path: p, headers: auth(k) }));

const request = fc.oneof(
  { weight: 34, arbitrary: operationReq },
  { weight: 6, arbitrary: multipartReq },
  { weight: 20, arbitrary: eventReq },
  { weight: 12, arbitrary: deliveryReq },
  { weight: 8, arbitrary: sessionReq },
  { weight: 6, arbitrary: oauthReq },
  { weight: 6, arbitrary: linksReq },
  { weight: 8, arbitrary: otherReq },
);

function auth(k: string | undefined): Record<string, string> {
  return k === undefined ? {} : { Authorization: `Bearer ${k}` };
}

// ---- sending ---------------------------------------------------------------------------
interface Answer {
  status: number;
  type: string;
  text: string;
  ms: number;
}
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(r: Req): Promise<Answer> {
  const url = new URL(child.url);
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: r.method,
        path: r.path,
        agent,
        headers: { ...r.headers, ...(r.body ? { 'Content-Length': String(r.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - t,
          }),
        );
      },
    );
    req.setTimeout(ANSWER_BOUND_MS, () => req.destroy(new Error(`no answer within ${ANSWER_BOUND_MS} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

function judge(r: Req, a: Answer): string | undefined {
  const what = `${r.method} ${r.path.slice(0, 120)} → ${a.status} ${a.text.slice(0, 200)}`;
  if (a.ms > ANSWER_BOUND_MS) return `slow (${Math.round(a.ms)} ms): ${what}`;
  // Node's own parser refuses malformed request lines before the gateway sees them (plain 400).
  if (a.status === 400 && a.type === '' && a.text === '') return undefined;
  if (a.status < 400) return undefined;
  if (r.method === 'HEAD') return a.status >= 500 ? `5xx: ${what}` : undefined;
  if (!/^application\/problem\+json/.test(a.type)) return `not problem+json: ${what}`;
  let p: { status?: number; code?: string };
  try {
    p = JSON.parse(a.text);
  } catch {
    return `problem is not JSON: ${what}`;
  }
  if (p.status !== a.status || !p.code || ERROR_CODES[p.code as keyof typeof ERROR_CODES] !== a.status) return `problem does not match the answer: ${what}`;
  if (a.status >= 500 && !ABOUT_THE_CRM.has(p.code)) return `gateway 5xx: ${what}`;
  return undefined;
}

test(`${RUNS} generated requests: no crash, no gateway 5xx, no hang, every rejection a problem`, async () => {
  const started = performance.now();
  const requests = fc.sample(request, { numRuns: RUNS, seed: SEED });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  let slowest = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++];
      if (r.path.includes('@known')) r.path = r.path.replace('@known', deliveryIds.length ? deliveryIds[next % deliveryIds.length] : 'none');
      let a: Answer;
      try {
        a = await send(r);
      } catch (e) {
        failures.push(`no answer: ${r.method} ${r.path.slice(0, 120)}: ${(e as Error).message}`);
        continue;
      }
      slowest = Math.max(slowest, a.ms);
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status === 202 || a.status === 200) {
        const id = /"id":"([0-9a-f-]{36})"/.exec(a.text)?.[1];
        if (id && r.path.includes('/operations/')) deliveryIds.push(id);
      }
      const f = judge(r, a);
      if (f) failures.push(f);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const health = await fetch(`${child.url}/healthz`);
  const took = Math.round(performance.now() - started);
  const summary = { seed: SEED, runs: RUNS, took_ms: took, slowest_ms: Math.round(slowest), statuses: Object.fromEntries([...statuses].sort()) };
  // One line for the record (the README quotes the numbers).
  process.stdout.write(`fuzz: ${JSON.stringify(summary)}\n`);
  expect({ summary, failures: failures.slice(0, 20), count: failures.length }).toMatchObject({ failures: [], count: 0 });
  expect(health.status).toBe(200);
  expect(child.proc.exitCode).toBeNull();
  expect(child.stderr.join('')).not.toMatch(/unhandled error|uncaught|FATAL/i);
  // Enough of each kind got through the door to mean something.
  expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(RUNS / 10);
});
