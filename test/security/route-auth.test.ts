/**
 * Authorization on the matched route, over real HTTP: every route × URL-shape variants (case,
 * trailing slash, double slash, dot segments, percent-encoding incl. %2F and encoded letters)
 * × methods (the route's own, HEAD, OPTIONS) × each kind of key (none, bad, admin, all-connector
 * non-admin, scoped to A) is sent to the server the gateway runs (fast lane in front of express),
 * operations both through the fast lane and through express. A request outside the key's scope
 * must never succeed: its answer is a 401/403/404 problem (never a handler's own answer), and
 * nothing reaches the CRM or changes a delivery.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { operationsFastLane } from '../../src/api/fast-lane';
import { ROUTES, allowedMethods, matchRoute } from '../../src/api/routes';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const A = 'zendesk';
const B = 'zd-b';
const KEYS = {
  none: undefined,
  bad: 'cgw_not-a-key',
  admin: 'cgw_admin-key-route-table',
  all: 'cgw_all-connectors-not-admin',
  scopedA: 'cgw_scoped-to-zendesk-only',
} as const;
type KeyKind = keyof typeof KEYS;
const gate = new ApiKeys(parseKeyEntries([`${hashKey(KEYS.admin)}:admin`, hashKey(KEYS.all), `${hashKey(KEYS.scopedA)}:connectors=${A}`].join('\n'), 'test'));
// B cannot reach the sample CRM (no allow_private_network): its async writes die at once, and a
// request that got through to it would answer 502, not 4xx.
const connectorB = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, `id: ${B}`)
  .replace(/^allow_private_network: \[127\.0\.0\.1\]\n/m, '');

let h: Harness;
let base: string;
let server: http.Server;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'b.yaml': connectorB } });
  const app = createApp(h.gw.gateway, { deliveries: h.gw.deliveries, store: h.gw.store, flows: h.gw.flows, apiKeys: gate });
  const fast = operationsFastLane(h.gw.gateway, { deliveries: h.gw.deliveries, apiKeys: gate, maxBodyBytes: 1 << 20 });
  server = http.createServer((req, res) => {
    if (fast(req, res)) return;
    res.setHeader('X-Lane', 'express');
    app(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // B: one dead delivery (retry target), one pending for an hour (cancel target), one session.
  const dead = await h.gw.deliveries.accept(B, 'create_account', { variables: { NAME: 'Dead B' } });
  const pending = await h.gw.deliveries.accept(B, 'create_account', { variables: { NAME: 'Pending B' } }, { delayMs: 3_600_000 });
  const aPending = await h.gw.deliveries.accept(A, 'create_account', { variables: { NAME: 'Pending A' } }, { delayMs: 3_600_000 });
  await h.gw.flows.handle(B, 's-b', { type: 'Session_Started', data: { chat_id: 1 } });
  for (let i = 0; i < 200 && (await h.gw.deliveries.get(dead.delivery.id)).status !== 'dead'; i++) await new Promise((r) => setTimeout(r, 20));
  Object.assign(ids, { deadB: dead.delivery.id, pendingB: pending.delivery.id, pendingA: aPending.delivery.id });
  expect((await h.gw.deliveries.get(ids.deadB)).status).toBe('dead');
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await h.close();
});

/** A concrete request on a route: its target connector decides who may succeed. */
interface Target {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: string;
  body?: unknown;
  route: string;
  connector?: string;
  param?: string;
}

