/**
 * openapi.yaml is the contract of src/api/app.ts. This suite fails when they drift:
 * - routes: the express app's (method, path) pairs equal the spec's, both ways;
 * - enums and lists in the spec equal the code's (error codes, operations, phone formats,
 *   lookup variables, variable names in the description, per-status error codes);
 * - responses: real requests over loopback (a real sample CRM, a real `serve()` gateway with
 *   its SQLite delivery store and worker, an in-process app with extra connectors and no
 *   durable delivery, one whose store is down, and one with session flows whose session
 *   saves always lose the race) are validated with ajv against the schema the spec
 *   documents for that path, method, status and content type;
 * - session events: every JSON event the suite posts is checked against
 *   schemas/session-event.schema.json (accepted ones valid, refused ones not), whose event
 *   types and file kinds equal the code's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import { serve, type RunningGateway } from '../../src/cli/serve';
import { DeliveryService } from '../../src/delivery/service';
import type { DeliveryStore } from '../../src/delivery/store';
import { FLOW_STEPS } from '../../src/delivery/types';
import { FILE_KINDS, OPERATIONS } from '../../src/config/types';
import { FlowEngine } from '../../src/flows/engine';
import { GATEWAY_EVENTS, PLATFORM_EVENTS, lenientJson } from '../../src/flows/events';
import { ERROR_CODES, PROBLEM_BASE, type ErrorCode } from '../../src/errors';
import { Gateway } from '../../src/gateway';
import { PHONE_FORMATS } from '../../src/phone';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { FILE_VARIABLES, FLOW_VARIABLES, LOOKUP_VARIABLES, SESSION_VARIABLES } from '../../src/template/variables';
import { silentLogger } from '../../src/util/logger';
import { signZoomWebhook, startSampleZoom } from '../../src/sample-platform/zoom';
import {
  HTTP_METHODS,
  ROOT,
  ResponseValidator,
  createOpenApiAjv,
  documentedResponse,
  expressToOpenApiPath,
  fileSchema,
  formatAjvErrors,
  loadOpenApi,
  localRefs,
  readSchemaFile,
  resolvePointer,
  type Json,
  type JsonObject,
} from '../helpers/openapi';
import { ensureConsoleBuilt } from '../helpers/console-build';
import { OAUTH_YAML } from '../helpers/harness';

const doc = loadOpenApi();
const ajv = createOpenApiAjv(doc);
const validator = new ResponseValidator(doc, ajv);
const schemas = doc.components.schemas as JsonObject;

function obj(x: Json | undefined): JsonObject {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`expected an object, got ${JSON.stringify(x)}`);
  return x;
}
function deref(x: Json | undefined): JsonObject {
  let o = obj(x);
  while (typeof o.$ref === 'string' && o.$ref.startsWith('#')) o = obj(resolvePointer(doc, o.$ref));
  return o;
}
function specOperations(): Array<{ method: string; path: string; op: JsonObject }> {
  const out: Array<{ method: string; path: string; op: JsonObject }> = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of HTTP_METHODS) if (item[m]) out.push({ method: m.toUpperCase(), path: p, op: obj(item[m]) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: sample CRM, the real gateway (serve), and an in-process app with extra connectors.
// ---------------------------------------------------------------------------------------------

const ZENDESK_YAML = path.join(ROOT, 'config/zendesk.yaml');
let tmp: string;
let crm: RunningSampleCrm;
let gw: RunningGateway;
let extraGateway: Gateway;
let extraApp: Express;
let extraServer: Server;
let extraUrl: string;
let brokenOnlyServer: Server;
let brokenOnlyUrl: string;
/** A gateway whose delivery store refuses writes and pings (a database that went away). */
let storeDownServer: Server;
let storeDownUrl: string;

const MINI_YAML = `
id: mini
name: Mini (link-only uploads)
base_url: \${env:ZENDESK_URL}
allow_private_network: [127.0.0.1]
auth: { type: basic, username: agent@example.com/token, password: sample-token }
settings: { skip_account_creation: true, skip_record_creation: true, send_files_to_crm: false }
endpoints:
  find_account:
    method: GET
    url: /api/v2/search.json
    headers: { X-Agent: "{AGENT_EMAIL}" }
    params: { query: "type:user phone:{PHONE_NUMBER}" }
    response_data_location: results
  find_record:
    method: GET
    url: /api/v2/search.json
    params: { query: "type:ticket requester_id:{ACCOUNT_ID}" }
    response_data_location: results
  add_comment:
    method: PUT
    url: /api/v2/tickets/{RECORD_ID}.json
    body_format: container_map
    container_name: ticket
    params: { comment: { body: "{COMMENT_BODY}", public: false } }
    response_data_location: ticket
  upload_file:
    method: POST
    url: /api/v2/uploads.json?filename={FILE_NAME}
    upload: { file_kinds: [call_recording], comment_template: "{{FILE_KIND}}: {{ATTACHMENT_URL}}" }
    response_data_location: upload
`;

const BROKEN_YAML = `
id: broken
auth: { type: none }
endpoints:
  find_account: { method: GET, url: "/x/{NOPE_VAR}" }
`;

async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-drift-'));
  crm = await startSampleCrm({ port: 0 });
  const env = { ...process.env, ZENDESK_URL: crm.url, DATA_DIR: tmp };
  gw = await serve({ port: 0, configFiles: [ZENDESK_YAML], env, dataDir: tmp, logger: silentLogger, apiKeys: null });

  const files = { mini: MINI_YAML, oauthy: OAUTH_YAML, broken: BROKEN_YAML };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(tmp, `${name}.yaml`), text);
  extraGateway = new Gateway({ configFiles: [ZENDESK_YAML, ...Object.keys(files).map((n) => path.join(tmp, `${n}.yaml`))], env: { ZENDESK_URL: crm.url } });
  extraGateway.load();
  extraApp = createApp(extraGateway, { jsonLimit: '2kb', maxUploadBytes: 16 });
  ({ server: extraServer, url: extraUrl } = await listen(extraApp));
  extraGateway.publicUrl = extraUrl; // the OAuth redirect URL comes back here

  const brokenOnly = new Gateway({ configFiles: [path.join(tmp, 'broken.yaml')], env: {} });
  brokenOnly.load();
  ({ server: brokenOnlyServer, url: brokenOnlyUrl } = await listen(createApp(brokenOnly)));

  const downGateway = new Gateway({ configFiles: [ZENDESK_YAML], env: { ZENDESK_URL: crm.url } });
  downGateway.load();
  const refuse = () => Promise.reject(new Error('connection refused (test: store down)'));
  const downStore = new Proxy(gw.store, {
    get: (target, key, receiver) => (key === 'enqueue' || key === 'ping' ? refuse : Reflect.get(target, key, receiver)),
  }) as DeliveryStore;
  const downApp = createApp(downGateway, { deliveries: new DeliveryService(downStore, downGateway), store: downStore });
  ({ server: storeDownServer, url: storeDownUrl } = await listen(downApp));
});

