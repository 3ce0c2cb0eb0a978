/**
 * Starts the gateway's HTTP server. Settings come from the environment (README table):
 * PORT, HOST, CONFIG_DIR, DATA_DIR, PUBLIC_URL, LOG_LEVEL.
 */
import type { Server } from 'node:http';
import { createApp } from '../api/app';
import { Gateway } from '../gateway';
import { createLogger, type Logger } from '../util/logger';

export interface ServeOptions {
  port?: number;
  host?: string;
  configDir?: string;
  configFiles?: string[];
  dataDir?: string;
  publicUrl?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  server: Server;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger({ level: env.LOG_LEVEL });
  const gateway = new Gateway({
    configDir: opts.configDir ?? env.CONFIG_DIR ?? 'config',
    configFiles: opts.configFiles,
    dataDir: opts.dataDir ?? env.DATA_DIR ?? 'data',
    env,
    logger,
  });
  gateway.load();
  const app = createApp(gateway);
  const host = opts.host ?? env.HOST ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? Number(env.PORT ?? 3000), host, () => resolve(s));
    s.once('error', reject);
  });
  // Slow clients must not hold a connection forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  gateway.publicUrl = opts.publicUrl ?? env.PUBLIC_URL ?? url;
  logger.info({ url, connectors: gateway.list().map((l) => `${l.id}:${l.connector ? 'valid' : 'invalid'}`) }, 'gateway listening');
  return {
    url,
    gateway,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
