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
const LOCATION_FIELDS = [
  /^base_url$/,
  /^lookup_urls\./,
  /^auth\.(token_url|authorization_url)$/,
  /^endpoints\.[a-z_]+\.upload\.attachment\.builder_url$/,
  /^flows\.open_custom_url$/,
  /^webhooks\.zoom\.(api_base_url|token_url)$/,
  /^outcome_email\.(address|queues\.\d+\.address|smtp\.(host|port|from|servername))$/,
  /^storage\.(bucket|folder|api_endpoint|credentials\.token_url|endpoint|region)$/,
];
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

/** Shorter values are left alone even in their own field's issues: replacing them would garble the message. */
const MIN_RELATED_LENGTH = 4;

/**
 * The issues with each resolved `${env:…}` value (raw or JSON-quoted) replaced by its reference.
 * A value of secret length is replaced in every message; a shorter one (not a secret, and apt to
 * match unrelated words or digits: "must be <= 10") only in the issues about the field it was
 * written in (and never one under MIN_RELATED_LENGTH).
 */
export function withReferences(issues: ConfigIssue[], env: Pick<EnvResult, 'resolved'>): ConfigIssue[] {
  if (env.resolved.length === 0) return issues;
  const byLength = [...env.resolved].sort((a, b) => b.value.length - a.value.length);
  return issues.map((issue) => {
    let message = issue.message;
    for (const r of byLength) {
      const field = r.path.join('.');
      const related = issue.path === field || issue.path.startsWith(`${field}.`) || field.startsWith(`${issue.path}.`);
      if (r.value.length < MIN_SECRET_LENGTH && (!related || r.value.length < MIN_RELATED_LENGTH)) continue;
      const ref = `\${env:${r.name}}`;
      for (const form of new Set([r.value, JSON.stringify(r.value).slice(1, -1)])) if (message.includes(form)) message = message.split(form).join(ref);
    }
    return message === issue.message ? issue : { ...issue, message };
  });
}

/**
 * Credentials too short to be masked reliably (see MIN_SECRET_LENGTH): the dotted paths and,
 * for values from the environment, the variable's name. Never the value.
 */
export function shortCredentials(auth: unknown, env: Pick<EnvResult, 'resolved'>): Array<{ path: PathSegment[]; message: string }> {
  const out: Array<{ path: PathSegment[]; message: string }> = [];
  const rule = `a credential must be at least ${MIN_SECRET_LENGTH} characters, so that it can be masked wherever it appears`;
  for (const r of env.resolved) {
    if (CREDENTIAL_FIELDS.some((re) => re.test(r.path.join('.'))) && r.value.length < MIN_SECRET_LENGTH)
      out.push({ path: r.path, message: `\${env:${r.name}} is too short: ${rule}` });
  }
  const a = auth as { type?: unknown; password?: unknown; client_secret?: unknown; headers?: unknown } | undefined;
  const check = (path: PathSegment[], v: unknown) => {
    if (typeof v === 'string' && v.length < MIN_SECRET_LENGTH && !out.some((o) => o.path.join('.') === path.join('.')))
      out.push({ path, message: `too short: ${rule}` });
  };
  if (a?.type === 'basic') check(['auth', 'password'], a.password);
  if (a?.type === 'oauth2') check(['auth', 'client_secret'], a.client_secret);
  if (a?.type === 'headers' && a.headers && typeof a.headers === 'object') for (const [k, v] of Object.entries(a.headers)) check(['auth', 'headers', k], v);
  return out;
}