afterAll(async () => {
  await Promise.all([close(extraServer), close(brokenOnlyServer), close(storeDownServer)]);
  await Promise.all([gw?.close(), crm?.close()]);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Calling the API and checking each answer against the spec.
// ---------------------------------------------------------------------------------------------

interface Exchange {
  status: number;
  headers: Headers;
  /** Already validated against the spec; `any` keeps the assertions short. */
  body: any;
}

/** "METHOD path status" of every checked answer, to prove each documented route was exercised. */
const exercised = new Set<string>();

const problemMembers = new Set(Object.keys(obj(deref(schemas.Problem).properties)));

/**
 * Sends a request and checks the answer against the response the spec documents for
 * (apiPath, method, status): documented at all, its content type, its schema, its headers.
 */
async function call(base: string, method: string, apiPath: string, url: string, init: RequestInit = {}): Promise<Exchange> {
  const res = await fetch(base + url, { method, redirect: 'manual', ...init });
  const text = await res.text();
  const where = `${method} ${url} → ${res.status}: ${text.slice(0, 600)}`;
  const documented = documentedResponse(doc, apiPath, method, res.status);
  if (!documented) throw new Error(`undocumented response ${where}`);
  exercised.add(`${method} ${apiPath} ${res.status}`);

  const headers = obj(documented.response.headers ?? {});
  for (const [name, h] of Object.entries(headers)) {
    if (deref(h).required === true && !res.headers.has(name)) throw new Error(`missing documented header ${name} in ${where}`);
  }
  expect(res.headers.get('x-request-id')).toBeTruthy();

  const content = documented.response.content as JsonObject | undefined;
  if (!content) {
    if (/^\s*[[{]/.test(text)) throw new Error(`a JSON body where the spec documents none: ${where}`);
    return { status: res.status, headers: res.headers, body: undefined };
  }
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  const body = (mediaType.startsWith('text/') || mediaType === 'application/yaml' || mediaType === 'application/xml' ? text : JSON.parse(text)) as unknown;
  const { errors, documented: hasType } = validator.validate(documented, mediaType, body);
  if (!hasType) throw new Error(`content type ${mediaType} not documented for ${where}`);
  if (errors.length) throw new Error(`response does not match openapi.yaml: ${where}\n${formatAjvErrors(errors)}`);
  if (mediaType === 'application/problem+json') {
    checkProblem(body as Record<string, unknown>, res.status, where);
    // Documented as "crm_retry_later only (then always)": a conditional header the generic check cannot express.
    if ((body as { code?: string }).code === 'crm_retry_later' && !res.headers.has('retry-after'))
      throw new Error(`crm_retry_later without Retry-After: ${where}`);
  }
  return { status: res.status, headers: res.headers, body };
}

function checkProblem(p: Record<string, unknown>, status: number, where: string): void {
  const extra = Object.keys(p).filter((k) => !problemMembers.has(k));
  if (extra.length) throw new Error(`problem members not documented in components.schemas.Problem: ${extra.join(', ')} (${where})`);
  const code = p.code as ErrorCode;
  expect(ERROR_CODES[code]).toBe(status);
  expect(p.status).toBe(status);
  expect(p.type).toBe(PROBLEM_BASE + code.replace(/_/g, '-'));
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const OPS = '/v1/connectors/{id}/operations/{operation}';
const op = (base: string, connector: string, operation: string, init: RequestInit, query = '') =>
  call(base, 'POST', OPS, `/v1/connectors/${connector}/operations/${operation}${query}`, init);

const DELIVERIES = '/v1/deliveries';
const DELIVERY = '/v1/deliveries/{id}';
const FINAL = new Set(['delivered', 'dead', 'cancelled']);
const getDelivery = (id: string) => call(gw.url, 'GET', DELIVERY, `/v1/deliveries/${encodeURIComponent(id)}`);
const control = (id: string, action: 'retry' | 'cancel' | 'resolve', body?: unknown) =>
  call(gw.url, 'POST', `${DELIVERY}/${action}`, `/v1/deliveries/${encodeURIComponent(id)}/${action}`, body === undefined ? undefined : json(body));

/**
 * Polls GET /v1/deliveries/{id} (each answer checked against the spec) until `done` (default:
 * a final status); fails with the last state seen after `timeoutMs`.
 */
async function waitForDelivery(id: string, done: (d: any) => boolean = (d) => FINAL.has(d.status), timeoutMs = 8000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = (await getDelivery(id)).body;
    if (done(d)) return d;
    if (Date.now() >= deadline) throw new Error(`delivery ${id} did not reach the awaited state within ${timeoutMs} ms; last: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A durable answer: the Location header names the delivery in the body. */
function expectLocation(x: Exchange): void {
  expect(x.headers.get('location')).toBe(`/v1/deliveries/${x.body.id}`);
}

const EVENTS = '/v1/connectors/{id}/sessions/{sessionId}/events';
const SESSION = '/v1/connectors/{id}/sessions/{sessionId}';
const ZOOM_WEBHOOK = '/v1/connectors/{id}/webhooks/zoom';
const EVENT_SCHEMA = './schemas/session-event.schema.json';
const FLOW_POSTS = '/v1/connectors/{id}/flow-posts/{name}';

/** Every JSON event body posted (a repaired one as repaired), with what the event schema should say of it. */
const postedEvents: Array<{ body: unknown; schemaValid: boolean; status: number; where: string }> = [];

/**
 * Posts one session event: an object as JSON, a string as it is. `schemaValid: false` marks a
 * body the event schema must refuse (the gateway refuses it for what it holds).
 */
async function postEvent(
  base: string,
  connector: string,
  sessionId: string,
  body: unknown,
  o: { query?: string; headers?: Record<string, string>; schemaValid?: boolean } = {},
): Promise<Exchange> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const url = `/v1/connectors/${connector}/sessions/${encodeURIComponent(sessionId)}/events${o.query ?? ''}`;
  const x = await call(base, 'POST', EVENTS, url, { headers: { 'content-type': 'application/json', ...o.headers }, body: text });
  let parsed: unknown;
  try {
    parsed = lenientJson(text);
  } catch {
    return x; // not JSON even after repair: nothing for the schema to say
  }
  postedEvents.push({ body: parsed, schemaValid: o.schemaValid ?? true, status: x.status, where: `POST ${url} → ${x.status}` });
  return x;
}

const getSession = (base: string, connector: string, sessionId: string) =>
  call(base, 'GET', SESSION, `/v1/connectors/${connector}/sessions/${encodeURIComponent(sessionId)}`);

/** Polls the session view (each answer checked against the spec) until every step is final and nothing is held. */
async function waitForSession(connector: string, sessionId: string, timeoutMs = 8000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = (await getSession(gw.url, connector, sessionId)).body;
    if (v.held.length === 0 && v.steps.length > 0 && v.steps.every((s: { status: string }) => FINAL.has(s.status))) {
      // The console's session list has it too.
      const list = await call(gw.url, 'GET', '/v1/connectors/{id}/sessions', `/v1/connectors/${connector}/sessions?limit=100`);
      expect(list.body.sessions.map((x: { id: string }) => x.id)).toContain(sessionId);
      return v;
    }
    if (Date.now() >= deadline) throw new Error(`session ${sessionId} did not settle within ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------------------------

describe('openapi.yaml: routes match src/api/app.ts', () => {
  interface Layer {
    route?: { path: string | string[]; methods: Record<string, boolean> };
    rawPath?: unknown;
    handle?: { stack?: Layer[] };
  }
  /** (method, path) of every route, including those of routers mounted with app.use. */
  function appRoutes(app: Express): string[] {
    const out: string[] = [];
    const visit = (stack: Layer[], prefix: string) => {
      for (const layer of stack) {
        if (layer.route) {
          const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
          for (const p of paths) {
            for (const [m, on] of Object.entries(layer.route.methods))
              if (on && m !== '_all') out.push(`${m.toUpperCase()} ${expressToOpenApiPath(prefix + p)}`);
          }
        } else if (Array.isArray(layer.handle?.stack)) {
          if (typeof layer.rawPath !== 'string') throw new Error(`router mounted at a non-string path: ${String(layer.rawPath)}`);
          visit(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : layer.rawPath));
        }
      }
    };
    visit((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
    return out.sort();
  }

  it('every express route is documented and every documented operation is a route', () => {
    const gateway = new Gateway({ configFiles: [ZENDESK_YAML], env: { ZENDESK_URL: 'http://127.0.0.1:9' } });
    gateway.load();
    // As `serve()` builds it: with durable delivery (the /v1/deliveries routes) and session flows.
    const routes = appRoutes(createApp(gateway, { deliveries: gw.deliveries, store: gw.store, flows: gw.flows }));
    expect(routes.length).toBeGreaterThan(0);
    const documented = specOperations()
      .map((o) => `${o.method} ${o.path}`)
      .sort();
    expect({ undocumented: routes.filter((r) => !documented.includes(r)), notImplemented: documented.filter((d) => !routes.includes(d)) }).toEqual({
      undocumented: [],
      notImplemented: [],
    });
    const isDelivery = (r: string) => r.split(' ')[1].startsWith('/v1/deliveries');
    // Platform sources feed session flows: they come and go with them.
    const isSession = (r: string) => /^\/v1\/connectors\/\{id\}\/(sessions|webhooks)(\/|$)/.test(r.split(' ')[1]) || r.split(' ')[1] === FLOW_POSTS;
    // Without session flows exactly the session routes are missing; without durable delivery
    // (and so without flows) the /v1/deliveries routes too (as documented).
    const withoutFlows = appRoutes(createApp(gateway, { deliveries: gw.deliveries, store: gw.store }));
    expect(routes.filter((r) => !withoutFlows.includes(r))).toEqual(routes.filter(isSession));
    const withoutDurable = appRoutes(createApp(gateway));
    expect(routes.filter((r) => !withoutDurable.includes(r))).toEqual(routes.filter((r) => isDelivery(r) || isSession(r)));
    expect(routes.filter(isDelivery)).toHaveLength(5);
    expect(routes.filter(isSession)).toEqual([
      'GET /v1/connectors/{id}/sessions',
      `GET ${SESSION}`,
      `POST ${FLOW_POSTS}`,
      `POST ${EVENTS}`,
      `POST ${ZOOM_WEBHOOK}`,
      `POST ${ZOOM_WEBHOOK}/reconcile`,
    ]);
  });

  it('path templates declare exactly their {parameters} as required path parameters', () => {
    for (const { method, path: p, op: o } of specOperations()) {
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const params = ((o.parameters ?? []) as Json[]).map(deref).filter((x) => x.in === 'path');
      expect({ at: `${method} ${p}`, params: params.map((x) => x.name).sort() }).toEqual({ at: `${method} ${p}`, params: inPath });
      for (const x of params) expect(x.required).toBe(true);
    }
  });

  it('every $ref resolves (inside the document and to schema files)', () => {
    for (const ref of localRefs(doc)) expect({ ref, ok: resolvePointer(doc, ref) !== undefined }).toEqual({ ref, ok: true });
    const requestSchema = deref(obj(obj(obj(obj(doc.paths[OPS].post).requestBody).content)['application/json']).schema);
    expect(requestSchema.$ref).toBe('./schemas/operation-request.schema.json');
    expect(() => validator.schemaAt(['paths', OPS, 'post', 'requestBody', 'content', 'application/json', 'schema'])).not.toThrow();
    const eventSchema = deref(obj(obj(obj(obj(doc.paths[EVENTS].post).requestBody).content)['application/json']).schema);
    expect(eventSchema.$ref).toBe(EVENT_SCHEMA);
    expect(() => validator.schemaAt(['paths', EVENTS, 'post', 'requestBody', 'content', 'application/json', 'schema'])).not.toThrow();
  });
});

describe('openapi.yaml: enums and lists match the code', () => {
  it('ErrorCode is exactly the keys of ERROR_CODES', () => {
    expect((schemas.ErrorCode as JsonObject).enum).toEqual(Object.keys(ERROR_CODES));
  });

  it('each documented error response lists codes whose status is that response status', () => {
    const constraint = (schema: JsonObject): { status?: number; codes?: string[] } => {
      const s = deref(schema);
      const out: { status?: number; codes?: string[] } = {};
      for (const part of [s, ...((s.allOf ?? []) as Json[]).map(deref)]) {
        const props = part.properties as JsonObject | undefined;
        const st = props && (props.status as JsonObject | undefined);
        const code = props && (props.code as JsonObject | undefined);
        if (st?.const !== undefined) out.status = st.const as number;
        if (code?.const !== undefined) out.codes = [code.const as string];
        if (code?.enum !== undefined) out.codes = code.enum as string[];
      }
      return out;
    };
    let checked = 0;
    for (const { method, path: p, op: o } of specOperations()) {
      for (const [key, r] of Object.entries(obj(o.responses))) {
        const problem = obj(deref(r).content ?? {})['application/problem+json'];
        if (!problem) continue;
        const c = constraint(obj(obj(problem).schema));
        const at = `${method} ${p} ${key}`;
        if (key === 'default') {
          expect({ at, c }).toEqual({ at, c: {} });
          continue;
        }
        expect({ at, status: c.status }).toEqual({ at, status: Number(key) });
        expect({ at, hasCodes: Array.isArray(c.codes) && c.codes.length > 0 }).toEqual({ at, hasCodes: true });
        for (const code of c.codes!) expect({ at, code, status: ERROR_CODES[code as ErrorCode] }).toEqual({ at, code, status: Number(key) });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('OperationName, PhoneFormat and the lookup variables match the code', () => {
    expect((schemas.OperationName as JsonObject).enum).toEqual([...OPERATIONS]);
    expect((schemas.PhoneFormat as JsonObject).enum).toEqual([...PHONE_FORMATS]);
    const lookup = obj(deref((doc.components.parameters as JsonObject).LookupVariables).schema);
    expect(obj(lookup.propertyNames).enum).toEqual([...LOOKUP_VARIABLES]);
  });

  it('the description names every variable and file kind, and info.version is the package version', () => {
    const info = obj(doc.info);
    const description = String(info.description);
    const words = new Set(description.split(/[^\w]+/));
    const missing = [
      ...SESSION_VARIABLES,
      ...FILE_VARIABLES,
      ...FLOW_VARIABLES,
      ...LOOKUP_VARIABLES,
      ...FILE_KINDS,
      ...OPERATIONS,
      ...PHONE_FORMATS,
      ...GATEWAY_EVENTS,
    ].filter((v) => !words.has(v));
    expect(missing).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(info.version).toBe(pkg.version);
  });

  it("the session event schema: event types, file kinds and delivery steps are the code's", () => {
    const defs = obj(readSchemaFile(EVENT_SCHEMA).$defs);
    expect(obj(defs.EventType).enum).toEqual([...PLATFORM_EVENTS, ...GATEWAY_EVENTS]);
    expect(obj(defs.FileKind).enum).toEqual([...FILE_KINDS]);
    // The ?type= parameter and the session view's events[].type are that same list.
    expect(obj(deref((doc.components.parameters as JsonObject).EventType).schema).$ref).toBe(`${EVENT_SCHEMA}#/$defs/EventType`);
    const viewEvents = obj(obj(obj(schemas.SessionView).properties).events);
    expect(obj(obj(obj(viewEvents.items).properties).type).$ref).toBe(`${EVENT_SCHEMA}#/$defs/EventType`);
    const deliveryOperations = (obj(schemas.DeliveryOperation).anyOf as Json[]).flatMap((x) => deref(x).enum as string[]);
    expect(deliveryOperations).toEqual([...OPERATIONS, ...FLOW_STEPS]);
  });

  it('the documented event schema accepts what the gateway accepts and refuses the rest', () => {
    const v = validator.schemaAt(['paths', EVENTS, 'post', 'requestBody', 'content', 'application/json', 'schema']);
    // Liberal: ids as strings, unknown members, a bare body (its type comes as ?type=).
    expect(v({ type: 'New_Call', data: { call_id: '1001', agent_id: 7, something_new: { x: 1 } }, extra: true })).toBe(true);
    expect(v({ agent_id: 7, call_id: 1001 })).toBe(true);
    expect(
      v({
        type: 'Session_Started',
        event_id: 'e1',
        timestamp: 1767323045000,
        data: { end_user: { name: 'A', phone: '+1 222 333 4444', cuid: 'c-1' }, direction: 'outbound' },
      }),
    ).toBe(true);
    expect(v({ type: 'Survey_Completed', data: { answers: [{ question: 'Helpful?', answer: 'yes' }] } })).toBe(true);
    expect(v({ type: 'File_Available', data: { kind: 'photo', content_base64: 'aGk=' } })).toBe(true);
    expect(v({ type: 'File_Available', data: { kind: 'photo', url: 'https://files.example.com/p.png', headers: { Authorization: 'Bearer x' } } })).toBe(true);
    // Strict where the gateway is: the type, and what File_Available needs.
    expect(v({ type: 'Call_Teleported', data: {} })).toBe(false);
    expect(v({ type: 'File_Available', data: { kind: 'hologram', url: 'https://files.example.com/p' } })).toBe(false);
    expect(v({ type: 'File_Available', data: { kind: 'photo' } })).toBe(false);
    expect(v({ type: 'File_Available', data: { url: 'https://files.example.com/p' } })).toBe(false);
    expect(v({ type: 'File_Available' })).toBe(false);
    expect(v([{ type: 'New_Call' }])).toBe(false);
  });

  it('the documented JSON request schema accepts what the app accepts and refuses the rest', () => {
    const v = validator.schemaAt(['paths', OPS, 'post', 'requestBody', 'content', 'application/json', 'schema']);
    expect(v({})).toBe(true);
    expect(v({ variables: { PHONE_NUMBER: '+1 222 333 4444', ACCOUNT_ID: 7, X: null, Y: true } })).toBe(true);
    expect(v({ variables: { A: { nested: 1 } } })).toBe(false);
    expect(v({ vars: {} })).toBe(false);
    expect(v({ variables: {}, depends_on: '0b0c7f0e-5f7e-4d8f-9f51-2a4e1b1c9d3a', ordering_key: 'call-7' })).toBe(true);
    expect(v({ depends_on: '' })).toBe(false);
    expect(v({ ordering_key: 'k'.repeat(501) })).toBe(false);
    expect(v({ depends_on: 7 })).toBe(false);
  });
});

describe('openapi.yaml: real responses match the documented schemas', () => {
  const ids: Record<string, string | number> = {};

  it('GET /metrics: Prometheus text with the CRM call histogram', async () => {
    const m = await call(gw.url, 'GET', '/metrics', '/metrics');
    expect(m.status).toBe(200);
    expect(String(m.body)).toContain('crm_gateway_crm_call_duration_seconds');
  });

  it('GET /openapi.yaml is this file; GET /docs a self-contained page of it', async () => {
    const y = await call(gw.url, 'GET', '/openapi.yaml', '/openapi.yaml');
    expect(y.body).toBe(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8'));
    const d = await call(gw.url, 'GET', '/docs', '/docs');
    expect(String(d.body)).toContain('<code>/v1/connectors/{id}/operations/{operation}</code>');
    expect(d.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('GET /console and its files: the built page, with its strict CSP', async () => {
    ensureConsoleBuilt();
    const page = await call(gw.url, 'GET', '/console', '/console');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const script = /src="\/console\/([^"]+\.js)"/.exec(String(page.body))![1];
    const asset = await call(gw.url, 'GET', '/console/{asset}', `/console/${script}`);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('GET /healthz and /readyz', async () => {
    const h = await call(gw.url, 'GET', '/healthz', '/healthz', { headers: { 'X-Request-Id': 'drift-test-1' } });
    expect(h.headers.get('x-request-id')).toBe('drift-test-1');
    expect((await call(gw.url, 'GET', '/readyz', '/readyz')).body).toEqual({
      status: 'ready',
      connectors: { valid: 1, invalid: 0 },
      store: { kind: 'sqlite', reachable: true },
    });
    // No delivery store (an app built without one): no `store` member.
    const notReady = await call(brokenOnlyUrl, 'GET', '/readyz', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'not_ready', reason: 'no valid connector', connectors: { valid: 0, invalid: 1 } });
    const storeDown = await call(storeDownUrl, 'GET', '/readyz', '/readyz');
    expect(storeDown.status).toBe(503);
    expect(storeDown.body).toEqual({
      status: 'not_ready',
      reason: expect.stringMatching(/^database unreachable: /),
      connectors: { valid: 1, invalid: 0 },
      store: { kind: 'sqlite', reachable: false },
    });
  });

  it('GET /v1/connectors and /v1/connectors/{id} (valid, invalid, unknown)', async () => {
    const list = await call(extraUrl, 'GET', '/v1/connectors', '/v1/connectors');
    expect(list.body.connectors.map((c: { id: string; status: string }) => `${c.id}:${c.status}`)).toEqual([
      'zendesk:valid',
      'mini:valid',
      'oauthy:valid',
      'broken:invalid',
    ]);
    const z = await call(gw.url, 'GET', '/v1/connectors/{id}', '/v1/connectors/zendesk');
    expect(JSON.stringify(z.body)).not.toContain('sample-token');
    const o = await call(extraUrl, 'GET', '/v1/connectors/{id}', '/v1/connectors/oauthy');
    expect(o.body.auth).toEqual({ type: 'oauth2', grant: 'authorization_code', state: 'not_connected' });
    expect(JSON.stringify(o.body)).not.toContain('sample-secret');
    const b = await call(extraUrl, 'GET', '/v1/connectors/{id}', '/v1/connectors/broken');
    expect(b.body.errors.length).toBeGreaterThan(0);
    expect((await call(gw.url, 'GET', '/v1/connectors/{id}', '/v1/connectors/nope')).body.code).toBe('connector_not_found');
  });

  it('GET /v1/connectors/{id}/links', async () => {
    const L = '/v1/connectors/{id}/links';
    const ok = await call(gw.url, 'GET', L, '/v1/connectors/zendesk/links?ACCOUNT_ID=42&CUSTOMER_PHONE_NUMBER=(222)%20333-4444');
    expect(ok.body.links.account).toBe(`${crm.url}/agent/users/42`);
    expect(ok.body.links.record).toBeNull();
    expect((await call(gw.url, 'GET', L, '/v1/connectors/zendesk/links?FOO=1')).body.code).toBe('validation_failed');
    expect((await call(gw.url, 'GET', L, '/v1/connectors/zendesk/links?ANI=abc')).body.code).toBe('invalid_phone_number');
    expect((await call(gw.url, 'GET', L, '/v1/connectors/nope/links')).body.code).toBe('connector_not_found');
    expect((await call(extraUrl, 'GET', L, '/v1/connectors/broken/links')).body.code).toBe('config_invalid');
  });

  it('operations: ok, not_found, find_account_by_id fallback', async () => {
    const created = await op(
      gw.url,
      'zendesk',
      'create_account',
      json({ variables: { NAME: 'Kim Lee', PHONE_NUMBER: '(222) 333-4444', EMAIL: 'kim@example.com' } }),
    );
    expect(created.body.outcome).toBe('ok');
    ids.ACCOUNT_ID = created.body.ids.ACCOUNT_ID;
    const found = await op(gw.url, 'zendesk', 'find_account', json({ variables: { PHONE_NUMBER: '+1 222 333 4444' } }));
    expect(found.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: ids.ACCOUNT_ID }, matches: 1 });
    const none = await op(gw.url, 'zendesk', 'find_account', json({ variables: { PHONE_NUMBER: '+1 222 333 9999' } }));
    expect(none.body).toMatchObject({ outcome: 'not_found', ids: {} });
    const fb = await op(gw.url, 'zendesk', 'find_account_by_id', json({ variables: { ACCOUNT_ID: 987654, PHONE_NUMBER: '2223334444' } }));
    expect(fb.body).toMatchObject({ outcome: 'ok', fallback: 'find_account' });
    expect(fb.body.attempts).toHaveLength(2);
    const ticket = await op(gw.url, 'zendesk', 'create_record', json({ variables: { ACCOUNT_ID: ids.ACCOUNT_ID, PHONE_NUMBER: '2223334444' } }));
    ids.RECORD_ID = ticket.body.ids.RECORD_ID;
    expect(ids.RECORD_ID).toBeDefined();
  });

  it('operations: dry_run (JSON body and a base64 file previewed as multipart)', async () => {
    const dry = await op(gw.url, 'zendesk', 'create_record', json({ variables: { ACCOUNT_ID: 1, PHONE_NUMBER: '2223334444' } }), '?dry_run=true');
    expect(dry.body).toMatchObject({ outcome: 'dry_run', attempts: [], ids: {} });
    expect(dry.body.requests[0].headers.Authorization).toBe('Basic ****');
    const up = await op(
      gw.url,
      'zendesk',
      'upload_file',
      json({ variables: { RECORD_ID: 1, FILE_NAME: 'a.txt', FILE_DATA: Buffer.from('hello').toString('base64') } }),
      '?dry_run=1',
    );
    expect(up.body.requests[0].body.multipart.file).toEqual({ field: 'file', name: 'a.txt', type: 'application/octet-stream', bytes: 5 });
  });

  it('operations: multipart upload_file with the follow-up comment, and link_only', async () => {
    const form = new FormData();
    form.append('file', new Blob(['call transcript'], { type: 'text/plain' }), 'transcript.txt');
    form.append('variables', JSON.stringify({ RECORD_ID: ids.RECORD_ID, FILE_KIND: 'chat_transcript' }));
    const up = await op(gw.url, 'zendesk', 'upload_file', { body: form });
    expect(up.body).toMatchObject({ outcome: 'ok', ids: { ATTACHMENT_URL: expect.any(String) } });
    expect(up.body.follow_up).toMatchObject({ operation: 'add_comment', outcome: 'ok' });
    const link = await op(
      extraUrl,
      'mini',
      'upload_file',
      json({ variables: { RECORD_ID: ids.RECORD_ID, FILE_URL: 'https://files.example.com/rec.mp3', FILE_KIND: 'call_recording' } }),
    );
    expect(link.body).toMatchObject({ operation: 'upload_file', outcome: 'link_only', ids: { ATTACHMENT_URL: 'https://files.example.com/rec.mp3' } });
  });

  it('operations: 400, 404, 413, 415 and 422 problems', async () => {
    const codeOf = async (p: Promise<Exchange>) => (await p).body.code as string;
    expect(await codeOf(op(gw.url, 'zendesk', 'find_account', json('{"variables": ')))).toBe('invalid_json');
    const badVars = new FormData();
    badVars.append('variables', '{nope');
    expect(await codeOf(op(gw.url, 'zendesk', 'upload_file', { body: badVars }))).toBe('invalid_json');
    const wrongPart = new FormData();
    wrongPart.append('attachment', new Blob(['x']), 'x.txt');
    expect(await codeOf(op(gw.url, 'zendesk', 'upload_file', { body: wrongPart }))).toBe('bad_request');

    expect(await codeOf(op(gw.url, 'nope', 'find_account', json({})))).toBe('connector_not_found');
    expect(await codeOf(op(gw.url, 'zendesk', 'find_everything', json({})))).toBe('operation_not_found');
    expect(await codeOf(op(extraUrl, 'mini', 'create_account', json({})))).toBe('operation_not_configured');

    expect(await codeOf(op(extraUrl, 'zendesk', 'find_account', json({ variables: { NAME: 'x'.repeat(4000) } })))).toBe('payload_too_large');
    const big = new FormData();
    big.append('file', new Blob(['more than sixteen bytes of file']), 'big.txt');
    expect(await codeOf(op(extraUrl, 'zendesk', 'upload_file', { body: big }))).toBe('payload_too_large');
    expect(await codeOf(op(gw.url, 'zendesk', 'find_account', { headers: { 'content-type': 'text/plain' }, body: 'PHONE_NUMBER=1' }))).toBe(
      'unsupported_media_type',
    );

    const unknownVar = await op(gw.url, 'zendesk', 'find_account', json({ variables: { PHONE: '2223334444' } }));
    expect(unknownVar.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'variables.PHONE' }] });
    expect(await codeOf(op(gw.url, 'zendesk', 'find_account', json({ vars: {} })))).toBe('validation_failed');
    expect(await codeOf(op(gw.url, 'zendesk', 'upload_file', json({ variables: { RECORD_ID: 1, FILE_KIND: 'hologram' } })))).toBe('validation_failed');
    const phone = await op(gw.url, 'zendesk', 'find_account', json({ variables: { PHONE_NUMBER: 'not a number' } }));
    expect(phone.body).toMatchObject({ code: 'invalid_phone_number', variable: 'PHONE_NUMBER' });
    expect(await codeOf(op(gw.url, 'zendesk', 'update_record', json({ variables: {} })))).toBe('missing_variable');
    expect(
      await codeOf(op(extraUrl, 'mini', 'find_account', json({ variables: { PHONE_NUMBER: '+1 222 333 4444', AGENT_EMAIL: 'a@b.c\r\nX-Evil: 1' } }))),
    ).toBe('invalid_variable_value');
    expect(
      await codeOf(op(extraUrl, 'mini', 'upload_file', json({ variables: { RECORD_ID: 1, FILE_URL: 'https://x.example/p.png', FILE_KIND: 'photo' } }))),
    ).toBe('file_kind_not_accepted');
    expect(await codeOf(op(extraUrl, 'broken', 'find_account', json({})))).toBe('config_invalid');
  });

  it('operations: CRM failures are 502, 503 (with Retry-After) and 504 problems', async () => {
    const create = () => op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Al', PHONE_NUMBER: '2223334444' } }));

    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 422, body: { error: 'RecordInvalid', description: 'Email is invalid' } });
    const failed = await create();
    expect(failed.body).toMatchObject({ code: 'crm_request_failed', crm_status: 422, classification: 'fail' });
    expect(failed.body.attempts).toHaveLength(1);

    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 201, body: { nothing: 'here' } });
    expect((await create()).body).toMatchObject({ code: 'crm_response_invalid', setting: 'response_data_location' });

    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 400, retryAfter: 7 });
    const later = await create();
    expect(later.body).toMatchObject({ code: 'crm_retry_later', retry_after_ms: 7000, from_retry_after: true });
    expect(later.headers.get('retry-after')).toBe('7');
    // Without Retry-After the wait comes from the backoff schedule (30 s first, with jitter).
    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 400 });
    const backoff = await create();
    expect(backoff.body.code).toBe('crm_retry_later');
    expect(backoff.body.from_retry_after).toBeUndefined();
    expect(Number(backoff.headers.get('retry-after'))).toBeGreaterThan(0);

    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', drop: true });
    const unreachable = await create();
    expect(unreachable.body.code).toBe('crm_unreachable');
    expect(unreachable.body.attempts[0].network_error).toBeDefined();
  });

  it('durable: ?async=true and Prefer: respond-async answer 202 + Location; depends_on, ordering_key and a multipart file are delivered', async () => {
    const account = await op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Async Ann', EMAIL: 'async-ann@example.com' } }), '?async=true');
    expect(account.status).toBe(202);
    expectLocation(account);
    expect(account.body).toMatchObject({ connector: 'zendesk', operation: 'create_account', status: 'pending', attempts: 0, replayed: false });
    const delivered = await waitForDelivery(account.body.id);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 1, result: { outcome: 'ok', ids: { ACCOUNT_ID: expect.any(Number) } } });
    expect(delivered.history).toEqual([expect.objectContaining({ n: 1, status: 201, classification: 'ok' })]);

    const ticket = await op(
      gw.url,
      'zendesk',
      'create_record',
      json({ variables: { TICKET_SUBJECT: 'Durable drift' }, depends_on: account.body.id, ordering_key: 'drift-ticket' }, { Prefer: 'respond-async' }),
    );
    expect(ticket.status).toBe(202);
    expectLocation(ticket);
    expect(ticket.body).toMatchObject({ depends_on: account.body.id, ordering_key: 'zendesk:drift-ticket', replayed: false });
    const ticketDone = await waitForDelivery(ticket.body.id);
    expect(ticketDone).toMatchObject({ status: 'delivered', result: { ids: { RECORD_ID: expect.any(Number) } } });

    const form = new FormData();
    form.append('file', new Blob(['durable transcript'], { type: 'text/plain' }), 'durable.txt');
    form.append('variables', JSON.stringify({ FILE_KIND: 'chat_transcript' }));
    form.append('depends_on', ticket.body.id);
    const upload = await op(gw.url, 'zendesk', 'upload_file', { body: form }, '?async=1');
    expect(upload.status).toBe(202);
    expect(upload.body).toMatchObject({ depends_on: ticket.body.id, file: { name: 'durable.txt', type: 'text/plain', kind: 'chat_transcript' } });
    expect(await waitForDelivery(upload.body.id)).toMatchObject({ status: 'delivered', result: { ids: { ATTACHMENT_URL: expect.any(String) } } });
  });

  it('durable: the same Idempotency-Key is replayed (200, replayed), a synchronous write with a key answers 200 with the outcome; dry_run stays a preview', async () => {
    const users = () => crm.crm.state.users.length;
    const before = users();
    const write = () =>
      op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Once Only' } }, { 'Idempotency-Key': 'drift-call-1-account' }), '?async=true');
    const first = await write();
    expect(first.status).toBe(202);
    const again = await write();
    expect(again.status).toBe(200);
    expectLocation(again);
    expect(again.body).toMatchObject({ id: first.body.id, idempotency_key: 'drift-call-1-account', replayed: true });
    expect(await waitForDelivery(first.body.id)).toMatchObject({ status: 'delivered' });
    expect(users()).toBe(before + 1);

    const sync = () => op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Sync Sam' } }, { 'Idempotency-Key': 'drift-call-2-account' }));
    const s1 = await sync();
    expect(s1.status).toBe(200);
    expectLocation(s1);
    expect(s1.body).toMatchObject({ status: 'delivered', replayed: false, result: { outcome: 'ok', ids: { ACCOUNT_ID: expect.any(Number) } } });
    const s2 = await sync();
    expect(s2.status).toBe(200);
    expect(s2.body).toMatchObject({ id: s1.body.id, status: 'delivered', replayed: true });
    expect(users()).toBe(before + 2);

    const dry = await op(
      gw.url,
      'zendesk',
      'create_account',
      json({ variables: { NAME: 'Dry' } }, { 'Idempotency-Key': 'drift-call-1-account' }),
      '?dry_run=true&async=true',
    );
    expect(dry.status).toBe(200);
    expect(dry.body.outcome).toBe('dry_run');
    expect(dry.headers.get('location')).toBeNull();
  });

  it('durable: GET /v1/deliveries filters and pages; bad filters are 422 problems', async () => {
    const page = await call(gw.url, 'GET', DELIVERIES, '/v1/deliveries?connector=zendesk&limit=2');
    expect(page.body.deliveries).toHaveLength(2);
    expect(page.body.deliveries[0].cursor).toBeGreaterThan(page.body.deliveries[1].cursor);
    expect(page.body.next_before).toBe(page.body.deliveries[1].cursor);
    const next = await call(gw.url, 'GET', DELIVERIES, `/v1/deliveries?connector=zendesk&limit=2&before=${page.body.next_before}`);
    expect(next.body.deliveries[0].cursor).toBeLessThan(page.body.next_before);
    const delivered = await call(gw.url, 'GET', DELIVERIES, '/v1/deliveries?status=delivered');
    expect(delivered.body.deliveries.length).toBeGreaterThanOrEqual(5);
    expect(delivered.body.deliveries.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    expect(delivered.body.next_before).toBeNull();
    expect((await call(gw.url, 'GET', DELIVERIES, '/v1/deliveries?connector=nope')).body).toEqual({ deliveries: [], next_before: null });

    for (const [query, field] of [
      ['status=lost', 'status'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=two', 'limit'],
      ['before=x', 'before'],
    ]) {
      const bad = await call(gw.url, 'GET', DELIVERIES, `/v1/deliveries?${query}`);
      expect(bad.body).toMatchObject({ code: 'validation_failed', errors: [{ field }] });
    }
  });

  it('durable: dead → retry → delivered, pending → cancel → retry; 404 and 409 problems', async () => {
    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 422, body: { error: 'RecordInvalid', description: 'Email is invalid' } });
    const doomed = await op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Replay Rae' } }), '?async=true');
    const dead = await waitForDelivery(doomed.body.id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, last_error: { code: 'crm_request_failed', crm_status: 422 } });
    expect(dead.history).toEqual([expect.objectContaining({ n: 1, status: 422, classification: 'fail' })]);
    expect((await control(doomed.body.id, 'cancel')).body.code).toBe('conflict');
    const replay = await control(doomed.body.id, 'retry');
    expect(replay.body).toMatchObject({ id: doomed.body.id, status: 'pending', next_attempt_at: expect.any(String) });
    const revived = await waitForDelivery(doomed.body.id);
    expect(revived).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(revived.history.map((a: { n: number }) => a.n)).toEqual([1, 2]);
    expect((await control(doomed.body.id, 'retry')).body.code).toBe('conflict');

    // A retryable CRM answer (400 under the spec policy) leaves the write pending, 30 s until the next try.
    crm.crm.injectFault({ method: 'POST', path: '/api/v2/users', status: 400, always: true });
    let waiting: any;
    try {
      const w = await op(gw.url, 'zendesk', 'create_account', json({ variables: { NAME: 'Cancel Cy' } }), '?async=true');
      waiting = await waitForDelivery(w.body.id, (d) => d.status === 'pending' && d.attempts >= 1);
    } finally {
      crm.crm.clearFaults();
    }
    expect(waiting).toMatchObject({ last_error: { code: 'crm_retry_later', crm_status: 400 }, next_attempt_at: expect.any(String) });
    const cancelled = await control(waiting.id, 'cancel');
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    expect(cancelled.body.next_attempt_at).toBeUndefined();
    expect((await control(waiting.id, 'cancel')).body.code).toBe('conflict');
    expect((await control(waiting.id, 'retry')).body.status).toBe('pending');
    expect(await waitForDelivery(waiting.id)).toMatchObject({ status: 'delivered' });

    expect((await getDelivery('no-such-delivery')).body.code).toBe('not_found');
    expect((await control('no-such-delivery', 'retry')).body.code).toBe('not_found');
    expect((await control('no-such-delivery', 'cancel')).body.code).toBe('not_found');
  });

  it('durable: an unknown_outcome create shows its evidence and is resolved (attach); 422 and 409 problems', async () => {
    // Recovery reaches unknown_outcome only through a CRM outage (test/delivery/recovery.test.ts);
    // here the store records it directly, so the answers can be checked against the spec.
    const id = `unknown-${Date.now()}`;
    const far = Date.parse('2999-01-01T00:00:00Z');
    for (let i = 0; (await gw.store.counts()).running > 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 25));
    await gw.store.enqueue(
      {
        id,
        connectorId: 'zendesk',
        operation: 'create_record',
        variables: { TICKET_SUBJECT: 'Unknown Una' },
        policy: gw.gateway.runtime('zendesk').connector.retry,
        notBefore: far,
      },
      Date.now(),
    );
    const claimed = await gw.store.claim(1000, far, 60_000);
    for (const d of claimed) if (d.id !== id) await gw.store.release(d.id, d.leaseToken!, Date.now());
    const mine = claimed.find((d) => d.id === id)!;
    await gw.store.complete(
      id,
      mine.leaseToken!,
      {
        status: 'unknown_outcome',
        backoffAttempts: 1,
        ambiguous: true,
        error: {
          code: 'unknown_outcome',
          message: 'create_record: an earlier try may have created the object',
          evidence: {
            rule: 'no created_marker: …',
            searched: 'GET /api/v2/search.json (find_record)',
            first_attempt_at: new Date().toISOString(),
            found: [{ id: 7, created_at: new Date().toISOString(), fields_match: false }],
          },
        },
        attempts: [
          {
            n: 0,
            at: Date.now(),
            networkError: 'ECONNABORTED',
            classification: 'retry',
            reason: 'timeout',
            durationMs: 5000,
            request: 'POST /api/v2/tickets.json',
          },
        ],
      },
      Date.now(),
    );
    expect((await getDelivery(id)).body).toMatchObject({
      status: 'unknown_outcome',
      last_error: { code: 'unknown_outcome', evidence: { found: [{ id: 7 }] } },
    });
    expect((await call(gw.url, 'GET', DELIVERIES, '/v1/deliveries?status=unknown_outcome')).body.deliveries.map((d: { id: string }) => d.id)).toContain(id);
    expect((await control(id, 'resolve', { action: 'attach' })).body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'ids' }] });
    expect((await control(id, 'resolve', { action: 'attach', ids: { RECORD_ID: 7 } })).body).toMatchObject({
      status: 'delivered',
      result: { ids: { RECORD_ID: 7 }, outcome: 'attached', recovered_by: 'operator' },
    });
    expect((await control(id, 'resolve', { action: 'cancel' })).body.code).toBe('conflict');
    expect((await control('no-such-delivery', 'resolve', { action: 'cancel' })).body.code).toBe('not_found');
  });

  it('durable: 400 without durable delivery, 422 before anything is stored, 503 store_unavailable', async () => {
    const create = (base: string, init: RequestInit, query = '?async=true') => op(base, 'zendesk', 'create_account', init, query);
    expect((await create(extraUrl, json({ variables: { NAME: 'x' } }))).body.code).toBe('bad_request');
    expect((await create(extraUrl, json({ variables: { NAME: 'x' } }, { 'Idempotency-Key': 'k-1' }), '')).body.code).toBe('bad_request');

    const badKey = await create(gw.url, json({ variables: { NAME: 'x' } }, { 'Idempotency-Key': 'not visible ascii' }), '');
    expect(badKey.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'Idempotency-Key' }] });
    const unknownDep = await op(gw.url, 'zendesk', 'add_comment', json({ variables: { COMMENT_BODY: 'x' }, depends_on: 'no-such-delivery' }), '?async=true');
    expect(unknownDep.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'depends_on' }] });
    expect((await create(gw.url, json({ variables: {}, ordering_key: '' }))).body.code).toBe('validation_failed');
    expect((await create(gw.url, json({ variables: { NAME: 'x', PHONE_NUMBER: 'nope' } }))).body.code).toBe('invalid_phone_number');
    expect((await op(gw.url, 'zendesk', 'update_record', json({ variables: {} }), '?async=true')).body.code).toBe('missing_variable');

    const down = await create(storeDownUrl, json({ variables: { NAME: 'Lost?' } }));
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('store_unavailable');
    expect(down.headers.get('retry-after')).toBeNull();
    expect(down.headers.get('location')).toBeNull();
  });

  it('OAuth: 409 before authorization, 302 authorize, 200 callback, 400/502 callback errors', async () => {
    const A = '/v1/connectors/{id}/oauth/authorize';
    const C = '/v1/oauth/callback';
    expect((await op(extraUrl, 'oauthy', 'find_account', json({ variables: { PHONE_NUMBER: '+1 222 333 4444' } }))).body.code).toBe('oauth_not_authorized');
    expect((await call(extraUrl, 'GET', A, '/v1/connectors/zendesk/oauth/authorize')).body.code).toBe('bad_request');
    expect((await call(extraUrl, 'GET', A, '/v1/connectors/nope/oauth/authorize')).body.code).toBe('connector_not_found');
    expect((await call(extraUrl, 'GET', A, '/v1/connectors/broken/oauth/authorize')).body.code).toBe('config_invalid');

    const start = await call(extraUrl, 'GET', A, '/v1/connectors/oauthy/oauth/authorize');
    expect(start.status).toBe(302);
    // Asked for JSON (the console): the same kind of URL as data, no redirect.
    const asJson = await call(extraUrl, 'GET', A, '/v1/connectors/oauthy/oauth/authorize', { headers: { Accept: 'application/json' } });
    expect(asJson.status).toBe(200);
    expect(new URL(asJson.body.authorize_url).pathname).toBe(new URL(start.headers.get('location')!).pathname);
    // The sample CRM consents at once and redirects to the gateway's callback.
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(`${extraUrl}/v1/oauth/callback`);
    const done = await call(extraUrl, 'GET', C, back.pathname + back.search);
    expect(done.body).toEqual({ connector: 'oauthy', authorized: true });
    // The console's "Connect" button reads the state back.
    expect((await call(extraUrl, 'GET', '/v1/connectors/{id}', '/v1/connectors/oauthy')).body.auth).toMatchObject({ state: 'connected' });
    expect((await op(extraUrl, 'oauthy', 'find_account', json({ variables: { PHONE_NUMBER: '+1 222 333 4444' } }))).body.outcome).toMatch(/^(ok|not_found)$/);

    expect((await call(extraUrl, 'GET', C, '/v1/oauth/callback?error=access_denied')).body.code).toBe('oauth_callback_invalid');
    expect((await call(extraUrl, 'GET', C, '/v1/oauth/callback?state=unknown&code=x')).body.code).toBe('oauth_callback_invalid');
    const again = await call(extraUrl, 'GET', A, '/v1/connectors/oauthy/oauth/authorize');
    const state = new URL(again.headers.get('location')!).searchParams.get('state')!;
    const refused = await call(extraUrl, 'GET', C, `/v1/oauth/callback?state=${encodeURIComponent(state)}&code=forged`);
    expect(refused.body.code).toBe('crm_request_failed');
  });

  it('sessions: events answer 202 and a repeat 200 (duplicate); missing commas are repaired, a bare event takes ?type=; the view once every step is delivered', async () => {
    const S = 'drift-call-4242';
    const post = (body: unknown, o?: Parameters<typeof postEvent>[4]) => postEvent(gw.url, 'zendesk', S, body, o);
    const started = await post({
      type: 'Session_Started',
      event_id: 'drift-e1',
      timestamp: '2026-01-02T03:04:05Z',
      data: {
        call_id: 4242,
        session_type: 'IVR_Call',
        channel: 'voice_call',
        queue_name: 'Billing',
        menu_path: 'Billing / Invoices',
        lang: 'en',
        direction: 'inbound',
        end_user: { name: 'Drift Dana', phone: '(222) 333-4242', email: 'dana@example.com', sdk_identifier: 'sdk-4242', cuid: 'cuid-4242' },
      },
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      duplicate: false,
      session: { connector: 'zendesk', session_id: S, ended: false, events: [{ type: 'Session_Started', at: '2026-01-02T03:04:05.000Z' }] },
    });
    expect(started.body.session.steps[0]).toMatchObject({ name: 'account', operation: 'resolve_account' });
    // The platform sends ids as strings too.
    expect(
      (
        await post({
          type: 'New_Call',
          event_id: 'drift-e2',
          data: { call_id: '4242', agent_id: 7, agent_custom_id: '007', agent_email: 'kim@example.com', queue_id: 8469, queue_path: 'Billing' },
        })
      ).status,
    ).toBe(202);
    // The platform's own examples leave out the commas between members: repaired.
    const csat = '{\n  "type": "CSAT_Submitted"\n  "event_id": "drift-e3"\n  "data": {\n    "call_id": 4242\n    "rating": 4\n    "feedback": "Quick"\n  }\n}';
    expect(() => JSON.parse(csat)).toThrow();
    expect((await post(csat)).status).toBe(202);
    const end = {
      type: 'End_Call',
      event_id: 'drift-e4',
      data: { call_id: 4242, call_duration: 125, hold_time: 5, wait_time: 30, disconnected_by: 'end_user' },
    };
    expect((await post(end)).body.session.ended).toBe(true);
    const again = await post(end);
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.session.events.map((e: { type: string }) => e.type)).toEqual(['Session_Started', 'New_Call', 'CSAT_Submitted', 'End_Call']);
    // Redaction events come bare, in any content type: the type is the query's.
    const bare = await post({ agent_id: 7, call_id: 4242 }, { query: '?type=Call_Redaction_Started', headers: { 'content-type': 'text/plain' } });
    expect(bare.status).toBe(202);
    expect(bare.body.session.events.at(-1).type).toBe('Call_Redaction_Started');

    const view = await waitForSession('zendesk', S);
    expect(view).toMatchObject({ connector: 'zendesk', session_id: S, account: 'created', record: 'created', ended: true, held: [], warnings: [] });
    expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    expect(view.steps.map((s: { name: string }) => s.name)).toEqual([
      'account',
      'record',
      'record_created',
      'drift-e3:comment',
      'drift-e4:comment',
      'drift-e4:update',
    ]);
    expect(view.links).toEqual({
      account: `${crm.url}/agent/users/${view.account_id}`,
      record: `${crm.url}/agent/tickets/${view.record_id}`,
      lookup: expect.stringContaining('external_id=cuid-4242'), // a CUID: the identity-keyed URL
    });
    expect(view.record_pop).toEqual({ type: 'CRM_Record_Pop', data: { recordUrl: view.links.record } });
    // Every step is a delivery, composite steps included, as /v1/deliveries shows it.
    for (const step of view.steps) {
      expect((await getDelivery(step.delivery_id)).body).toMatchObject({
        id: step.delivery_id,
        operation: step.operation,
        status: 'delivered',
        ordering_key: `zendesk:session:${S}`,
      });
    }
    const listed = (await call(gw.url, 'GET', DELIVERIES, '/v1/deliveries?connector=zendesk&limit=1000')).body.deliveries.map((d: { id: string }) => d.id);
    expect(listed).toEqual(expect.arrayContaining(view.steps.map((s: { delivery_id: string }) => s.delivery_id)));
  });

  it('flow posts: 202, a repeat 200; 400, 404 and 422 problems', async () => {
    const send = (name: string, body: unknown) => call(gw.url, 'POST', FLOW_POSTS, `/v1/connectors/zendesk/flow-posts/${name}`, json(body));
    const accepted = { engagementId: 'drift-eng-1', caller_number: '+12223334343', agent_email: 'kim@example.com', queue_name: 'Billing' };
    expect((await send('acceptedcall', accepted)).body).toMatchObject({
      duplicate: false,
      session: { session_id: 'drift-eng-1', events: [{ type: 'New_Call' }] },
    });
    const done = await send('dispositionedcall', { ...accepted, disposition_name: 'Resolved' });
    expect(done.status).toBe(202);
    expect(done.body.session.ended).toBe(true);
    expect((await send('acceptedcall', accepted)).status).toBe(200);
    expect((await send('nope', accepted)).body.code).toBe('not_found');
    expect((await call(gw.url, 'POST', FLOW_POSTS, '/v1/connectors/nope/flow-posts/acceptedcall', json(accepted))).body.code).toBe('connector_not_found');
    expect((await send('acceptedcall', { caller_number: '+12223334343' })).body.errors).toEqual([{ field: 'engagementId', message: 'required' }]);
    expect((await send('acceptedcall', '{"engagementId": ')).body.code).toBe('invalid_json');
    await waitForSession('zendesk', 'drift-eng-1');
  });

  it('sessions: 400, 404, 422 and 502 problems; a refused event leaves no session', async () => {
    const S = 'drift-call-refused';
    const post = (body: unknown, o?: Parameters<typeof postEvent>[4]) => postEvent(gw.url, 'zendesk', S, body, o);
    expect((await post('{"type": "New_Call", "data": {')).body.code).toBe('invalid_json');
    expect((await post({ type: 'Call_Teleported', data: { call_id: 1 } }, { schemaValid: false })).body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'type' }],
    });
    // A bare body is valid as such, but needs its ?type=.
    expect((await post({ agent_id: 7, call_id: 1 })).body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'type' }] });
    expect(
      (await post({ type: 'File_Available', data: { name: 'x.bin', url: 'https://files.example.com/x.bin' } }, { schemaValid: false })).body,
    ).toMatchObject({ code: 'validation_failed', errors: [{ field: 'data.kind' }] });
    expect((await post({ type: 'File_Available', data: { kind: 'photo', name: 'p.png' } }, { schemaValid: false })).body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'data.url' }],
    });
    expect((await postEvent(gw.url, 'zendesk', 'not a session id!', { type: 'New_Call', data: {} })).body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'sessionId' }],
    });
    const download = await post({
      type: 'File_Available',
      event_id: 'drift-f1',
      data: {
        kind: 'call_recording',
        name: 'rec.mp3',
        content_type: 'audio/mpeg',
        url: `${crm.url}/no-such-recording.mp3`,
        headers: { Authorization: 'Bearer drift' },
      },
    });
    expect(download.status).toBe(502);
    expect(download.body.code).toBe('file_download_failed');
    expect((await postEvent(gw.url, 'nope', S, { type: 'New_Call', data: {} })).body.code).toBe('connector_not_found');
    expect((await getSession(gw.url, 'zendesk', S)).body.code).toBe('not_found');
    expect((await getSession(gw.url, 'zendesk', 'drift-never-seen')).body.code).toBe('not_found');
    expect((await getSession(gw.url, 'nope', S)).body.code).toBe('connector_not_found');
  });

  it('sessions: 409 when another replica keeps winning the session update, 413, 415 and 500 config_invalid', async () => {
    const flowGateway = new Gateway({ configFiles: [ZENDESK_YAML, path.join(tmp, 'broken.yaml')], env: { ZENDESK_URL: crm.url } });
    flowGateway.load();
    // Every save of the session loses the version check, as when another replica saves first each time.
    const racing = new Proxy(gw.store, {
      get: (target, key, receiver) => (key === 'saveSession' ? () => Promise.resolve(false) : Reflect.get(target, key, receiver)),
    }) as DeliveryStore;
    const service = new DeliveryService(racing, flowGateway);
    const app = createApp(flowGateway, { deliveries: service, store: racing, flows: new FlowEngine(racing, service, flowGateway), jsonLimit: '2kb' });
    const { server, url } = await listen(app);
    try {
      const S = 'drift-race';
      // No customer identity, so the event writes nothing: only the session save, which never wins.
      const lost = await postEvent(url, 'zendesk', S, { type: 'Agent_Login', data: { agent_id: 7 } });
      expect(lost.status).toBe(409);
      expect(lost.body.code).toBe('conflict');
      expect((await postEvent(url, 'zendesk', S, { type: 'Custom_Data', data: { data: { note: 'x'.repeat(3000) } } })).body.code).toBe('payload_too_large');
      expect(
        (await postEvent(url, 'zendesk', S, { type: 'New_Call', data: {} }, { headers: { 'content-type': 'application/json; charset=x-unknown' } })).body.code,
      ).toBe('unsupported_media_type');
      expect((await postEvent(url, 'broken', S, { type: 'New_Call', data: {} })).body.code).toBe('config_invalid');
      expect((await getSession(url, 'broken', S)).body.code).toBe('config_invalid');
    } finally {
      await close(server);
    }
  });

  it('every JSON event posted is judged by schemas/session-event.schema.json as expected; none it refuses was accepted', () => {
    const v = fileSchema(ajv, EVENT_SCHEMA);
    expect(postedEvents.length).toBeGreaterThanOrEqual(15);
    const misjudged = postedEvents
      .filter((e) => v(e.body) !== e.schemaValid)
      .map((e) => ({ where: e.where, body: e.body, expectedValid: e.schemaValid, errors: v(e.body) ? [] : formatAjvErrors(v.errors ?? []) }));
    expect(misjudged).toEqual([]);
    expect(postedEvents.filter((e) => e.status < 300 && !e.schemaValid).map((e) => e.where)).toEqual([]);
  });

  it('an unknown path answers a not_found problem', async () => {
    const res = await fetch(`${gw.url}/v2/nothing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const v = validator.schemaAt(['components', 'schemas', 'Problem']);
    const body = (await res.json()) as { code?: string };
    expect(v(body)).toBe(true);
    expect(body.code).toBe('not_found');
  });

  it('zoom webhooks: challenge, event, reconciliation (2xx) and 401, 404, 413, 422 problems', async () => {
    const zoom = await startSampleZoom();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-zoom-'));
    const file = path.join(dir, 'zoomy.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(ZENDESK_YAML, 'utf8').replace(/^id: zendesk$/m, 'id: zoomy') +
        `\nwebhooks:\n  zoom:\n    secret_token: ${zoom.zoom.options.secretToken}\n    account_id: ${zoom.zoom.options.accountId}\n    client_id: ${zoom.zoom.options.clientId}\n    client_secret: ${zoom.zoom.options.clientSecret}\n    api_base_url: ${zoom.url}/v2\n    token_url: ${zoom.url}/oauth/token\n`,
    );
    const zgw = await serve({ port: 0, configFiles: [file], env: { ...process.env, ZENDESK_URL: crm.url }, dataDir: dir, logger: silentLogger, apiKeys: null });
    try {
      const base = zgw.url;
      const hook = '/v1/connectors/zoomy/webhooks/zoom';
      const signed = (body: string, ts = Math.floor(Date.now() / 1000)) => ({
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...signZoomWebhook(zoom.zoom.options.secretToken, body, ts) },
        body,
      });
      zoom.zoom.addEngagement({ engagement_id: 'drift-eng', consumer: { number: '+12223334999' } });
      const challenge = JSON.stringify(zoom.zoom.events.urlValidation('drift-plain'));
      expect((await call(base, 'POST', ZOOM_WEBHOOK, hook, signed(challenge))).body.plainToken).toBe('drift-plain');
      const note = JSON.stringify(zoom.zoom.events.noteAdded('drift-eng', 'drift note', 'drift-note'));
      expect((await call(base, 'POST', ZOOM_WEBHOOK, hook, signed(note))).body.outcome).toBe('delivered_now');
      expect((await call(base, 'POST', ZOOM_WEBHOOK, hook, signed(note, Math.floor(Date.now() / 1000) - 600))).body.code).toBe('webhook_signature_invalid');
      expect((await call(base, 'POST', ZOOM_WEBHOOK, hook, signed('{nope'))).body.code).toBe('invalid_json');
      expect(
        (
          await call(
            base,
            'POST',
            ZOOM_WEBHOOK,
            hook,
            signed(JSON.stringify({ event: 'contact_center.engagement_note_added', payload: { object: { note: 'x' } } })),
          )
        ).body.code,
      ).toBe('validation_failed');
      expect((await call(base, 'POST', ZOOM_WEBHOOK, hook, signed(JSON.stringify({ event: 'x', pad: 'x'.repeat(300_000) })))).body.code).toBe(
        'payload_too_large',
      );
      expect((await call(gw.url, 'POST', ZOOM_WEBHOOK, '/v1/connectors/zendesk/webhooks/zoom', signed(challenge))).body.code).toBe('not_found');
      const report = await call(base, 'POST', `${ZOOM_WEBHOOK}/reconcile`, `${hook}/reconcile?since=2026-01-01T00:00:00Z`);
      expect(report.body).toMatchObject({ connector: 'zoomy', found: 0, failed: 0 });
      expect((await call(base, 'POST', `${ZOOM_WEBHOOK}/reconcile`, `${hook}/reconcile?since=yesterday`)).body.code).toBe('validation_failed');
      expect((await call(gw.url, 'POST', `${ZOOM_WEBHOOK}/reconcile`, '/v1/connectors/zendesk/webhooks/zoom/reconcile')).body.code).toBe('not_found');
    } finally {
      await zgw.close();
      await zoom.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('console routes: me, operations, validate, save (422, 409, 200), contract tests (202, 200, events, junit, 409, 422, 429, 404)', async () => {
    // A gateway that runs from a config directory (saving needs one), with an admin key open API.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-console-'));
    fs.mkdirSync(path.join(dir, 'config'));
    fs.copyFileSync(ZENDESK_YAML, path.join(dir, 'config', 'zendesk.yaml'));
    const cgw = new Gateway({ configDir: path.join(dir, 'config'), env: { ZENDESK_URL: crm.url } });
    cgw.load();
    const { server, url } = await listen(createApp(cgw));
    try {
      expect((await call(url, 'GET', '/v1/me', '/v1/me')).body).toEqual({ admin: true, connectors: '*' });
      const ops = await call(url, 'GET', '/v1/connectors/{id}/operations', '/v1/connectors/zendesk/operations');
      expect(ops.body.operations.length).toBeGreaterThan(3);
      expect((await call(extraUrl, 'GET', '/v1/connectors/{id}/operations', '/v1/connectors/broken/operations')).body.code).toBe('config_invalid');
      const detail = (await call(url, 'GET', '/v1/connectors/{id}', '/v1/connectors/zendesk')).body;
      expect(detail.yaml).toContain('${env:ZENDESK_TOKEN:-****}');
      const V = '/v1/connectors/{id}/validate';
      expect((await call(url, 'POST', V, '/v1/connectors/zendesk/validate', json({ yaml: detail.yaml }))).body).toEqual({ valid: true, errors: [] });
      const invalid = (await call(url, 'POST', V, '/v1/connectors/zendesk/validate', json({ yaml: 'id: zendesk\n' }))).body;
      expect(invalid.valid).toBe(false);
      expect((await call(url, 'POST', V, '/v1/connectors/zendesk/validate', json({ yaml: 1 }))).body.code).toBe('validation_failed');
      expect((await call(url, 'POST', V, '/v1/connectors/zendesk/validate', json({ yaml: 'x'.repeat(1024 * 1024 + 1) }))).body.code).toBe('payload_too_large');
      expect((await call(url, 'POST', V, '/v1/connectors/nope/validate', json({ yaml: '' }))).body.code).toBe('connector_not_found');
      const C = '/v1/connectors/{id}/config';
      const put = (connector: string, body: unknown, base = url) => call(base, 'PUT', C, `/v1/connectors/${connector}/config`, json(body));
      expect((await put('zendesk', { yaml: 'id: zendesk\n', base_sha256: detail.sha256 })).body.errors[0]).toMatchObject({ field: 'yaml' });
      expect((await put('zendesk', { yaml: detail.yaml, base_sha256: '0'.repeat(64) })).body.code).toBe('conflict');
      expect((await put('zendesk', { yaml: detail.yaml, base_sha256: detail.sha256 }, extraUrl)).body.code).toBe('conflict'); // explicit files
      expect((await put('zendesk', { yaml: 'x'.repeat(1024 * 1024 + 1), base_sha256: detail.sha256 })).body.code).toBe('payload_too_large');
      expect((await put('nope', { yaml: '', base_sha256: detail.sha256 })).body.code).toBe('connector_not_found');
      expect((await put('zendesk', { yaml: detail.yaml, base_sha256: detail.sha256 })).body).toEqual({ saved: true, sha256: detail.sha256 });

      const T = '/v1/connectors/{id}/contract-tests';
      const start = (body: unknown, connector = 'zendesk') => call(url, 'POST', T, `/v1/connectors/${connector}/contract-tests`, json(body));
      expect((await start({ target: 'elsewhere' })).body.code).toBe('validation_failed');
      expect((await start({ target: 'sample' }, 'nope')).body.code).toBe('connector_not_found');
      const first = await start({ target: 'sample' });
      expect(first.headers.get('location')).toBe(`/v1/contract-tests/${first.body.id}`);
      const second = await start({ target: 'sample' });
      expect((await start({ target: 'sample' })).body.code).toBe('too_many_requests');
      const R = '/v1/contract-tests/{runId}';
      expect((await call(url, 'GET', `${R}/junit`, `/v1/contract-tests/${first.body.id}/junit`)).body.code).toBe('conflict');
      const events = await call(url, 'GET', `${R}/events`, `/v1/contract-tests/${first.body.id}/events`);
      expect(String(events.body)).toMatch(/event: done/);
      await call(url, 'GET', `${R}/events`, `/v1/contract-tests/${second.body.id}/events`);
      const run = await call(url, 'GET', R, `/v1/contract-tests/${first.body.id}`);
      expect(run.body.state).toBe('passed');
      expect(String((await call(url, 'GET', `${R}/junit`, `/v1/contract-tests/${first.body.id}/junit`)).body)).toContain('<testsuite');
      for (const p of [R, `${R}/events`, `${R}/junit`]) expect((await call(url, 'GET', p, p.replace('{runId}', 'nope'))).body.code).toBe('not_found');
    } finally {
      await close(server);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('every documented route was exercised with a success answer', () => {
    const missing = specOperations()
      .filter(({ method, path: p }) => ![...exercised].some((e) => e.startsWith(`${method} ${p} `) && /\s[23]\d\d$/.test(e)))
      .map(({ method, path: p }) => `${method} ${p}`);
    expect(missing).toEqual([]);
  });
});
