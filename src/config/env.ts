/**
 * `${env:NAME}` (or `${env:NAME:-default}`) in any string of a connector. Resolved at load
 * time so a missing secret fails start-up, not the first call. Every resolved value is
 * treated as a secret, except in `base_url`, `lookup_urls`, the OAuth URLs, attachment
 * builder URLs and the open custom URL, which only say where the CRM is.
 */
import type { PathSegment } from './yaml-source';

/** Fields that only say where the CRM is; their env values are not secrets. */
const LOCATION_FIELDS = [/^base_url$/, /^lookup_urls\./, /^auth\.(token_url|authorization_url)$/, /^endpoints\.[a-z_]+\.upload\.attachment\.builder_url$/, /^flows\.open_custom_url$/];
const ENV_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvResult {
  value: unknown;
  secrets: Set<string>;
  missing: Array<{ path: PathSegment[]; name: string }>;
}

export function resolveEnv(value: unknown, env: NodeJS.ProcessEnv): EnvResult {
  const secrets = new Set<string>();
  const missing: EnvResult['missing'] = [];
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(ENV_RE, (_m, name: string, fallback: string | undefined) => {
        const resolved = env[name] || fallback;
        if (resolved === undefined || resolved === '') {
          missing.push({ path, name });
          return '';
        }
        const dotted = path.join('.');
        if (!LOCATION_FIELDS.some((re) => re.test(dotted))) secrets.add(resolved);
        return resolved;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    return v;
  };
  return { value: walk(value, []), secrets, missing };
}
