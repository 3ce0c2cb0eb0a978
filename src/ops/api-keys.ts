/**
 * The gateway's own API requires credentials: API keys sent as `Authorization: Bearer <key>`.
 * Keys are configured by their SHA-256 hash only (the gateway never holds the key itself), each
 * either `admin` (everything) or scoped to connectors. Entries, comma- or newline-separated,
 * from API_KEYS and/or the file API_KEYS_FILE (# comments allowed):
 *
 *   sha256:<64 hex>:admin
 *   sha256:<64 hex>:connectors=zendesk|hubspot
 *   sha256:<64 hex>                       (all connectors, not admin)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors';

export interface Principal {
  admin: boolean;
  /** undefined = every connector. */
  connectors?: ReadonlySet<string>;
}

interface KeyEntry extends Principal {
  hash: Buffer;
}

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function parseKeyEntries(text: string, where: string): KeyEntry[] {
  return text.split(/[\n,]/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean).map((line) => {
    const m = /^(?:sha256:)?([0-9a-fA-F]{64})(?::(admin|connectors=([a-z0-9_|-]+)))?$/.exec(line);
    if (!m) throw new Error(`${where}: "${line.slice(0, 20)}…" is not "sha256:<64 hex>[:admin|:connectors=a|b]" (keys are configured by their SHA-256 hash)`);
    return { hash: Buffer.from(m[1].toLowerCase(), 'hex'), admin: m[2] === 'admin', connectors: m[3] ? new Set(m[3].split('|')) : undefined };
  });
}

export class ApiKeys {
  /** Tokens already checked (hashing on every request costs ~2% of a call); bounded. */
  private readonly known = new Map<string, Principal | null>();

  constructor(private readonly entries: KeyEntry[]) {}

  static fromEnv(env: NodeJS.ProcessEnv): ApiKeys | undefined {
    const entries = [
      ...(env.API_KEYS ? parseKeyEntries(env.API_KEYS, 'API_KEYS') : []),
      ...(env.API_KEYS_FILE ? parseKeyEntries(fs.readFileSync(env.API_KEYS_FILE, 'utf8'), env.API_KEYS_FILE) : []),
    ];
    return entries.length ? new ApiKeys(entries) : undefined;
  }

  /** A fresh random admin key (when none is configured), and the gate that accepts it. */
  static generated(): { keys: ApiKeys; key: string } {
    const key = `cgw_${crypto.randomBytes(24).toString('base64url')}`;
    return { key, keys: new ApiKeys(parseKeyEntries(hashKey(key) + ':admin', 'generated')) };
  }

  identify(token: string): Principal | undefined {
    const cached = this.known.get(token);
    if (cached !== undefined) return cached ?? undefined;
    const p = this.lookup(token);
    if (this.known.size >= 1000) this.known.clear();
    this.known.set(token, p ?? null);
    return p;
  }

  private lookup(token: string): Principal | undefined {
    const h = crypto.createHash('sha256').update(token).digest();
    // Compare against every entry in constant time, so timing tells nothing about near misses.
    let found: KeyEntry | undefined;
    for (const e of this.entries) if (crypto.timingSafeEqual(e.hash, h) && !found) found = e;
    return found && { admin: found.admin, connectors: found.connectors };
  }
}

const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/v1\/oauth\/callback$/];
const ADMIN: Array<[string, RegExp]> = [
  ['GET', /^\/v1\/connectors\/?$/],
  ['GET', /^\/v1\/connectors\/[^/]+\/?$/],
  ['GET', /^\/v1\/connectors\/[^/]+\/oauth\/authorize$/],
  ['POST', /^\/v1\/deliveries\/[^/]+\/(retry|cancel)$/],
];

/**
 * Who may do this: the principal, or the 401/403 to answer. Pure, so the express middleware
 * and the operations fast lane (src/api/fast-lane.ts) decide alike.
 */
export function authorize(keys: ApiKeys, method: string, path: string, authorization: string | undefined): Principal | undefined | GatewayError {
  if (PUBLIC.some((re) => re.test(path))) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  const principal = m ? keys.identify(m[1]) : undefined;
  if (!principal) return new GatewayError('unauthorized', m ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
  if (!principal.admin && ADMIN.some(([verb, re]) => verb === method && re.test(path))) {
    return new GatewayError('forbidden', `${method} ${path} needs an admin key`);
  }
  const connector = /^\/v1\/connectors\/([^/]+)\//.exec(path)?.[1];
  if (connector && !mayUse(principal, safeDecode(connector))) return new GatewayError('forbidden', `this key may not use connector "${safeDecode(connector)}"`);
  return principal;
}

/** 401 without a valid key, 403 outside its scope; the principal goes to res.locals for finer checks. */
export function requireApiKey(keys: ApiKeys): RequestHandler {
  return (req, res, next) => {
    const p = authorize(keys, req.method, req.path, req.get('authorization'));
    if (p instanceof GatewayError) return next(p);
    res.locals.principal = p;
    next();
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function mayUse(p: Principal | undefined, connector: string): boolean {
  return !p || p.admin || !p.connectors || p.connectors.has(connector);
}
