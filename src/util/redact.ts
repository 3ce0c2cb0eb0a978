/**
 * Secrets registry: every configured secret and every token the gateway obtains is
 * registered here, and every string that leaves the process (logs, problem details,
 * dry-run previews, API responses) passes through `redact`. Masking by value, not by
 * field name, catches a secret wherever it ends up (an echoed CRM error, a URL).
 */
const MASK = '****';
const secrets = new Set<string>();
let sorted: string[] = [];

export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  // Also the forms a secret takes on the wire: URL-encoded and inside Basic credentials.
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
  sorted = [...secrets].sort((a, b) => b.length - a.length);
}

export function registerBasicCredentials(username: string, password: string): void {
  registerSecret(password);
  registerSecret(Buffer.from(`${username}:${password}`).toString('base64'));
}

export function redact(text: string): string {
  if (sorted.length === 0 || text.length < 4) return text;
  let out = text;
  for (const s of sorted) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/** Deep copy with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && !(value instanceof Buffer)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

/** Header names whose values are credentials whatever they contain. */
export const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token']);

export function maskHeaders(headers: Record<string, string>, extraSensitive: Iterable<string> = []): Record<string, string> {
  const extra = new Set([...extraSensitive].map((h) => h.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const lower = k.toLowerCase();
    if (SENSITIVE_HEADERS.has(lower) || extra.has(lower)) out[k] = lower === 'authorization' ? v.replace(/^(\w+)\s.*$/, `$1 ${MASK}`) : MASK;
    else out[k] = redact(v);
  }
  return out;
}

/** For tests only. */
export function clearSecretsForTests(): void {
  secrets.clear();
  sorted = [];
}
