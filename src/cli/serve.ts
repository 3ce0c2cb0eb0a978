/**
 * Starts the gateway's HTTP server. Settings come from the environment (README table):
 * PORT, HOST, CONFIG_DIR, DATA_DIR, PUBLIC_URL, LOG_LEVEL, GATEWAY_ENCRYPTION_KEY, RETENTION_DAYS…
 */
import http, { type Server } from 'node:http';
import path from 'node:path';
import { KEY_ENV } from '../auth/token-cipher';
import { createHandler } from '../api/app';
import { openStore } from '../delivery/open';
import { DeliveryService } from '../delivery/service';
import type { DeliveryStore } from '../delivery/store';
import { DeliveryWorker } from '../delivery/worker';
import { Gateway } from '../gateway';
import { Metrics } from '../ops/metrics';
import { ApiKeys, watchApiKeys } from '../ops/api-keys';
import { FlowEngine } from '../flows/engine';
import { createStepRunner } from '../flows/steps';
import { createLogger, type Logger } from '../util/logger';
import { requireKeyForOAuth, resolveEncryptionKeys } from '../auth/encryption-setup';
import { RetentionSweeper, retentionDays } from '../delivery/retention';
import { Redactor } from '../util/redact';
import { ZoomSource } from '../platforms/zoom/source';

export interface ServeOptions {
  port?: number;
  host?: string;
  configDir?: string;
  configFiles?: string[];
  dataDir?: string;
  publicUrl?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The secrets masking `logger` applies; given with a logger of one's own, else made here. */
  redactor?: Redactor;
  /** PostgreSQL URL; default env DATABASE_URL; absent = SQLite under dataDir. */
  databaseUrl?: string;
  /** PostgreSQL schema (tests use one per test). */
  databaseSchema?: string;
  /** Deliveries in flight at once; 0 = this process only accepts, others deliver. */
  workers?: number;
  leaseMs?: number;
  pollMs?: number;
  /** Grace period for in-flight deliveries on shutdown. */
  shutdownGraceMs?: number;
  /** API keys; default from API_KEYS/API_KEYS_FILE, else a generated admin key; null = no auth. */
  apiKeys?: ApiKeys | null;
}

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  server: Server;
  store: DeliveryStore;
  worker?: DeliveryWorker;
  deliveries: DeliveryService;
  flows: FlowEngine;
  /** The admin key made at start-up when none was configured (shown once by the demo). */
  generatedKey?: string;
  /** Where the key sealing OAuth tokens came from (never the key), and its file when SQLite keeps one. */
  tokenKey: { source: 'environment' | 'generated' | 'key file' | 'none'; file?: string };
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  // Settings are checked before anything is opened.
  const maxBody = byteCount(env, 'MAX_BODY_BYTES');
  const maxUpload = byteCount(env, 'MAX_UPLOAD_BYTES');
  if (![undefined, '', 'on', 'off'].includes(env.METRICS_AUTH)) throw new Error(`METRICS_AUTH must be "on" or "off", got "${env.METRICS_AUTH}"`);
  const metricsAuth = env.METRICS_AUTH === 'on';
  const redactor = opts.redactor ?? new Redactor();
  const logger = opts.logger ?? createLogger({ level: env.LOG_LEVEL, redactor });
  const dataDir = opts.dataDir ?? env.DATA_DIR ?? 'data';
  const retention = retentionDays(env);
  const databaseUrl = opts.databaseUrl ?? env.DATABASE_URL;
  const encryption = resolveEncryptionKeys(env, { sqlite: !databaseUrl, dataDir });
  const store = await openStore({
    databaseUrl,
    schema: opts.databaseSchema ?? env.DATABASE_SCHEMA,
    dataDir,
    onError: (e) => logger.warn({ err: e }, 'database connection lost; reconnecting on next use'),
    encryption: encryption.keys,
  });
  const gateway = new Gateway({
    configDir: opts.configDir ?? env.CONFIG_DIR ?? 'config',
    configFiles: opts.configFiles,
    dataDir,
    tokenStore: store.tokens,
    env,
    logger,
    redactor,
  });
  gateway.metrics = new Metrics(store);
  gateway.load();
  try {
    await prepareTokens(store, gateway, encryption, dataDir, logger);
  } catch (e) {
    await store.close();
    throw e;
  }
  const deliveries = new DeliveryService(store, gateway);
  const workers = opts.workers ?? Number(env.DELIVERY_WORKERS ?? 8);
  const worker = workers > 0 ? new DeliveryWorker({
    store,
    gateway,
    logger,
    concurrency: workers,
    leaseMs: opts.leaseMs ?? (env.DELIVERY_LEASE_MS ? Number(env.DELIVERY_LEASE_MS) : undefined),
    pollMs: opts.pollMs ?? (env.DELIVERY_POLL_MS ? Number(env.DELIVERY_POLL_MS) : undefined),
    onFollowUp: (parent, op, vars) => deliveries.followUp(parent, op, vars),
    onSettled: (d, status) => deliveries.settled(d.id, status),
    runStep: createStepRunner(store),
  }) : undefined;
  deliveries.worker = worker;
  const flows = new FlowEngine(store, deliveries, gateway);
  // Zoom-style webhooks: reconciliation runs per connector every webhooks.zoom.reconcile.every_hours.
  const zoom = new ZoomSource(gateway, flows, store, logger);
  // Safe by default: without configured keys, a random admin key is made and shown once.
  // GATEWAY_AUTH=off opens the API (local experiments only).
  let apiKeys = opts.apiKeys ?? (env.GATEWAY_AUTH === 'off' ? undefined : ApiKeys.fromEnv(env));
  let generatedKey: string | undefined;
  if (!apiKeys && env.GATEWAY_AUTH !== 'off' && opts.apiKeys !== null) {
    const g = ApiKeys.generated();
    apiKeys = g.keys;
    generatedKey = g.key;
  }
  // Configured keys reload without a restart (file change or SIGHUP), so a leaked key is revoked at once.
  const stopKeyWatch = apiKeys && !generatedKey && opts.apiKeys === undefined ? watchApiKeys(apiKeys, env, logger) : undefined;
  const handler = createHandler(gateway, { deliveries, store, flows, zoom, apiKeys: apiKeys ?? undefined, metricsAuth, jsonLimit: maxBody === undefined ? undefined : `${maxBody}b`, maxUploadBytes: maxUpload });
  const host = opts.host ?? env.HOST ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = http.createServer(handler).listen(opts.port ?? Number(env.PORT ?? 3000), host, () => resolve(s));
    s.once('error', reject);
  });
  // Slow clients must not hold a connection forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  gateway.listen.add(host, port);
  gateway.publicUrl = opts.publicUrl ?? env.PUBLIC_URL ?? url;
  gateway.listen.addPublicUrl(gateway.publicUrl);
  worker?.start();
  const sweeper = new RetentionSweeper({ store, days: retention, logger, now: gateway.now });
  sweeper.start();
  zoom.start();
  if (!opts.configFiles && env.CONFIG_WATCH !== 'off') gateway.watch();
  logger.info({ url, store: store.kind, workers, connectors: gateway.list().map((l) => `${l.id}:${l.connector ? 'valid' : 'invalid'}`) }, 'gateway listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    gateway,
    server,
    store,
    worker,
    deliveries,
    flows,
    generatedKey,
    tokenKey: { source: encryption.source, file: encryption.keyFile },
    // Graceful: stop accepting, let in-flight deliveries finish (or give them back), close the store.
    close: () => (closing ??= (async () => {
      gateway.unwatch();
      stopKeyWatch?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await worker?.stop(opts.shutdownGraceMs ?? Number(env.SHUTDOWN_GRACE_MS ?? 10_000));
      await sweeper.stop();
      await zoom.stop();
      server.closeAllConnections();
      await closed;
      await store.close();
    })()),
  };
}