const op = { variables: { EMAIL: 'x@example.com' } };
const targets = (): Target[] => [
  { method: 'GET', path: '/healthz', route: '/healthz' },
  { method: 'GET', path: '/readyz', route: '/readyz' },
  { method: 'GET', path: '/metrics', route: '/metrics' },
  { method: 'GET', path: '/openapi.yaml', route: '/openapi.yaml' },
  { method: 'GET', path: '/docs', route: '/docs' },
  { method: 'GET', path: '/v1/me', route: '/v1/me' },
  { method: 'GET', path: '/v1/connectors', route: '/v1/connectors' },
  { method: 'GET', path: `/v1/connectors/${B}`, route: '/v1/connectors/:id', connector: B },
  { method: 'GET', path: `/v1/connectors/${B}/operations`, route: '/v1/connectors/:id/operations', connector: B },
  { method: 'POST', path: `/v1/connectors/${B}/validate`, body: { yaml: 'id: zd-b\n' }, route: '/v1/connectors/:id/validate', connector: B },
  // Invalid for anyone allowed (no base_sha256): nothing is written even where the key may write.
  { method: 'PUT', path: `/v1/connectors/${B}/config`, body: { yaml: 'id: zd-b\n' }, route: '/v1/connectors/:id/config', connector: B },
  // An unknown target: a key allowed here is answered 422 and no run starts.
  { method: 'POST', path: `/v1/connectors/${B}/contract-tests`, body: { target: 'nowhere' }, route: '/v1/connectors/:id/contract-tests', connector: B },
  { method: 'GET', path: '/v1/contract-tests/no-such-run', route: '/v1/contract-tests/:runId' },
  { method: 'GET', path: '/v1/contract-tests/no-such-run/events', route: '/v1/contract-tests/:runId/events' },
  { method: 'GET', path: '/v1/contract-tests/no-such-run/junit', route: '/v1/contract-tests/:runId/junit' },
  { method: 'GET', path: `/v1/connectors/${B}/links`, query: 'ACCOUNT_ID=1', route: '/v1/connectors/:id/links', connector: B },
  { method: 'POST', path: `/v1/connectors/${B}/operations/find_account`, body: op, route: '/v1/connectors/:id/operations/:operation', connector: B },
  { method: 'POST', path: `/v1/connectors/${A}/operations/find_account`, body: op, route: '/v1/connectors/:id/operations/:operation', connector: A },
  { method: 'GET', path: `/v1/connectors/${B}/oauth/authorize`, route: '/v1/connectors/:id/oauth/authorize', connector: B },
  { method: 'GET', path: '/v1/oauth/callback', query: 'state=x&code=y', route: '/v1/oauth/callback' },
  {
    method: 'POST',
    path: `/v1/connectors/${B}/sessions/s-b/events`,
    body: { type: 'Custom_Data', data: { data: { a: 1 } } },
    route: '/v1/connectors/:id/sessions/:sessionId/events',
    connector: B,
  },
  { method: 'GET', path: `/v1/connectors/${B}/sessions/s-b`, route: '/v1/connectors/:id/sessions/:sessionId', connector: B },
  { method: 'GET', path: `/v1/connectors/${B}/sessions`, route: '/v1/connectors/:id/sessions', connector: B },
  {
    method: 'POST',
    path: `/v1/connectors/${B}/flow-posts/acceptedcall`,
    body: { engagementId: 'fp-b', caller_number: '+1 222 333 4001' },
    route: '/v1/connectors/:id/flow-posts/:name',
    connector: B,
  },
  {
    method: 'POST',
    path: `/v1/connectors/${B}/webhooks/zoom`,
    body: { event: 'endpoint.url_validation', payload: { plainToken: 'x' } },
    route: '/v1/connectors/:id/webhooks/zoom',
    connector: B,
  },
  { method: 'POST', path: `/v1/connectors/${B}/webhooks/zoom/reconcile`, route: '/v1/connectors/:id/webhooks/zoom/reconcile', connector: B },
  { method: 'GET', path: '/v1/deliveries', route: '/v1/deliveries' },
  { method: 'GET', path: '/v1/deliveries', query: `connector=${B}`, route: '/v1/deliveries', connector: B },
  { method: 'GET', path: `/v1/deliveries/${ids.deadB}`, param: ids.deadB, route: '/v1/deliveries/:id', connector: B },
  { method: 'GET', path: `/v1/deliveries/${ids.pendingA}`, param: ids.pendingA, route: '/v1/deliveries/:id', connector: A },
  { method: 'POST', param: ids.deadB, path: `/v1/deliveries/${ids.deadB}/retry`, route: '/v1/deliveries/:id/retry', connector: B },
  { method: 'POST', param: ids.pendingB, path: `/v1/deliveries/${ids.pendingB}/cancel`, route: '/v1/deliveries/:id/cancel', connector: B },
  {
    method: 'POST',
    param: ids.deadB,
    path: `/v1/deliveries/${ids.deadB}/resolve`,
    body: { action: 'cancel' },
    route: '/v1/deliveries/:id/resolve',
    connector: B,
  },
];

