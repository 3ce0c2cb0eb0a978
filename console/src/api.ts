/**
 * The console's only way to the gateway: its public HTTP API, with the key the user typed
 * (kept in sessionStorage: gone when the tab closes, never in localStorage or a cookie).
 * Same-origin only; the page's CSP (connect-src 'self') would refuse anything else anyway.
 */
const KEY = 'crm-gateway.console.key';
/** Fired on window when the gateway refuses the key: the app shows the sign-in form again. */
export const SIGNED_OUT = 'crm-gateway:signed-out';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

export interface FieldError {
  path?: string;
  field?: string;
  message: string;
  line?: number;
  col?: number;
}

/** A problem+json answer (or a network failure) as an error the screens can show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem: { title?: string; detail?: string; errors?: FieldError[]; [k: string]: unknown } = {},
  ) {
    super(message);
  }
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  accept?: string;
  signal?: AbortSignal;
}

export async function call(method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const qs = new URLSearchParams(Object.entries(o.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  const headers: Record<string, string> = { Accept: o.accept ?? 'application/json' };
  const key = session.key();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(qs ? `${path}?${qs}` : path, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
      credentials: 'omit',
      redirect: 'manual',
    });
  } catch (e) {
    throw new ApiError(0, `the gateway did not answer: ${(e as Error).message}`);
  }
  if (!res.ok && res.type !== 'opaqueredirect') {
    let problem: ApiError['problem'] = {};
    try {
      problem = await res.json();
    } catch {
      /* not JSON: the status says it */
    }
    // The key stopped working (revoked, or the keys file changed): back to the sign-in form.
    if (res.status === 401 && key) {
      session.signOut();
      dispatchEvent(new Event(SIGNED_OUT));
    }
    throw new ApiError(res.status, problem.detail ?? problem.title ?? `${res.status} ${res.statusText}`, problem);
  }
  return res;
}

export async function api<T>(method: string, path: string, o: CallOptions = {}): Promise<T> {
  const res = await call(method, path, o);
  return (await res.json()) as T;
}

export const enc = encodeURIComponent;

export * from './connector-shape';
