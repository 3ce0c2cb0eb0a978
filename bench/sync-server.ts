/**
 * Child-process entry for bench/sync.ts: starts ONE server in front of the sample CRM and
 * reports its URL to the parent over IPC, so every server measured (the gateway and the two
 * baselines) runs in a process of its own, never sharing an event loop with the load
 * generator or the CRM.
 *
 *   node dist/bench/sync-server.js <gateway|gateway-log|glue|proxy> <crm url>
 *
 * gateway-durable  serve() with its delivery worker and a store (SQLite in a temp dir, or the
 *              PostgreSQL URL/schema given as JSON in a third argument); answers {counts} over IPC
 * gateway      serve() exactly as the brief says (config/zendesk.yaml, silent logger, 0 workers),
 *              with its default API-key check (the generated key is passed to the parent)
 * gateway-log  the same with the production logger at LOG_LEVEL=info (one "crm call" line per
 *              request, pino async) written to this process's stdout, which the parent discards.
 *              Used by bench/profile-gateway.ts only: its profile puts pino + the redacting
 *              stream hook at ~4% of the gateway's CPU, and an A/B against "gateway" stayed
 *              within the noise, so the sync benchmark does not spend time on it.
 * glue         the code a team would otherwise write: express 5 + express.json, map the body,
 *              call the CRM with axios over a keep-alive agent, answer with the id and object.
 *              No validation, no phone formatting, no error classification, no logging.
 * proxy        node:http pass-through: pipe the request to the CRM over a keep-alive agent and
 *              pipe the answer back. The floor for any Node gateway.
 *
 * SIGTERM exits with process.exit(0) so that `--cpu-prof` (see bench/profile-gateway.ts) can
 * write its profile.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import express from 'express';
import { serve, type ServeOptions } from '../src/cli/serve';
import { createLogger, silentLogger } from '../src/util/logger';
import { Redactor } from '../src/util/redact';

export const CRM_AUTH = { username: 'agent@example.com/token', password: 'sample-token' };
export const CONFIG_FILE = path.join(__dirname, '..', '..', 'config', 'zendesk.yaml');

type Kind = 'gateway' | 'gateway-log' | 'gateway-durable' | 'glue' | 'proxy';

/** For gateway-durable (bench/durable.ts): the store and the delivery worker's concurrency. */
export interface DurableOptions {
  databaseUrl?: string;
  databaseSchema?: string;
  workers: number;
}

interface Started {
  url: string;
  apiKey?: string;
  close(): Promise<void> | void;
  counts?: () => Promise<unknown>;
}

async function start(kind: Kind, crmUrl: string, durable?: DurableOptions): Promise<Started> {
  switch (kind) {
    case 'gateway-durable':
      return startGateway(crmUrl, {
        databaseUrl: durable?.databaseUrl,
        databaseSchema: durable?.databaseSchema,
        logger: silentLogger,
        workers: durable?.workers ?? 8,
        apiKeys: null,
      });
    // serve() is safe by default: without configured keys it makes an admin API key, which the
    // load generator then sends (Authorization: Bearer), as a platform would.
    case 'gateway':
      return startGateway(crmUrl, { logger: silentLogger, workers: 0 });
    case 'gateway-log': {
      const redactor = new Redactor();
      return startGateway(crmUrl, { logger: createLogger({ level: 'info', redactor }), redactor, workers: 0 });
    }
    case 'glue':
      return listen(glueApp(crmUrl));
    case 'proxy':
      return listen(proxyHandler(crmUrl));
  }
}

/** serve() on config/zendesk.yaml against the CRM, with its data in a temp dir removed on close. */
async function startGateway(crmUrl: string, opts: Partial<ServeOptions>): Promise<Started> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gateway-'));
  const gw = await serve({ port: 0, configFiles: [CONFIG_FILE], env: { ...process.env, ZENDESK_URL: crmUrl }, dataDir, ...opts });
  return {
    url: gw.url,
    apiKey: gw.generatedKey,
    counts: () => gw.store.counts(),
    close: async () => {
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a team writes instead of the gateway, for these two operations. */
function glueApp(crmUrl: string): http.RequestListener {
  const crm = axios.create({
    baseURL: crmUrl,
    auth: CRM_AUTH,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    proxy: false,
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.post('/find_account', async (req, res) => {
    const v = (req.body?.variables ?? {}) as Record<string, string>;
    const r = await crm.get('/api/v2/search.json', { params: { query: `type:user phone:${v.PHONE_NUMBER}`, sort_by: 'created_at', sort_order: 'desc' } });
    const hit = r.data.results?.[0];
    res.json(hit ? { outcome: 'ok', ids: { ACCOUNT_ID: hit.id }, data: hit } : { outcome: 'not_found' });
  });
  app.post('/create_account', async (req, res) => {
    const v = (req.body?.variables ?? {}) as Record<string, string>;
    const r = await crm.post('/api/v2/users.json', { user: { name: v.NAME, phone: v.PHONE_NUMBER } });
    res.json({ outcome: 'ok', ids: { ACCOUNT_ID: r.data.user.id }, data: r.data.user });
  });
  // A CRM failure (e.g. a keep-alive socket the CRM closed) is a 502, without a stack on stderr.
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(502).json({ error: err.message });
  });
  return app;
}

function proxyHandler(crmUrl: string): http.RequestListener {
  const target = new URL(crmUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return (req, res) => {
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        agent,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (require.main === module) {
  const [kind, crmUrl, durable] = process.argv.slice(2) as [Kind, string, string | undefined];
  start(kind, crmUrl, durable ? (JSON.parse(durable) as DurableOptions) : undefined).then(
    (s) => {
      process.send?.({ url: s.url, apiKey: s.apiKey });
      // The durable benchmark asks how far delivery has got (the store lives in this process).
      process.on('message', (m: { counts?: number }) => {
        if (m?.counts !== undefined && s.counts)
          void s.counts().then(
            (c) => process.send?.({ counts: m.counts, value: c }),
            (e: Error) => process.send?.({ counts: m.counts, error: e.message }),
          );
      });
      const stop = () => {
        void Promise.resolve(s.close()).finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      process.once('disconnect', stop);
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
