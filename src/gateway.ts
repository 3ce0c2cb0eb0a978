/**
 * The gateway's state: loaded connectors (valid or not), one runtime per valid connector,
 * pending OAuth authorizations. The API and CLI talk to this, never to files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MemoryTokenStore, type TokenStore } from './auth/token-store';
import { OAuth2Provider, newNonce } from './auth/oauth2';
import { errorsOf, loadConnectorDir, loadConnectorFile, type LoadedConnector } from './config/load';
import type { Connector } from './config/types';
import { GatewayError } from './errors';
import { createRuntime, type ConnectorRuntime } from './operations/runtime';
import { formatIssue } from './config/yaml-source';
import { ListenAddresses } from './http/ssrf';
import { Redactor, connectorSecrets } from './util/redact';
import { silentLogger, type Logger } from './util/logger';
import type { Metrics } from './metrics/metrics';
import { MemoryBuckets, PacedLimiter, UNLIMITED, type BucketBackend, type CrmLimiter } from './pacing/limiter';

export interface GatewayOptions {
  /** A directory of connector YAML files, or explicit files. */
  configDir?: string;
  configFiles?: string[];
  env?: NodeJS.ProcessEnv;
  /** Where tokens persist (serve passes the durable store's sealed tokens); default memory. */
  tokenStore?: TokenStore;
  dataDir?: string;
  /** Public base URL of this gateway, for the OAuth redirect URL. */
  publicUrl?: string;
  logger?: Logger;
  now?: () => number;
  /**
   * This gateway's secrets masking; pass the one the logger masks with (serve does), or a new
   * one is made.
   */
  redactor?: Redactor;
  /** Another gateway's own addresses, which this one must never call either (a contract test run inside a serving gateway). */
  listen?: ListenAddresses;
  /**
   * Where rate-limit buckets live: PostgreSQL shares them between replicas (serve passes the
   * store's); default in memory, per process.
   */
  rateBuckets?: { forConnector(connectorId: string): BucketBackend };
}

interface PendingAuthorization {
  connectorId: string;
  createdAt: number;
}
const AUTHORIZATION_TTL_MS = 10 * 60 * 1000;

export class Gateway {
  readonly logger: Logger;
  private loaded = new Map<string, LoadedConnector>();
  private runtimes = new Map<string, ConnectorRuntime>();
  /** One limiter per connector id, outliving runtimes: a config reload never refills a budget. */
  private limiters = new Map<string, PacedLimiter>();
  private pending = new Map<string, PendingAuthorization>();
  private readonly tokenStore: TokenStore;
  publicUrl: string;
  readonly now: () => number;
  /** Prometheus metrics, when the gateway serves /metrics. */
  metrics?: Metrics;
  /** Secrets masking for everything this gateway writes out (per instance, never shared). */
  readonly redactor: Redactor;
  /** Where this gateway listens (serve adds it): no connector may send requests there. */
  readonly listen: ListenAddresses;

  constructor(private readonly opts: GatewayOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.redactor = opts.redactor ?? new Redactor();
    this.tokenStore = opts.tokenStore ?? new MemoryTokenStore();
    this.publicUrl = opts.publicUrl ?? 'http://127.0.0.1:3000';
    this.listen = opts.listen ?? new ListenAddresses();
  }

  private watcher?: fs.FSWatcher;
  private timers = new Map<string, NodeJS.Timeout>();

  /**
   * Hot reload: a changed file in the config directory is validated and swapped in atomically;
   * an invalid change keeps the previous version (logged, and shown with its errors as
   * `rejected_change` on GET /v1/connectors/{id}).
   */
  watch(debounceMs = 150): void {
    if (this.watcher || !this.opts.configDir) return;
    const dir = this.opts.configDir;
    this.watcher = fs.watch(dir, (_event, name) => {
      if (!name || !/\.ya?ml$/i.test(String(name))) return;
      const file = path.join(dir, String(name));
      clearTimeout(this.timers.get(file));
      this.timers.set(
        file,
        setTimeout(() => {
          this.timers.delete(file);
          this.reloadFile(file);
        }, debounceMs),
      );
    });
    this.watcher.on('error', (e) => this.logger.warn({ err: e }, 'config watch failed'));
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
  }