const isPublic = (t: Target) => ROUTES.find((r) => r.path === t.route && r.method === t.method)!.access.kind === 'public';

/** Who may succeed on a target: the table's rule, restated here independently. */
function allowed(key: KeyKind, t: Target): boolean {
  const rule = ROUTES.find((r) => r.path === t.route && r.method === t.method)!.access.kind;
  if (rule === 'public' || rule === 'metrics') return true;
  if (key === 'none' || key === 'bad') return false;
  if (key === 'admin') return true;
  if (rule === 'admin') return false;
  if (key === 'all') return true;
  // Scoped to A: the key's own view and the connector list (narrowed to A by its handler); the
  // delivery listing only with ?connector=A; connector and delivery routes of A only.
  if (rule === 'key' && t.route !== '/v1/deliveries') return true;
  return t.connector === A;
}

const hex = (s: string, upper: boolean) => [...s].map((c) => `%${c.charCodeAt(0).toString(16)[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');

/** URL shapes of one path: [label, path, same-target?]. Same-target variants decode to the very same route and parameters. */
function variants(t: Target): Array<[string, string, boolean]> {
  const p = t.path;
  const segs = p.slice(1).split('/');
  const out: Array<[string, string, boolean]> = [
    ['canonical', p, true],
    ['V1', p.replace('/v1/', '/V1/'), false],
    ['upper', p.toUpperCase(), false],
    ['Capitalized', `/${segs.map((s, i) => (i === 1 ? s.charAt(0).toUpperCase() + s.slice(1) : s)).join('/')}`, false],
    ['trailing slash', `${p}/`, false],
    ['double slash', p.replace(/\/([^/]*)$/, '//$1'), false],
    ['leading double slash', `/${p}`, false],
    ['encoded literal', p.replace(/connectors|deliveries|healthz|readyz|metrics|oauth/, (w) => `%${w.charCodeAt(0).toString(16)}${w.slice(1)}`), false],
    ['encoded literal upper hex', p.replace(/v1/, '%76%31'), false],
    ['encoded slash', segs.length > 1 ? p.replace(/\/([^/]*)$/, '%2F$1') : p, false],
    ['dot segment', p.replace(/\/([^/]*)$/, '/./$1'), false],
  ];
  const param = t.param ?? (t.route.startsWith('/v1/connectors/:id') ? t.connector : undefined);
  if (param) {
    const other = t.param ? ids.pendingA : t.connector === A ? B : A;
    out.push(
      ['param encoded lower hex', p.replace(`/${param}`, `/${hex(param, false)}`), true],
      ['param encoded upper hex', p.replace(`/${param}`, `/${hex(param, true)}`), true],
      ['param upper case', p.replace(`/${param}`, `/${param.toUpperCase()}`), false],
      ['param %2F traversal', p.replace(`/${param}`, `/${other}%2F..%2F${param}`), false],
      ['param dot-dot traversal', p.replace(`/${param}`, `/${other}/../${param}`), false],
    );
  }
  // A variant that leaves the path as it is (no such segment) is the canonical request again.
  return out.filter(([label, path], i) => label === 'canonical' || (path !== p && out.findIndex(([, q]) => q === path) === i));
}

interface Answer {
  status: number;
  type: string;
  code?: string;
  lane: string;
  allow?: string;
}

async function send(method: string, path: string, key: string | undefined, body: unknown, contentType: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    // node:http sends the path as given (fetch would normalise dot segments and case of escapes).
    const req = http.request(
      `${base}/`,
      {
        method,
        path,
        headers: {
          ...(key ? { Authorization: `Bearer ${key}` } : {}),
          ...(data ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = JSON.parse(text).code;
          } catch {
            /* not JSON (HEAD, metrics) */
          }
          resolve({
            status: res.statusCode!,
            type: String(res.headers['content-type'] ?? ''),
            code,
            lane: String(res.headers['x-lane'] ?? 'fast'),
            allow: res.headers.allow,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The exact requests the probe found succeeding with a key scoped to A (or an all-connector key). */
const FOUND = (): Array<{ key: KeyKind; method: string; path: string; body?: unknown }> => [
  { key: 'scopedA', method: 'POST', path: `/V1/connectors/${B}/operations/find_account`, body: op },
  { key: 'scopedA', method: 'POST', path: `/v1/Connectors/${B}/operations/find_account`, body: op },
  { key: 'scopedA', method: 'GET', path: '/V1/connectors' },
  { key: 'scopedA', method: 'GET', path: `/V1/CONNECTORS/${B}` },
  { key: 'scopedA', method: 'GET', path: `/V1/connectors/${B}/oauth/authorize` },
  { key: 'scopedA', method: 'POST', path: `/V1/connectors/${B}/sessions/x/events`, body: { type: 'Custom_Data', data: {} } },
  { key: 'scopedA', method: 'POST', path: `/V1/deliveries/${ids.pendingB}/cancel` },
  { key: 'scopedA', method: 'POST', path: `/v1/deliveries/${ids.pendingB}/cancel` },
  { key: 'scopedA', method: 'POST', path: `/v1/deliveries/${ids.deadB}/retry` },
  // (HEAD /v1/connectors was here when listing needed an admin key; it now lists the key's own connectors.)
  { key: 'scopedA', method: 'HEAD', path: `/v1/connectors/${B}` },
  { key: 'all', method: 'GET', path: `/v1/connectors/${B}/oauth/authorize/` },
  { key: 'all', method: 'POST', path: `/v1/deliveries/${ids.deadB}/retry/` },
];

describe('route table', () => {
  test('the express app serves exactly the routes of the table (so one table authorizes all)', () => {
    interface Layer {
      route?: { path: string; methods: Record<string, boolean> };
      handle?: { stack?: Layer[] };
    }
    const app = createApp(h.gw.gateway, { deliveries: h.gw.deliveries, store: h.gw.store, flows: h.gw.flows });
    const found: string[] = [];
    const visit = (stack: Layer[]) => {
      for (const l of stack) {
        if (l.route) for (const m of Object.keys(l.route.methods)) found.push(`${m.toUpperCase()} ${l.route.path}`);
        else if (Array.isArray(l.handle?.stack)) visit(l.handle.stack);
      }
    };
    visit((app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(found.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  test.each([
    ['POST', '/v1/connectors/a/operations/find_account', '/v1/connectors/:id/operations/:operation', { id: 'a', operation: 'find_account' }],
    ['POST', '/v1/connectors/%61%2Fb/operations/x', '/v1/connectors/:id/operations/:operation', { id: 'a/b', operation: 'x' }],
    ['HEAD', '/v1/connectors', '/v1/connectors', {}],
    ['GET', '/v1/connectors/', undefined, undefined],
    ['GET', '/V1/connectors', undefined, undefined],
    ['GET', '/v1//connectors', undefined, undefined],
    ['GET', '/v1/connectors/..', undefined, undefined],
    ['GET', '/v1/connectors/%2e%2e', undefined, undefined],
    ['GET', '/v1/connectors/%E0%A4%A', undefined, undefined],
    ['GET', `/v1/connectors/${'x'.repeat(300)}`, undefined, undefined],
    ['OPTIONS', '/v1/connectors', undefined, undefined],
    ['DELETE', '/v1/deliveries/x', undefined, undefined],
    ['GET', '/v1/connectors/a#/operations/b', undefined, undefined],
    ['GET', '/v1/connectors/a/sessions/call|7^{x}', '/v1/connectors/:id/sessions/:sessionId', { id: 'a', sessionId: 'call|7^{x}' }],
    ['GET', '/v1/connectors/a/sessions/caf\u00e9', undefined, undefined],
  ])('matchRoute(%s %s)', (method, path, route, params) => {
    const m = matchRoute(method, path);
    expect(m?.spec.path).toBe(route);
    if (params) expect(m?.params).toEqual(params);
  });
});

describe('no request outside the key scope succeeds', () => {
  test('the requests the probe found are refused', async () => {
    for (const f of FOUND()) {
      const a = await send(f.method, f.path, KEYS[f.key], f.body, 'application/json');
      expect({
        ...f,
        refused: [401, 403, 404].includes(a.status),
        code: f.method === 'HEAD' || ['unauthorized', 'forbidden', 'not_found'].includes(a.code ?? ''),
      }).toMatchObject({ refused: true, code: true });
    }
    expect((await h.gw.deliveries.get(ids.pendingB)).status).toBe('pending');
    expect((await h.gw.deliveries.get(ids.deadB)).status).toBe('dead');
  });

  test('every route × URL variant × method × key kind, through the fast lane and express', async () => {
    const crmBefore = h.crm.crm.requests.length;
    const failures: string[] = [];
    let sent = 0;
    const jobs: Array<() => Promise<void>> = [];
    for (const t of targets()) {
      for (const [label, path, sameTarget] of variants(t)) {
        const methods = [t.method, 'HEAD', 'OPTIONS'] as const;
        for (const method of methods) {
          for (const key of Object.keys(KEYS) as KeyKind[]) {
            // Operations with application/json go to the fast lane; another JSON type to express.
            const types =
              t.method === 'POST' && method === 'POST' && t.route.includes('operations')
                ? ['application/json', 'application/vnd.test+json']
                : ['application/json'];
            for (const type of types) {
              const mayWork = sameTarget && (method === t.method || (method === 'HEAD' && t.method === 'GET')) && allowed(key, t);
              // A delivery an allowed key would really retry or cancel is left alone (it is the next request's target).
              if (mayWork && t.route.includes('/v1/deliveries/:id/')) continue;
              jobs.push(async () => {
                const url = t.query ? `${path}?${t.query}` : path;
                const a = await send(method, url, KEYS[key], method === 'POST' || method === 'PUT' ? t.body : undefined, type);
                sent++;
                const where = `${method} ${url} [${label}] key=${key} type=${type} lane=${a.lane} → ${a.status} ${a.code ?? ''}`;
                if (mayWork) return;
                // Anything else fails with a 4xx problem. Keys that hold no right on this route at
                // all are stopped before any handler (401/403/404 from the route check); admin and
                // all-connector keys may reach a handler on a variant that names another
                // connector or delivery, which then does not exist (404).
                if (a.status < 400 || a.status >= 500) failures.push(`not refused: ${where}`);
                else if (method !== 'HEAD' && !/^application\/problem\+json/.test(a.type)) failures.push(`not problem+json: ${where}`);
                // (A public route's handler answers anyone: a webhook authenticates by its signature.)
                else if (
                  method !== 'HEAD' &&
                  (key === 'none' || key === 'bad' || key === 'scopedA') &&
                  !['unauthorized', 'forbidden', 'not_found', 'method_not_allowed'].includes(a.code ?? '') &&
                  !isPublic(t)
                )
                  failures.push(`a handler answered: ${where}`);
                // A method the route does not take is refused as such, whoever asks.
                if (method === 'OPTIONS' && sameTarget && a.status !== 405) failures.push(`not 405: ${where}`);
                if (type === 'application/json' && a.lane === 'express' && method === 'POST' && label === 'canonical' && t.route.includes('operations'))
                  failures.push(`fast lane not taken: ${where}`);
              });
            }
          }
        }
      }
    }
    for (let i = 0; i < jobs.length; i += 16) await Promise.all(jobs.slice(i, i + 16).map((j) => j()));
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(2000);
    // Only allowed operations on A reached the CRM (B cannot reach it at all).
    expect(h.crm.crm.requests.slice(crmBefore).every((r) => !JSON.stringify(r).includes('Pending B'))).toBe(true);
    expect((await h.gw.deliveries.get(ids.pendingB)).status).toBe('pending');
    expect((await h.gw.deliveries.get(ids.deadB)).status).toBe('dead');
  }, 120_000);

  test('in scope works: a key scoped to A runs A and reads its deliveries; replay and cancel need an admin key', async () => {
    expect((await send('POST', `/v1/connectors/${A}/operations/find_account`, KEYS.scopedA, op, 'application/json')).status).toBe(200);
    expect((await send('POST', `/v1/connectors/%7A${A.slice(1)}/operations/find_account`, KEYS.scopedA, op, 'application/json')).status).toBe(200);
    expect((await send('GET', `/v1/deliveries/${ids.pendingA}`, KEYS.scopedA, undefined, '')).status).toBe(200);
    expect((await send('GET', `/v1/deliveries?connector=${A}`, KEYS.scopedA, undefined, '')).status).toBe(200);
    expect((await send('HEAD', `/v1/connectors/${A}/sessions/none`, KEYS.scopedA, undefined, '')).status).toBeLessThan(500);
    expect((await send('POST', `/v1/deliveries/${ids.pendingA}/cancel`, KEYS.scopedA, undefined, '')).status).toBe(403);
    expect((await send('POST', `/v1/deliveries/${ids.deadB}/retry`, KEYS.all, undefined, '')).status).toBe(403);
    expect((await send('POST', `/v1/deliveries/${ids.pendingA}/cancel`, KEYS.admin, undefined, '')).status).toBe(200);
    expect((await send('POST', `/v1/deliveries/${ids.deadB}/retry`, KEYS.admin, undefined, '')).status).toBe(200);
    expect((await send('GET', '/v1/connectors', KEYS.admin, undefined, '')).status).toBe(200);
  });
});

describe('a wrong method on a known route is 405 with Allow; an unknown path stays 404', () => {
  test.each([
    // [method, path, key, content type, status, Allow]
    ['GET', `/v1/connectors/${A}/operations/find_account`, 'none', '', 405, 'POST'],
    ['PUT', `/v1/connectors/${A}/operations/find_account`, 'admin', 'application/json', 405, 'POST'],
    ['DELETE', `/v1/connectors/${A}/operations/find_account`, 'scopedA', '', 405, 'POST'],
    ['HEAD', `/v1/connectors/${A}/operations/find_account`, 'admin', '', 405, 'POST'],
    ['POST', `/v1/connectors/${A}/links`, 'admin', 'application/json', 405, 'GET, HEAD'],
    ['POST', '/healthz', 'none', 'application/json', 405, 'GET, HEAD'],
    ['OPTIONS', '/v1/connectors', 'bad', '', 405, 'GET, HEAD'],
    ['DELETE', '/v1/deliveries/x', 'none', '', 405, 'GET, HEAD'],
    ['GET', '/v1/deliveries/x/retry', 'admin', '', 405, 'POST'],
    ['POST', '/openapi.yaml', 'none', '', 405, 'GET, HEAD'],
    ['GET', '/v1/connectors/a/nothing', 'admin', '', 404, undefined],
    ['DELETE', '/v2/nothing', 'admin', '', 404, undefined],
    ['GET', '/v1/connectors/', 'admin', '', 404, undefined],
  ] as const)('%s %s (key %s, content type "%s") → %s', async (method, path, key, type, status, allow) => {
    const a = await send(method, path, KEYS[key as KeyKind], type ? { variables: {} } : undefined, type || 'application/json');
    expect({ status: a.status, allow: a.allow }).toEqual({ status, allow });
    if (method !== 'HEAD') {
      expect(a.type).toMatch(/^application\/problem\+json/);
      expect(a.code).toBe(status === 405 ? 'method_not_allowed' : 'not_found');
    }
  });

  test('the fast lane passes a wrong method on the operations route on, and the answer is the same 405', async () => {
    const direct = await send('GET', `/v1/connectors/${A}/operations/find_account`, KEYS.admin, undefined, '');
    expect(direct).toMatchObject({ status: 405, allow: 'POST', code: 'method_not_allowed', lane: 'express' });
  });

  test('allowedMethods: the methods of the table for a path, none for an unknown one', () => {
    expect(allowedMethods('/v1/connectors/x/operations/y')).toEqual(['POST']);
    expect(allowedMethods('/v1/deliveries/d-1')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods('/V1/connectors')).toEqual([]);
    expect(allowedMethods('/v1/connectors/..')).toEqual([]);
  });
});
