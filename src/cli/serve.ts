/**
 * Starts the gateway's HTTP server. Settings come from the environment (README table):
 * PORT, HOST, CONFIG_DIR, DATA_DIR, PUBLIC_URL, LOG_LEVEL, GATEWAY_ENCRYPTION_KEY, RETENTION_DAYS…
 */
import http, { type Server } from 'node:http';
import path from 'node:path';
import { KEY_ENV } from '../auth/token-cipher';
import { createHandler } from '../api/app';
import { ContractRuns } from '../api/contract-runs';
import { openStore } from '../delivery/open';
import { PostgresStore } from '../delivery/postgres-store';
import { postgresRateBuckets } from '../pacing/postgres-buckets';
import { DeliveryService } from '../delivery/service';
import type { DeliveryStore } from '../delivery/store';
import { DeliveryWorker } from '../delivery/worker';
import { Gateway } from '../gateway';
import { Metrics } from '../metrics/metrics';
import { ApiKeys, watchApiKeys } from '../access/api-keys';
import { FlowEngine } from '../flows/engine';
import { createStepRunner } from '../flows/steps';
import { createLogger, type Logger } from '../util/logger';
import { requireKeyForOAuth, resolveEncryptionKeys } from '../auth/encryption-setup';
import { RetentionSweeper } from '../delivery/retention';
import { readSettings } from '../config/settings';
import { startTracing } from '../util/tracing';
import { UnidentifiedSweeper } from '../flows/unidentified-sweep';
import { Redactor } from '../util/redact';
import { ZoomSource } from '../platforms/zoom/source';
import { FileStores } from '../storage/registry';
import { StoreStartup, storeErrorFields } from '../delivery/store-startup';

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
  // Settings are checked before anything is opened: every unreadable one, one line each.
  const settings = readSettings(env);
  const maxBody = settings.MAX_BODY_BYTES;
  const maxUpload = settings.MAX_UPLOAD_BYTES;
  const metricsAuth = settings.METRICS_AUTH === 'on';
  const redactor = opts.redactor ?? new Redactor();
  // Off unless the OTEL_* variables ask for it.
  const stopTracing = startTracing(env);
  const logger = opts.logger ?? createLogger({ level: settings.LOG_LEVEL, format: settings.LOG_FORMAT, redactor });
  const dataDir = opts.dataDir ?? settings.DATA_DIR;
  const retention = settings.RETENTION_DAYS;
  const databaseUrl = opts.databaseUrl ?? settings.DATABASE_URL;
  const encryption = resolveEncryptionKeys(env, { sqlite: !databaseUrl, dataDir });
  const store = await openStore({
    databaseUrl,
    schema: opts.databaseSchema ?? settings.DATABASE_SCHEMA,
    dataDir,
    // One line (message and code): the error object carries the whole pg client (~7 KB).
    onError: (e) => logger.warn(storeErrorFields(e), 'database connection lost; reconnecting on next use'),
    encryption: encryption.keys,
    migrate: false,
  });
  const gateway = new Gateway({
    configDir: opts.configDir ?? settings.CONFIG_DIR,
    configFiles: opts.configFiles,
    dataDir,
    tokenStore: store.tokens,
    env,
    logger,
    redactor,
    // Replicas on one PostgreSQL share each connector's rate limit; on SQLite it is per process.
    ...(store instanceof PostgresStore ? { rateBuckets: postgresRateBuckets(store.pool, logger) } : {}),
  });
  gateway.metrics = new Metrics(store);
  gateway.metrics.pacedQueues = () => gateway.pacedLimiters();
  gateway.load();
  // The store is ready once its migrations ran and its tokens were checked. SQLite (a local
  // file) fails start-up at once; PostgreSQL may be down or not there yet: the gateway then
  // listens anyway (/readyz 503 says why, sync operations work) and tries again with backoff.
  const startup = new StoreStartup({
    logger,
    open: async () => {
      await store.migrate();
      await upgradeTokens(store, dataDir, logger);
    },
  });
  let storeReady: boolean;
  try {
    checkTokenKey(gateway, encryption, logger);
    if (store.kind === 'sqlite') {
      await startup.open();
      storeReady = true;
    } else storeReady = await startup.tryOnce();
  } catch (e) {
    await store.close();
    throw e;
  }
  const deliveries = new DeliveryService(store, gateway);
  // External storage connections, one per connector with storage: (reused, closed on stop).
  const fileStores = new FileStores(logger);
  const workers = opts.workers ?? settings.DELIVERY_WORKERS;
  const worker =
    workers > 0
      ? new DeliveryWorker({
          store,
          gateway,
          logger,
          concurrency: workers,
          leaseMs: opts.leaseMs ?? settings.DELIVERY_LEASE_MS,
          pollMs: opts.pollMs ?? settings.DELIVERY_POLL_MS,
          onFollowUp: (parent, op, vars) => deliveries.followUp(parent, op, vars),
          onSettled: (d, status) => deliveries.settled(d.id, status),
          runStep: createStepRunner(store, { stores: fileStores, deliveries, view: (c, s) => flows.view(c, s) }),
        })
      : undefined;
  deliveries.worker = worker;
  const flows = new FlowEngine(store, deliveries, gateway);
  // Zoom-style webhooks: reconciliation runs per connector every webhooks.zoom.reconcile.every_hours.
  const zoom = new ZoomSource(gateway, flows, store, logger);
  // Safe by default: without configured keys, a random admin key is made and shown once.
  // GATEWAY_AUTH=off opens the API (local experiments only).
  let apiKeys = opts.apiKeys ?? (settings.GATEWAY_AUTH === 'off' ? undefined : ApiKeys.fromEnv(env));
  let generatedKey: string | undefined;
  if (!apiKeys && env.GATEWAY_AUTH !== 'off' && opts.apiKeys !== null) {
    const g = ApiKeys.generated();
    apiKeys = g.keys;
    generatedKey = g.key;
  }
  // Configured keys reload without a restart (file change or SIGHUP), so a leaked key is revoked at once.
  const stopKeyWatch = apiKeys && !generatedKey && opts.apiKeys === undefined ? watchApiKeys(apiKeys, env, logger) : undefined;
  // Contract-test jobs started from the console: stopped with the gateway (see close below).
  const contractRuns = new ContractRuns(gateway);
  const handler = createHandler(gateway, {
    contractRuns,
    deliveries,
    store,
    flows,
    zoom,
    apiKeys: apiKeys ?? undefined,
    metricsAuth,
    jsonLimit: maxBody === undefined ? undefined : `${maxBody}b`,
    maxUploadBytes: maxUpload,
    accessLog: settings.ACCESS_LOG === 'on',
    storeStarting: () => startup.reason,
  });
  const host = opts.host ?? settings.HOST;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = http.createServer(handler).listen(opts.port ?? settings.PORT, host, () => resolve(s));
    s.once('error', reject);
  });
  // Slow clients must not hold a connection forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  gateway.listen.add(host, port);
  gateway.publicUrl = opts.publicUrl ?? settings.PUBLIC_URL ?? url;
  gateway.listen.addPublicUrl(gateway.publicUrl);
  const sweeper = new RetentionSweeper({ store, days: retention, logger, now: gateway.now });
  const unidentified = new UnidentifiedSweeper({ flows, logger });
  let closing: Promise<void> | undefined;
  // What needs the store starts once it is ready (now, or when the database first answers).
  const startStoreWork = () => {
    if (closing) return;
    worker?.start();
    sweeper.start();
    unidentified.start();
    zoom.start();
  };
  if (storeReady) startStoreWork();
  else
    startup.untilReady().then(startStoreWork, () => {
      /* stopped before the database answered: nothing to start */
    });
  if (!opts.configFiles && settings.CONFIG_WATCH !== 'off') gateway.watch();
  logger.info(
    {
      url,
      store: store.kind,
      store_ready: storeReady,
      workers,
      connectors: gateway.list().map((l) => `${l.id}:${l.connector ? 'valid' : 'invalid'}`),
    },
    'gateway listening',
  );
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
    close: () =>
      (closing ??= (async () => {
        const started = Date.now();
        logger.info({ url }, 'gateway stopping: no new requests; in-flight deliveries get SHUTDOWN_GRACE_MS');
        gateway.unwatch();
        stopKeyWatch?.();
        startup.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = opts.shutdownGraceMs ?? settings.SHUTDOWN_GRACE_MS;
        // In-flight deliveries and contract tests share the grace period.
        await Promise.all([worker?.stop(grace), contractRuns.close(grace)]);
        await fileStores.close();
        await sweeper.stop();
        await unidentified.stop();
        await zoom.stop();
        server.closeAllConnections();
        await closed;
        await store.close();
        await stopTracing?.();
        logger.info({ ms: Date.now() - started }, 'gateway stopped');
      })()),
  };
}

