/**
 * The gateway's routes and who may call each: one table, matched and authorized here for both
 * the express app (app.ts) and the operations fast lane (fast-lane.ts), so the two cannot judge
 * the same request differently.
 *
 * Matching is exact: case-sensitive literal segments, no trailing slash, no empty segment, no
 * dot segment, parameters percent-decoded once. A path the table does not know is a 404, and a
 * known path with a method it does not serve a 405 naming the methods it does (Allow), both
 * before a key is even looked at. HEAD is authorized as the GET of the same path (express
 * serves it with the GET handler); OPTIONS and every other method are not served (405).
 *
 * Authorization is on the matched route and its parameters, never on a re-read of the URL:
 *   public             anyone (a platform webhook: the handler checks the platform's signature)
 *   metrics            anyone, or with METRICS_AUTH=on an admin or metrics key
 *   admin              admin keys
 *   key                any valid key (the handler narrows, e.g. deliveries listed per scope)
 *   connector(param)   a key whose scope includes the connector named by the parameter
 *   delivery(param)    a key whose scope includes the connector of that delivery; any other
 *                      answer is 404, as if the delivery did not exist (its id tells nothing)
 *
 * To add a route: one line in ROUTES (and its express handler; test/security/route-auth.test.ts
 * checks both agree).
 */
import { GatewayError, MethodNotAllowedError } from '../errors';
import { mayUse, type ApiKeys, type Principal } from '../access/api-keys';

export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'key' }
  | { readonly kind: 'connector'; readonly param: string }
  | { readonly kind: 'delivery'; readonly param: string };

/** The methods the table serves (HEAD is served as GET). */
export type Verb = 'GET' | 'POST' | 'PUT';
const VERBS: readonly Verb[] = ['GET', 'POST', 'PUT'];

export interface RouteSpec {
  readonly method: Verb;
  /** Express syntax: literal segments and `:name` parameters. */
  readonly path: string;
  readonly access: Access;
}

const PUBLIC: Access = { kind: 'public' };
const KEY: Access = { kind: 'key' };
const ADMIN: Access = { kind: 'admin' };
const connector = (param: string): Access => ({ kind: 'connector', param });
const delivery = (param: string): Access => ({ kind: 'delivery', param });

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/healthz', access: PUBLIC },
  { method: 'GET', path: '/readyz', access: PUBLIC },
  { method: 'GET', path: '/metrics', access: { kind: 'metrics' } },
  // The API's own description: what any client may read before it holds a key.
  { method: 'GET', path: '/openapi.yaml', access: PUBLIC },
  { method: 'GET', path: '/docs', access: PUBLIC },
  // The browser console's static files (no data: the page calls the API below with its user's key).
  { method: 'GET', path: '/console', access: PUBLIC },
  { method: 'GET', path: '/console/:asset', access: PUBLIC },
  // What the key may see: the console shows and hides by it (every action is still checked here).
  { method: 'GET', path: '/v1/me', access: KEY },
  // Listed per scope by the handler: a scoped key sees its connectors only.
  { method: 'GET', path: '/v1/connectors', access: KEY },
  // The raw YAML and its hash are in the answer for admin keys only (the handler decides).
  { method: 'GET', path: '/v1/connectors/:id', access: connector('id') },
  { method: 'GET', path: '/v1/connectors/:id/links', access: connector('id') },
  { method: 'GET', path: '/v1/connectors/:id/operations', access: connector('id') },
  // Validates a text and writes nothing.
  { method: 'POST', path: '/v1/connectors/:id/validate', access: connector('id') },
  // Writes the connector's file: what the gateway sends where, with which credentials.
  { method: 'PUT', path: '/v1/connectors/:id/config', access: ADMIN },
  // Contract tests call a CRM with the connector's credentials and create objects there.
  { method: 'POST', path: '/v1/connectors/:id/contract-tests', access: ADMIN },
  { method: 'GET', path: '/v1/contract-tests/:runId', access: ADMIN },
  { method: 'GET', path: '/v1/contract-tests/:runId/events', access: ADMIN },
  { method: 'GET', path: '/v1/contract-tests/:runId/junit', access: ADMIN },
  { method: 'POST', path: '/v1/connectors/:id/operations/:operation', access: connector('id') },
  { method: 'GET', path: '/v1/connectors/:id/oauth/authorize', access: ADMIN },
  { method: 'GET', path: '/v1/oauth/callback', access: PUBLIC },
  { method: 'POST', path: '/v1/connectors/:id/sessions/:sessionId/events', access: connector('id') },
  { method: 'GET', path: '/v1/connectors/:id/sessions/:sessionId', access: connector('id') },
  { method: 'GET', path: '/v1/connectors/:id/sessions', access: connector('id') },
  { method: 'POST', path: '/v1/connectors/:id/flow-posts/:name', access: connector('id') },
  // Public: the platform calls it and cannot hold one of our API keys. Its HMAC signature with the
  // connector's webhooks.zoom.secret_token, checked by the handler on the raw body within a 5-minute
  // window, authenticates it instead: unsigned, forged or stale requests are 401 and store nothing.
  { method: 'POST', path: '/v1/connectors/:id/webhooks/zoom', access: PUBLIC },
  { method: 'POST', path: '/v1/connectors/:id/webhooks/zoom/reconcile', access: ADMIN },
  { method: 'GET', path: '/v1/deliveries', access: KEY },
  { method: 'GET', path: '/v1/deliveries/:id', access: delivery('id') },
  { method: 'POST', path: '/v1/deliveries/:id/retry', access: ADMIN },
  { method: 'POST', path: '/v1/deliveries/:id/cancel', access: ADMIN },
  { method: 'POST', path: '/v1/deliveries/:id/resolve', access: ADMIN },
];