  reloadFile(file: string): void {
    const previous = [...this.loaded.values()].find((l) => l.file === file);
    if (!fs.existsSync(file)) {
      if (previous) {
        this.loaded.delete(previous.id);
        this.limiters.delete(previous.id);
        this.logger.info({ connector: previous.id }, 'connector removed (file deleted)');
      }
      return;
    }
    const next = loadConnectorFile(file, this.opts.env ?? process.env);
    const clash = this.loaded.get(next.id);
    if (clash && clash.file !== file) {
      this.logger.error({ connector: next.id, file }, `connector id "${next.id}" is already used by ${clash.file}; change ignored`);
      return;
    }
    if (!next.connector && previous?.connector) {
      // Keep serving the last good version; show what was wrong with the new one.
      this.loaded.set(previous.id, { ...previous, rejected: next.issues, rejectedAt: this.now() });
      for (const i of next.issues) this.logger.error({ connector: previous.id }, `reload rejected: ${formatIssue(i)}`);
      return;
    }
    if (previous && previous.id !== next.id) {
      this.loaded.delete(previous.id);
      this.limiters.delete(previous.id);
    }
    if (next.connector) this.redactor.setSource(next.id, connectorSecrets(next.connector));
    this.loaded.set(next.id, next);
    this.logger.info({ connector: next.id, valid: Boolean(next.connector) }, 'connector reloaded');
  }

  /** (Re)loads all connectors; returns them for reporting. */
  load(): LoadedConnector[] {
    const env = this.opts.env ?? process.env;
    const list = this.opts.configFiles ? this.opts.configFiles.map((f) => loadConnectorFile(f, env)) : loadConnectorDir(this.opts.configDir ?? 'config', env);
    this.loaded = new Map(list.map((l) => [l.id, l]));
    this.runtimes.forEach((rt) => retire(rt));
    this.runtimes.clear();
    for (const l of list) {
      if (l.connector) this.redactor.setSource(l.id, connectorSecrets(l.connector));
      for (const i of l.issues) this.logger[i.severity === 'error' ? 'error' : 'warn']({ connector: l.id }, formatIssue(i));
    }
    return list;
  }

  list(): LoadedConnector[] {
    return [...this.loaded.values()];
  }

  /** The directory the connectors are read from, when the gateway runs from one (PUT …/config writes there). */
  get configDir(): string | undefined {
    return this.opts.configFiles ? undefined : (this.opts.configDir ?? 'config');
  }

  /** The environment `${env:…}` placeholders resolve from (validating a submitted text compiles as loading does). */
  get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  /**
   * Whether the connector can call its CRM as configured: 'static' credentials, or the state of
   * the OAuth authorization-code token an admin obtained (never the token itself).
   */
  async authState(id: string): Promise<{ state: 'static' | 'connected' | 'not_connected' | 'expired'; expires_at?: string }> {
    const c = this.connector(id);
    if (c.auth.type !== 'oauth2' || c.auth.grant !== 'authorization_code') return { state: 'static' };
    const token = await this.tokenStore.get(id).catch(() => undefined);
    if (!token) return { state: 'not_connected' };
    const expiresAt = token.expires_at === undefined ? {} : { expires_at: new Date(token.expires_at).toISOString() };
    // An expired access token with a refresh token is refreshed on the next call: still connected.
    if (token.expires_at !== undefined && token.expires_at <= this.now() && !token.refresh_token) return { state: 'expired', ...expiresAt };
    return { state: 'connected', ...expiresAt };
  }

  entry(id: string): LoadedConnector {
    const l = this.loaded.get(id);
    if (!l) throw new GatewayError('connector_not_found', `no connector "${id}"; known: ${[...this.loaded.keys()].join(', ') || '(none)'}`, { connector: id });
    return l;
  }

  connector(id: string): Connector {
    const l = this.entry(id);
    if (!l.connector) {
      const errors = errorsOf(l);
      throw new GatewayError('config_invalid', `connector "${id}" has ${errors.length} configuration error${errors.length === 1 ? '' : 's'}; fix ${l.file}`, {
        errors: errors.map(formatIssue),
      });
    }
    return l.connector;
  }