/** OAuth tokens at rest: PostgreSQL without a key is refused once an OAuth connector exists (a setting, checked before the store opens). */
function checkTokenKey(gateway: Gateway, encryption: ReturnType<typeof resolveEncryptionKeys>, logger: Logger): void {
  requireKeyForOAuth(
    encryption,
    gateway
      .list()
      .filter((l) => l.connector?.auth.type === 'oauth2')
      .map((l) => l.id),
  );
  if (encryption.source === 'generated')
    logger.warn(
      { key_file: encryption.keyFile },
      `no ${KEY_ENV}: generated a key for OAuth tokens at rest into the data directory (mode 0600); set ${KEY_ENV} to manage it yourself`,
    );
}

/** Plaintext tokens of earlier versions are sealed, and values sealed with a previous key are sealed again with the current one. */
async function upgradeTokens(store: DeliveryStore, dataDir: string, logger: Logger): Promise<void> {
  const upgraded = await store.tokens.upgrade(path.join(dataDir, 'oauth-tokens.json'));
  if (upgraded.sealed || upgraded.resealed || upgraded.legacyFileRemoved)
    logger.info(
      { sealed: upgraded.sealed, resealed: upgraded.resealed, legacy_file_removed: upgraded.legacyFileRemoved },
      'OAuth tokens at rest: sealed plaintext tokens of an earlier version, re-sealed tokens with the current key',
    );
  if (upgraded.plaintextLeft)
    logger.warn(
      { count: upgraded.plaintextLeft },
      `plaintext OAuth tokens of an earlier version remain (table oauth_tokens, or ${path.join(dataDir, 'oauth-tokens.json')}): set ${KEY_ENV} to encrypt them`,
    );
  if (upgraded.unreadable.length)
    logger.warn(
      { connectors: upgraded.unreadable },
      `OAuth tokens sealed with a key that is neither ${KEY_ENV} nor in ${KEY_ENV}_PREVIOUS: set that key, or authorize these connectors again`,
    );
}
