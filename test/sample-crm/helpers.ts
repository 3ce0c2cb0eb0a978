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

export async function startApi(opts: SampleCrmOptions = {}): Promise<Api> {
  const running = (await startSampleCrm({ port: 0, ...opts })) as RunningSampleCrm;
  const call: Api['call'] = (path, init = {}) => {
    const headers: Record<string, string> = {};
    const given = init.headers ?? {};
    if (!('authorization' in given)) headers.authorization = DEFAULT_BASIC;
    let body: RequestInit['body'];
    if (init.body !== undefined) {
      if (typeof init.body === 'string' || Buffer.isBuffer(init.body) || init.body instanceof FormData) {
        body = init.body as RequestInit['body'];
      } else {
        body = JSON.stringify(init.body);
        headers['content-type'] = 'application/json';
      }
    }
    for (const [k, v] of Object.entries(given)) {
      if (v === null) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    return fetch(running.url + path, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body });
  };
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