/** The hottest route, served by the fast lane. */
export const OPERATION_ROUTE = ROUTES.find((r) => r.path === '/v1/connectors/:id/operations/:operation')!;

/** A decoded path parameter longer than this matches nothing (ids and names are short). */
export const MAX_PARAM_LENGTH = 256;

interface CompiledRoute {
  readonly spec: RouteSpec;
  /** Per segment: the literal, or null for a parameter. */
  readonly literals: ReadonlyArray<string | null>;
  readonly params: ReadonlyArray<string | null>;
}

export interface RouteMatch {
  readonly spec: RouteSpec;
  readonly params: Readonly<Record<string, string>>;
}

/** Routes by "METHOD segment-count first-segment": a lookup, then at most a handful of candidates. */
function compile(routes: readonly RouteSpec[]): Map<string, CompiledRoute[]> {
  const table = new Map<string, CompiledRoute[]>();
  for (const spec of routes) {
    const segments = spec.path.slice(1).split('/');
    const literals = segments.map((s) => (s.startsWith(':') ? null : s));
    const params = segments.map((s) => (s.startsWith(':') ? s.slice(1) : null));
    const key = `${spec.method} ${segments.length} ${segments[0]}`;
    table.set(key, [...(table.get(key) ?? []), { spec, literals, params }]);
  }
  return table;
}

const TABLE = compile(ROUTES);

/** A request path is visible ASCII (clients send "|" or "{" raw, non-ASCII percent-encoded); no fragment. */
const PATH_CHARS = /^\/[\x21-\x22\x24-\x7e]*$/;

/** The route for this method and raw path (without the query), or undefined: 404. */
export function matchRoute(method: string, rawPath: string): RouteMatch | undefined {
  const verb = method === 'HEAD' ? 'GET' : method;
  if (!(VERBS as readonly string[]).includes(verb)) return undefined;
  return matchVerb(verb as Verb, rawPath);
}

/** The methods a path is served with (HEAD with GET), or [] when the path is no route. */
export function allowedMethods(rawPath: string): string[] {
  const allow: string[] = [];
  if (matchVerb('GET', rawPath)) allow.push('GET', 'HEAD');
  if (matchVerb('POST', rawPath)) allow.push('POST');
  if (matchVerb('PUT', rawPath)) allow.push('PUT');
  return allow;
}