  runtime(id: string): ConnectorRuntime {
    const connector = this.connector(id);
    let rt = this.runtimes.get(id);
    if (!rt || rt.connector !== connector) {
      if (rt) retire(rt);
      rt = createRuntime(connector, {
        tokenStore: this.tokenStore,
        oauthRedirectUrl: `${this.publicUrl}/v1/oauth/callback`,
        now: this.now,
        redactor: this.redactor,
        listen: this.listen,
        limiter: this.limiterFor(connector),
        onToken: (e) => {
          this.metrics?.tokenRefreshes.inc({ connector: e.connector, grant: e.grant, result: e.ok ? 'ok' : 'error' });
          this.logger[e.ok ? 'info' : 'warn'](e, 'oauth token');
        },
      });
      this.runtimes.set(id, rt);
    }
    return rt;
  }

  /** The connector's limiter: the same one across reloads while it has a rate_limit. */
  private limiterFor(connector: Connector): CrmLimiter {
    const limit = connector.rateLimit;
    const existing = this.limiters.get(connector.id);
    if (!limit) {
      // rate_limit removed by a reload: calls in flight keep the old limiter, new ones are
      // unpaced, and the connector leaves the queue gauge.
      this.limiters.delete(connector.id);
      return UNLIMITED;
    }
    if (existing) {
      existing.update(limit);
      return existing;
    }
    const backend = this.opts.rateBuckets?.forConnector(connector.id) ?? new MemoryBuckets();
    const limiter = new PacedLimiter(connector.id, limit, backend, {
      now: this.now,
      logger: this.logger,
      onWait: (c, seconds) => this.metrics?.rateLimitWait.observe({ connector: c }, seconds),
      onThrottled: (c, source) => this.metrics?.rateLimitThrottled.inc({ connector: c, source }),
    });
    this.limiters.set(connector.id, limiter);
    return limiter;
  }

  /** Paced connectors' limiters (queue depth for /metrics). */
  pacedLimiters(): ReadonlyMap<string, PacedLimiter> {
    return this.limiters;
  }

  /** The metrics hook for CRM calls (undefined without metrics). */
  get observe(): ((connector: string, operation: string, outcome: string, ms: number) => void) | undefined {
    const m = this.metrics;
    return m && ((c, o, k, ms) => m.observeCall(c, o, k, ms));
  }

  /** Starts an authorization-code flow: the URL to send the admin to. */
  beginAuthorization(id: string): string {
    const rt = this.runtime(id);
    if (!(rt.auth instanceof OAuth2Provider) || rt.connector.auth.type !== 'oauth2' || rt.connector.auth.grant !== 'authorization_code') {
      throw new GatewayError('bad_request', `connector "${id}" does not use the OAuth2 authorization-code grant`);
    }
    const nonce = newNonce();
    this.pending.set(nonce, { connectorId: id, createdAt: this.now() });
    return rt.auth.authorizeUrl(nonce);
  }

  /** The CRM redirected back: check the state, exchange the code, persist the token. */
  async completeAuthorization(state: string | undefined, code: string | undefined): Promise<string> {
    if (!state || !code) throw new GatewayError('oauth_callback_invalid', 'the callback needs both "code" and "state"');
    const nonce = state.includes(':') ? state.slice(state.lastIndexOf(':') + 1) : state;
    const p = this.pending.get(nonce);
    this.pending.delete(nonce);
    if (!p || this.now() - p.createdAt > AUTHORIZATION_TTL_MS)
      throw new GatewayError('oauth_callback_invalid', 'unknown or expired state; start again from /v1/connectors/{id}/oauth/authorize');
    const rt = this.runtime(p.connectorId);
    await (rt.auth as OAuth2Provider).completeAuthorization(code);
    return p.connectorId;
  }
}

/**
 * A connector version was replaced. An operation that started on it keeps using its runtime for
 * every call it makes (a create then its comment, a 401 resend, a find before a create), so its
 * connection pool closes only after the longest such operation could have finished.
 */
const RETIRE_AFTER_MS = 120_000;
function retire(rt: ConnectorRuntime): void {
  setTimeout(() => {
    rt.http.close().catch(() => undefined);
  }, RETIRE_AFTER_MS).unref();
}