/**
 * OAuth tokens at rest: PostgreSQL without a key is refused once an OAuth connector exists;
 * then plaintext tokens of earlier versions are sealed and values sealed with a previous key
 * are sealed again with the current one.
 */
async function prepareTokens(store: DeliveryStore, gateway: Gateway, encryption: ReturnType<typeof resolveEncryptionKeys>, dataDir: string, logger: Logger): Promise<void> {
  requireKeyForOAuth(encryption, gateway.list().filter((l) => l.connector?.auth.type === 'oauth2').map((l) => l.id));
  if (encryption.source === 'generated') logger.warn({ key_file: encryption.keyFile }, `no ${KEY_ENV}: generated a key for OAuth tokens at rest into the data directory (mode 0600); set ${KEY_ENV} to manage it yourself`);
  const upgraded = await store.tokens.upgrade(path.join(dataDir, 'oauth-tokens.json'));
  if (upgraded.sealed || upgraded.resealed || upgraded.legacyFileRemoved) logger.info({ sealed: upgraded.sealed, resealed: upgraded.resealed, legacy_file_removed: upgraded.legacyFileRemoved }, 'OAuth tokens at rest: sealed plaintext tokens of an earlier version, re-sealed tokens with the current key');
  if (upgraded.plaintextLeft) logger.warn({ count: upgraded.plaintextLeft }, `plaintext OAuth tokens of an earlier version remain (table oauth_tokens, or ${path.join(dataDir, 'oauth-tokens.json')}): set ${KEY_ENV} to encrypt them`);
  if (upgraded.unreadable.length) logger.warn({ connectors: upgraded.unreadable }, `OAuth tokens sealed with a key that is neither ${KEY_ENV} nor in ${KEY_ENV}_PREVIOUS: set that key, or authorize these connectors again`);
}

/** A size limit from the environment: a whole number of bytes, or a start-up error naming it. */
function byteCount(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) throw new Error(`${name} must be a whole number of bytes greater than 0, got "${raw}"`);
  return Number(raw);
}