function matchVerb(verb: Verb, rawPath: string): RouteMatch | undefined {
  if (!PATH_CHARS.test(rawPath)) return undefined;
  const segments = rawPath.slice(1).split('/');
  const candidates = TABLE.get(`${verb} ${segments.length} ${segments[0]}`);
  if (!candidates) return undefined;
  outer: for (const c of candidates) {
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const lit = c.literals[i];
      if (lit !== null) {
        if (segments[i] !== lit) continue outer;
        continue;
      }
      const value = decodeParam(segments[i]);
      if (value === undefined) continue outer;
      params[c.params[i]!] = value;
    }
    return { spec: c.spec, params };
  }
  return undefined;
}

function decodeParam(raw: string): string | undefined {
  if (raw === '' || raw === '.' || raw === '..') return undefined;
  let value: string;
  try {
    value = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return undefined;
  }
  if (value === '' || value.length > MAX_PARAM_LENGTH || value === '.' || value === '..') return undefined;
  return value;
}

export interface AccessOptions {
  /** METRICS_AUTH=on: /metrics needs an admin or metrics key. */
  metricsAuth?: boolean;
}

/** What a matched route needs still: a look at the delivery's connector (delivery routes only). */
export interface Authorized {
  principal: Principal | undefined;
  /** Set when the key is connector-scoped and the route names a delivery: check its connector, else 404. */
  deliveryId?: string;
}

/**
 * Who may call the matched route: the principal, or the 401/403 to answer. Pure and cheap (a map
 * lookup for the key, a set lookup for the scope), so the fast lane can afford it on every call.
 */
export function authorizeRoute(
  keys: ApiKeys | undefined,
  match: RouteMatch,
  authorization: string | undefined,
  o: AccessOptions = {},
): Authorized | GatewayError {
  const access = match.spec.access;
  if (access.kind === 'public' || (access.kind === 'metrics' && !o.metricsAuth) || !keys) return { principal: undefined };
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  const principal = m ? keys.identify(m[1]) : undefined;
  if (!principal) return new GatewayError('unauthorized', m ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
  const what = `${match.spec.method} ${match.spec.path}`;
  if (principal.metrics && !principal.admin && access.kind !== 'metrics') return new GatewayError('forbidden', 'a metrics key may read /metrics only');
  switch (access.kind) {
    case 'metrics':
      return principal.admin || principal.metrics ? { principal } : new GatewayError('forbidden', `${what} needs an admin or metrics key`);
    case 'admin':
      return principal.admin ? { principal } : new GatewayError('forbidden', `${what} needs an admin key`);
    case 'key':
      return { principal };
    case 'connector': {
      const id = match.params[access.param];
      return mayUse(principal, id) ? { principal } : new GatewayError('forbidden', `this key may not use connector "${id}"`);
    }
    case 'delivery':
      return principal.admin || !principal.connectors ? { principal } : { principal, deliveryId: match.params[access.param] };
  }
}

/** The delivery-route check: a delivery outside the key's scope does not exist for it. */
export function deliveryInScope(principal: Principal | undefined, id: string, connectorOf: string | undefined): GatewayError | undefined {
  return connectorOf !== undefined && mayUse(principal, connectorOf) ? undefined : new GatewayError('not_found', `no delivery ${id}`);
}

/**
 * No route for this method and path: 405 with the methods the path does take, or 404 when the
 * path is no route at all. The same answer for everyone, before anything else is looked at.
 */
export function noRoute(method: string, rawPath: string): GatewayError {
  const shown = rawPath.length > 200 ? `${rawPath.slice(0, 200)}…` : rawPath;
  const allow = allowedMethods(rawPath);
  if (allow.length) return new MethodNotAllowedError(allow, `${shown} does not accept ${method}; it accepts ${allow.join(', ')}`);
  return new GatewayError('not_found', `no route for ${method} ${shown}`);
}
