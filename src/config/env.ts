/**
 * `${env:NAME}` (or `${env:NAME:-default}`) in any string of a connector. Resolved at load
 * time so a missing secret fails start-up, not the first call. Every resolved value is
 * treated as a secret, except in `base_url`, `lookup_urls`, the OAuth URLs, attachment
 * builder URLs and the open custom URL, which only say where the CRM is.
 *
 * Configuration errors are computed on the resolved values, but they are shown (validate,
 * GET /v1/connectors/{id}, the 500 config_invalid answer, reload log lines) with the
 * `${env:NAME}` reference in place of each resolved value: `withReferences`.
 */
import { MIN_SECRET_LENGTH } from '../util/redact';
import type { ConfigIssue } from './types';
import type { PathSegment } from './yaml-source';

/** Fields that only say where the CRM is; their env values are not secrets. */
const LOCATION_FIELDS = [/^base_url$/, /^lookup_urls\./, /^auth\.(token_url|authorization_url)$/, /^endpoints\.[a-z_]+\.upload\.attachment\.builder_url$/, /^flows\.open_custom_url$/];
/** Credential fields: their values (and the env values in them) must be long enough to mask. */
const CREDENTIAL_FIELDS = [/^auth\.password$/, /^auth\.client_secret$/, /^auth\.headers\.[^.]+$/];
const ENV_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvResult {
  value: unknown;
  secrets: Set<string>;
  missing: Array<{ path: PathSegment[]; name: string }>;
  /** Every substitution made: where, which variable, what value. */
  resolved: Array<{ path: PathSegment[]; name: string; value: string }>;
}

export function resolveEnv(value: unknown, env: NodeJS.ProcessEnv): EnvResult {
  const secrets = new Set<string>();
  const missing: EnvResult['missing'] = [];
  const resolved: EnvResult['resolved'] = [];
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(ENV_RE, (_m, name: string, fallback: string | undefined) => {
        const value = env[name] || fallback;
        if (value === undefined || value === '') {
          missing.push({ path, name });
          return '';
        }
        const dotted = path.join('.');
        if (!LOCATION_FIELDS.some((re) => re.test(dotted))) secrets.add(value);
        resolved.push({ path, name, value });
        return value;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    return v;
  };
  return { value: walk(value, []), secrets, missing, resolved };
}

/**
 * Values this short are not put back as references: they would replace unrelated digits or
 * words of a message ("must be <= 10"), and they are not secrets (MIN_SECRET_LENGTH).
 */
const MIN_REFERENCED_LENGTH = 4;

/** The issues with each resolved `${env:…}` value (raw or JSON-quoted) replaced by its reference. */
export function withReferences(issues: ConfigIssue[], env: Pick<EnvResult, 'resolved'>): ConfigIssue[] {
  const pairs = new Map<string, string>();
  for (const r of env.resolved) {
    if (r.value.length < MIN_REFERENCED_LENGTH) continue;
    const ref = `\${env:${r.name}}`;
    pairs.set(r.value, ref);
    pairs.set(JSON.stringify(r.value).slice(1, -1), ref);
  }
  if (pairs.size === 0) return issues;
  const values = [...pairs.keys()].sort((a, b) => b.length - a.length);
  const unresolve = (text: string) => values.reduce((t, v) => (t.includes(v) ? t.split(v).join(pairs.get(v)!) : t), text);
  return issues.map((i) => ({ ...i, message: unresolve(i.message), path: unresolve(i.path) }));
}

/**
 * Credentials too short to be masked reliably (see MIN_SECRET_LENGTH): the dotted paths and,
 * for values from the environment, the variable's name. Never the value.
 */
export function shortCredentials(auth: unknown, env: Pick<EnvResult, 'resolved'>): Array<{ path: PathSegment[]; message: string }> {
  const out: Array<{ path: PathSegment[]; message: string }> = [];
  const rule = `a credential must be at least ${MIN_SECRET_LENGTH} characters, so that it can be masked wherever it appears`;
  for (const r of env.resolved) {
    if (CREDENTIAL_FIELDS.some((re) => re.test(r.path.join('.'))) && r.value.length < MIN_SECRET_LENGTH) out.push({ path: r.path, message: `\${env:${r.name}} is too short: ${rule}` });
  }
  const a = auth as { type?: unknown; password?: unknown; client_secret?: unknown; headers?: unknown } | undefined;
  const check = (path: PathSegment[], v: unknown) => {
    if (typeof v === 'string' && v.length < MIN_SECRET_LENGTH && !out.some((o) => o.path.join('.') === path.join('.'))) out.push({ path, message: `too short: ${rule}` });
  };
  if (a?.type === 'basic') check(['auth', 'password'], a.password);
  if (a?.type === 'oauth2') check(['auth', 'client_secret'], a.client_secret);
  if (a?.type === 'headers' && a.headers && typeof a.headers === 'object') for (const [k, v] of Object.entries(a.headers)) check(['auth', 'headers', k], v);
  return out;
}
