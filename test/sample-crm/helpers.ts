import { startSampleCrm, type RunningSampleCrm, type SampleCrmOptions } from '../../src/sample-crm';

export const T0 = Date.parse('2024-05-01T10:00:00Z');

/** A clock the test moves by hand. */
export function manualClock(start = T0): { now: () => number; advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

export function basicHeader(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export const DEFAULT_BASIC = basicHeader('agent@example.com/token', 'sample-token');

export interface Api {
  running: RunningSampleCrm;
  url: string;
  /** fetch relative to the server, with default basic auth unless headers.authorization is given (null = none). */
  call(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string | null> }): Promise<Response>;
  json<T = Record<string, unknown>>(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string | null> },
  ): Promise<{ status: number; body: T; headers: Headers }>;
}

/** A request to a sample CRM, as the API tests write it. */
export interface RequestSpec {
  method?: string;
  /** A string, Buffer or FormData is sent as it is; anything else as JSON (with its content type). */
  body?: unknown;
  /** Lower-cased; a header given as null is not sent (overrides a default). */
  headers?: Record<string, string | null>;
}

/** The fetch() arguments of a request: POST when there is a body, else GET; redirects not followed. */
export function requestInit(spec: RequestSpec, defaults: Record<string, string> = {}): RequestInit {
  const headers: Record<string, string> = { ...defaults };
  let body: RequestInit['body'];
  if (spec.body !== undefined) {
    if (typeof spec.body === 'string' || Buffer.isBuffer(spec.body) || spec.body instanceof FormData) {
      body = spec.body as RequestInit['body'];
    } else {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
  }
  for (const [k, v] of Object.entries(spec.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  return { method: spec.method ?? (spec.body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' };
}

/** A sample CRM's answer: the body parsed when it is JSON, else its text; empty → null. */
export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
  raw: Buffer;
  headers: Headers;
}

export async function request(url: string, spec: RequestSpec = {}, defaults: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, requestInit(spec, defaults));
  const raw = Buffer.from(await res.arrayBuffer());
  const text = raw.toString('utf8');
  let body: unknown = text || null;
  try {
    if (text) body = JSON.parse(text);
  } catch {
    /* not JSON: the text */
  }
  return { status: res.status, body, text, raw, headers: res.headers };
}

/** An OAuth token request as a form post (RFC 6749 §4), answered with JSON. */
export async function postForm(url: string, params: Record<string, string>): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function startApi(opts: SampleCrmOptions = {}): Promise<Api> {
  const running = (await startSampleCrm({ port: 0, ...opts })) as RunningSampleCrm;
  const call: Api['call'] = (path, init = {}) => fetch(running.url + path, { ...requestInit(init, { authorization: DEFAULT_BASIC }), redirect: 'follow' });
  return {
    running,
    url: running.url,
    call,
    async json(path, init) {
      const res = await call(path, init);
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as never, headers: res.headers };
    },
  };
}
