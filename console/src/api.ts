/**
 * The console's only way to the gateway: its public HTTP API, with the key the user typed
 * (kept in sessionStorage: gone when the tab closes, never in localStorage or a cookie).
 * Same-origin only; the page's CSP (connect-src 'self') would refuse anything else anyway.
 */
const KEY = 'crm-gateway.console.key';

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
    throw new ApiError(res.status, problem.detail ?? problem.title ?? `${res.status} ${res.statusText}`, problem);
  }
  return res;
}

export async function api<T>(method: string, path: string, o: CallOptions = {}): Promise<T> {
  const res = await call(method, path, o);
  return (await res.json()) as T;
}

export const enc = encodeURIComponent;

// ---- the shapes the console reads (openapi.yaml is the contract) ----

export interface ConfigIssue {
  line?: number;
  col?: number;
  path?: string;
  message: string;
  severity?: 'error' | 'warning';
}

export interface ConnectorItem {
  id: string;
  name?: string;
  file?: string;
  valid?: boolean;
  status?: string;
  errors: Array<ConfigIssue | string>;
  warnings?: Array<ConfigIssue | string>;
  /** Every issue with its position (errors and warnings); `errors`/`warnings` are the same as text. */
  issues?: ConfigIssue[];
  rejected_change?: { at?: string; errors: Array<ConfigIssue | string> } | Array<ConfigIssue | string>;
  rejected?: { at?: string; issues: ConfigIssue[] };
  auth?: { type: string; state?: 'static' | 'connected' | 'not_connected' | 'expired'; expires_at?: string; grant?: string };
  rate_limit?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  links?: string[];
  operations: string[];
  config?: string;
  yaml?: string;
  sha256?: string;
}

export interface Me {
  admin: boolean;
  connectors: string[] | '*';
}

export interface OperationInfo {
  operation: string;
  method?: string;
  url_template?: string;
  variables: Array<{ name: string; required: boolean; source?: string }>;
  durable?: boolean;
}

export const isValid = (c: ConnectorItem) => c.valid ?? c.status === 'valid';

/** An issue as one line of text: "file:line:col path: message" (older answers are already text). */
export function issueText(i: ConfigIssue | string): string {
  if (typeof i === 'string') return i;
  const where = i.line ? `${i.line}:${i.col ?? 1} ` : '';
  return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

const errorsIn = (issues: ConfigIssue[]) => issues.filter((i) => i.severity !== 'warning');

/** The errors, with positions when the gateway gives them. */
export const errorsOf = (c: ConnectorItem): Array<ConfigIssue | string> => (c.issues ? errorsIn(c.issues) : c.errors);
export const warningsOf = (c: ConnectorItem): Array<ConfigIssue | string> => (c.issues ? c.issues.filter((i) => i.severity === 'warning') : (c.warnings ?? []));

/** The errors of the last change the hot reload refused (the previous version keeps running). */
export function rejectedErrors(c: ConnectorItem): Array<ConfigIssue | string> | undefined {
  if (c.rejected) return errorsIn(c.rejected.issues);
  const r = c.rejected_change;
  if (!r) return undefined;
  return Array.isArray(r) ? r : r.errors;
}

export const rejectedAt = (c: ConnectorItem): string | undefined => c.rejected?.at ?? (Array.isArray(c.rejected_change) ? undefined : c.rejected_change?.at);

/** The file's name without its folder (the full path is in the title). */
export const baseName = (file?: string) => file?.split(/[\\/]/).pop();
