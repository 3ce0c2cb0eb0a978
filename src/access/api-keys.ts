/**
 * The gateway's own API requires credentials: API keys sent as `Authorization: Bearer <key>`.
 * Keys are configured by their SHA-256 hash only (the gateway never holds the key itself), each
 * either `admin` (everything) or scoped to connectors. Entries, comma- or newline-separated,
 * from API_KEYS and/or the file API_KEYS_FILE (# comments allowed):
 *
 *   sha256:<64 hex>:admin
 *   sha256:<64 hex>:connectors=zendesk|hubspot
 *   sha256:<64 hex>                       (all connectors, not admin)
 *   sha256:<64 hex>:metrics               (GET /metrics only, when METRICS_AUTH=on)
 *
 * The set can be replaced while running (`reload`, on a change of API_KEYS_FILE or SIGHUP):
 * the cache of checked tokens goes with it, so a revoked key stops working at once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../util/logger';

export interface Principal {
  admin: boolean;
  /** undefined = every connector; a metrics key has none. */
  connectors?: ReadonlySet<string>;
  /** A metrics key: may read /metrics (with METRICS_AUTH=on) and nothing else. */
  metrics?: boolean;
}

interface KeyEntry extends Principal {
  hash: Buffer;
}

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function parseKeyEntries(text: string, where: string): KeyEntry[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .map((line, i) => {
      const m = /^(?:sha256:)?([0-9a-fA-F]{64})(?::(admin|metrics|connectors=([a-z0-9_|-]+)))?$/.exec(line);
      if (!m) throw new Error(`${where}: entry ${i + 1} is not "sha256:<64 hex>[:admin|:metrics|:connectors=a|b]" (keys are configured by their SHA-256 hash)`);
      const hash = Buffer.from(m[1].toLowerCase(), 'hex');
      if (m[2] === 'metrics') return { hash, admin: false, metrics: true, connectors: new Set<string>() };
      return { hash, admin: m[2] === 'admin', connectors: m[3] ? new Set(m[3].split('|')) : undefined };
    });
}

export class ApiKeys {
  /** Tokens already checked (hashing on every request costs ~2% of a call); bounded. */
  private known = new Map<string, Principal | null>();

  constructor(private entries: KeyEntry[]) {}

  static fromEnv(env: NodeJS.ProcessEnv): ApiKeys | undefined {
    const entries = entriesFromEnv(env);
    return entries.length ? new ApiKeys(entries) : undefined;
  }

  /** How many keys are configured (for the reload log line; never the keys). */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Replaces the keys (API_KEYS and API_KEYS_FILE read again). A file that does not parse, or
   * that leaves no key at all, is refused and the current keys stay: a typo must not open or
   * lock the API. Returns the error, if any, for the caller to log.
   */
  reload(env: NodeJS.ProcessEnv): Error | undefined {
    let entries: KeyEntry[];
    try {
      entries = entriesFromEnv(env);
    } catch (e) {
      return e as Error;
    }
    if (!entries.length) return new Error('API_KEYS and API_KEYS_FILE hold no key; keeping the current keys');
    this.entries = entries;
    // Checked tokens go too: a revoked key must fail on its very next request.
    this.known = new Map();
    return undefined;
  }

  /** A fresh random admin key (when none is configured), and the gate that accepts it. */
  static generated(): { keys: ApiKeys; key: string } {
    const key = `cgw_${crypto.randomBytes(24).toString('base64url')}`;
    return { key, keys: new ApiKeys(parseKeyEntries(`${hashKey(key)}:admin`, 'generated')) };
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
    return found && { admin: found.admin, connectors: found.connectors, ...(found.metrics ? { metrics: true } : {}) };
  }
}

export function mayUse(p: Principal | undefined, connector: string): boolean {
  return !p || p.admin || !p.connectors || p.connectors.has(connector);
}

function entriesFromEnv(env: NodeJS.ProcessEnv): KeyEntry[] {
  return [
    ...(env.API_KEYS ? parseKeyEntries(env.API_KEYS, 'API_KEYS') : []),
    ...(env.API_KEYS_FILE ? parseKeyEntries(fs.readFileSync(env.API_KEYS_FILE, 'utf8'), env.API_KEYS_FILE) : []),
  ];
}

/**
 * Reloads the keys when API_KEYS_FILE changes (watched through its directory, so an editor's
 * save-by-rename is seen too) and on SIGHUP (which also re-reads nothing else). Returns the stop.
 */
export function watchApiKeys(keys: ApiKeys, env: NodeJS.ProcessEnv, logger: Logger, debounceMs = 50): () => void {
  const reload = (why: string) => {
    const err = keys.reload(env);
    if (err) logger.error({ reason: err.message, trigger: why }, 'API keys not reloaded; the current keys stay');
    else logger.info({ keys: keys.size, trigger: why }, 'API keys reloaded');
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let timer: NodeJS.Timeout | undefined;
  let watcher: fs.FSWatcher | undefined;
  const file = env.API_KEYS_FILE;
  if (file) {
    const base = path.basename(file);
    try {
      watcher = fs.watch(path.dirname(path.resolve(file)), (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(timer);
        timer = setTimeout(() => reload('file change'), debounceMs);
      });
      watcher.on('error', (e) => logger.warn({ err: e }, 'API_KEYS_FILE watch failed; SIGHUP still reloads'));
    } catch (e) {
      logger.warn({ err: e }, 'API_KEYS_FILE cannot be watched; SIGHUP still reloads');
    }
  }
  return () => {
    process.off('SIGHUP', onHup);
    clearTimeout(timer);
    watcher?.close();
  };
}
