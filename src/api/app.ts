/**
 * The gateway's HTTP API (the contract is openapi.yaml; test/api/openapi-drift.test.ts
 * fails when they differ).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import bytes from 'bytes';
import express, { type Express, type Request } from 'express';
import multer from 'multer';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import { renderLinks } from '../operations/links';
import { problemHandler, notFoundHandler } from './problem';
import { handleOperation } from './operations';
import { operationsFastLane } from './fast-lane';
import { requestIdFor } from './request-id';
import { requestObserver } from './access-log';
import { tracingOn, withRequestSpan } from '../util/tracing';
import type { DeliveryService } from '../delivery/service';
import type { DeliveryStore } from '../delivery/store';
import { deliveryRoutes } from './deliveries';
import type { ApiKeys } from '../access/api-keys';
import { checkJsonShape } from './input-bounds';
import { apiDocs, DOCS_PAGE_HEADERS } from './api-docs';
import { authorizeRoute, deliveryInScope, matchRoute, noRoute, type RouteMatch } from './routes';
import { sessionRoutes } from './sessions';
import { consoleRoutes } from './console';
import type { ContractRuns } from './contract-runs';
import { consolePageRoutes } from './console-page';
import { MAX_YAML_BYTES } from './config-edit';
import { flowPostRoutes } from './flow-posts';
import type { FlowEngine } from '../flows/engine';
import { ZoomSource } from '../platforms/zoom/source';
import { ZOOM_WEBHOOK_PATH, zoomRoutes } from '../platforms/zoom/routes';
import { summarizeStoreError } from '../delivery/store-startup';

export interface AppOptions {
  /** Durable writes (async operations, Idempotency-Key, /v1/deliveries). */
  deliveries?: DeliveryService;
  store?: DeliveryStore;
  /** Session flows (platform events). */
  flows?: FlowEngine;
  /** API keys; without them the API is open (library and test use; `serve` always sets them). */
  apiKeys?: ApiKeys;
  /** METRICS_AUTH=on: /metrics needs an admin or metrics key. */
  metricsAuth?: boolean;
  /** Largest JSON body (base64 uploads make it large). */
  jsonLimit?: string;
  maxUploadBytes?: number;
  /** One log line per request (default on; ACCESS_LOG=off turns it off). */
  accessLog?: boolean;
  /** Zoom-style webhooks and reconciliation (serve passes the one it schedules); default one made from flows and store. */
  zoom?: ZoomSource;
  /** Why the store is not ready yet (the database is down at start-up); undefined once it is. */
  storeStarting?: () => string | undefined;
  /** Contract-test jobs (serve passes the one it stops at shutdown); default one made here. */
  contractRuns?: ContractRuns;
}

const DEFAULT_JSON_LIMIT = '70mb';

/**
 * What the server runs: the operations fast lane (fast-lane.ts) in front of the express app,
 * which serves everything the lane passes on.
 */
export function createHandler(gw: Gateway, opts: AppOptions = {}): RequestListener {
  const app = createApp(gw, opts);
  const fast = operationsFastLane(gw, {
    deliveries: opts.deliveries,
    apiKeys: opts.apiKeys,
    metricsAuth: opts.metricsAuth,
    maxBodyBytes: bytes.parse(opts.jsonLimit ?? DEFAULT_JSON_LIMIT) ?? 0,
  });
  const observe = requestObserver(gw, { accessLog: opts.accessLog !== false });
  const serve = (req: IncomingMessage, res: ServerResponse, match: RouteMatch | undefined) => {
    if (!fast(req, res, match ?? null)) app(req, res);
  };
  return (req, res) => {
    // Matched once here for the metric label, the span name and the fast lane (the app matches again for its parameters).
    const match = matchRoute(req.method ?? '', (req.url ?? '').split('?')[0]);
    const route = match?.spec.path;
    observe(req, res, route);
    if (tracingOn()) withRequestSpan(req, res, route, () => serve(req, res, match));
    else serve(req, res, match);
  };
}

export function createApp(gw: Gateway, opts: AppOptions = {}): Express {
  const app = express();
  // Routes match exactly as the route table (routes.ts) does: "/V1/…" or "…/retry/" is no route.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: opts.maxUploadBytes ?? 50 * 1024 * 1024, files: 1, fields: 200 } });

  app.use((req, res, next) => {
    res.locals.requestId = requestIdFor(req.get('x-request-id'));
    res.setHeader('X-Request-Id', res.locals.requestId);
    next();
  });
  // Every request is matched against the route table first: unknown → 404, then the key is
  // checked against the matched route and its parameters (the fast lane does the same).
  const deliveries = opts.deliveries;
  app.use(async (req, res, next) => {
    const rawPath = req.url.split('?')[0];
    const match = matchRoute(req.method, rawPath);
    if (!match) return next(noRoute(req.method, rawPath));
    const who = authorizeRoute(opts.apiKeys, match, req.get('authorization'), { metricsAuth: opts.metricsAuth });
    if (who instanceof GatewayError) return next(who);
    if (who.deliveryId !== undefined) {
      let d: { connectorId: string } | undefined;
      try {
        d = deliveries ? await deliveries.get(who.deliveryId) : undefined;
      } catch (e) {
        // Not there: answered as any out-of-scope id is. A store failure is a store failure.
        if (!(e instanceof GatewayError && e.code === 'not_found')) return next(e);
      }
      const refused = deliveryInScope(who.principal, who.deliveryId, d?.connectorId);
      if (refused) return next(refused);
    }
    res.locals.principal = who.principal;
    next();
  });
  const json = express.json({
    limit: opts.jsonLimit ?? DEFAULT_JSON_LIMIT,
    strict: true,
    type: ['application/json', 'application/*+json'],
    // Depth and key length are bounded before the parse, as in the fast lane.
    verify: (_req, _res, buf) => checkJsonShape(buf),
  });
  const EVENTS_PATH = /^\/v1\/connectors\/[^/]+\/(?:sessions\/[^/]+\/events|flow-posts\/[^/]+)$/;
  // Platform events and flow posts get a lenient parser of their own (the platform's examples are not always valid JSON).
  // Signed webhooks are verified on their raw bytes: their route reads the body itself.
  // A connector text travels JSON-escaped: room for the escapes of MAX_YAML_BYTES, and no more.
  const consoleJson = express.json({
    limit: MAX_YAML_BYTES * 2,
    strict: true,
    type: ['application/json', 'application/*+json'],
    verify: (_req, _res, buf) => checkJsonShape(buf),
  });
  const CONSOLE_BODY_PATH = /^\/v1\/connectors\/[^/]+\/(?:validate|config|contract-tests)$/;
  app.use((req, res, next) =>
    EVENTS_PATH.test(req.path) || ZOOM_WEBHOOK_PATH.test(req.path)
      ? next()
      : CONSOLE_BODY_PATH.test(req.path)
        ? consoleJson(req, res, next)
        : json(req, res, next),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const list = gw.list();
    // While the store is still being opened (its database down at start-up) it is not ready, even
    // when the database has just come back and its migrations are running.
    let reason = opts.storeStarting?.();
    const storeOk =
      !opts.store || reason !== undefined
        ? !opts.store
        : await opts.store.ping().then(
            () => true,
            (e: unknown) => {
              const s = summarizeStoreError(e);
              reason = `database unreachable: ${s.message}${s.code ? ` (${s.code})` : ''}`;
              return false;
            },
          );
    const valid = list.filter((l) => l.connector).length;
    if (valid === 0) reason ??= 'no valid connector';
    const ready = storeOk && valid > 0;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      ...(ready ? {} : { reason }),
      connectors: { valid, invalid: list.length - valid },
      ...(opts.store ? { store: { kind: opts.store.kind, reachable: storeOk } } : {}),
    });
  });

  app.get('/metrics', async (_req, res) => {
    if (!gw.metrics) throw new GatewayError('not_found', 'metrics are not enabled on this gateway');
    res.type(gw.metrics.registry.contentType).send(await gw.metrics.registry.metrics());
  });

  app.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml; charset=utf-8').send(apiDocs().yaml);
  });
  app.get('/docs', (_req, res) => {
    res.set(DOCS_PAGE_HEADERS).send(apiDocs().html);
  });
  app.use(consolePageRoutes());

  app.use(consoleRoutes(gw, opts.contractRuns));

  app.get('/v1/connectors/:id/links', (req, res) => {
    const c = gw.connector(String(req.params.id));
    const repeated = Object.entries(req.query)
      .filter(([, v]) => typeof v !== 'string')
      .map(([k]) => k);
    if (repeated.length) {
      throw new GatewayError('validation_failed', `give each lookup variable once: ${repeated.join(', ')}`, {
        errors: repeated.map((field) => ({ field, message: 'repeated' })),
      });
    }
    res.json({ links: renderLinks(c, req.query as Record<string, string>) });
  });

  // multer's parser (busboy) throws plain errors on a malformed body: those are the client's fault.
  const readMultipart: express.RequestHandler = (req, res, next) => {
    upload.single('file')(req, res, (err: unknown) => {
      if (!err) return next();
      const e = err as { code?: string; message?: string };
      if (typeof e.code === 'string' && e.code.startsWith('LIMIT_')) return next(err);
      next(new GatewayError('bad_request', `the multipart body could not be read: ${e.message ?? 'malformed'}`));
    });
  };

  app.post('/v1/connectors/:id/operations/:operation', readMultipart, async (req, res) => {
    const answer = await handleOperation(gw, opts.deliveries, {
      connectorId: String(req.params.id),
      operation: String(req.params.operation),
      async: single(req.query.async),
      dryRun: single(req.query.dry_run),
      idempotencyKey: req.get('idempotency-key'),
      prefer: req.get('prefer'),
      body: () => operationBody(req),
      upload: req.file && { data: req.file.buffer, name: req.file.originalname, type: req.file.mimetype },
      requestId: res.locals.requestId,
    });
    res.status(answer.status).set(answer.headers).json(answer.body);
  });

  app.get('/v1/connectors/:id/oauth/authorize', (req, res) => {
    const url = gw.beginAuthorization(String(req.params.id));
    // A page holding the key in a header (the console) cannot follow a redirect to another
    // origin with it: asked for JSON, the same URL comes back as data for it to open.
    if (req.accepts(['text/html', 'application/json']) === 'application/json') return void res.json({ authorize_url: url });
    res.redirect(302, url);
  });
  app.get('/v1/oauth/callback', async (req, res) => {
    if (typeof req.query.error === 'string') throw new GatewayError('oauth_callback_invalid', `the CRM refused the authorization: ${req.query.error}`);
    const id = await gw.completeAuthorization(req.query.state as string | undefined, req.query.code as string | undefined);
    res.json({ connector: id, authorized: true });
  });

  const flows = opts.flows;
  const sessionDeliveries =
    flows &&
    (async (connectorId: string, sessionId: string) => {
      try {
        return (await flows.view(connectorId, sessionId)).steps.map((s) => s.delivery_id);
      } catch (e) {
        // A session, connector or configuration that is not there: a filter that matches nothing.
        if (e instanceof GatewayError && ['not_found', 'connector_not_found', 'config_invalid'].includes(e.code)) return [];
        throw e;
      }
    });
  if (opts.deliveries) app.use(deliveryRoutes(opts.deliveries, sessionDeliveries));
  if (opts.flows) app.use(sessionRoutes(opts.flows, opts.jsonLimit ?? DEFAULT_JSON_LIMIT, gw, opts.deliveries, opts.store));
  if (opts.flows) app.use(flowPostRoutes(opts.flows, opts.jsonLimit ?? DEFAULT_JSON_LIMIT, gw));
  if (opts.flows && opts.store) app.use(zoomRoutes(opts.zoom ?? new ZoomSource(gw, opts.flows, opts.store, gw.logger)));

  app.use(notFoundHandler);
  app.use(problemHandler(gw.logger, gw.redactor));
  return app;
}

const single = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** JSON `{variables}`, or multipart with a `file` part and `variables` as a JSON field. */
function operationBody(req: Request): unknown {
  if (req.is('multipart/form-data')) {
    const fields = (req.body ?? {}) as Record<string, string>;
    if (typeof fields.variables === 'string') checkJsonShape(fields.variables);
    try {
      return {
        variables: fields.variables ? JSON.parse(fields.variables) : {},
        ...(fields.depends_on ? { depends_on: fields.depends_on } : {}),
        ...(fields.ordering_key ? { ordering_key: fields.ordering_key } : {}),
      };
    } catch (e) {
      throw new GatewayError('invalid_json', `multipart field "variables" is not valid JSON: ${(e as Error).message}`, { field: 'variables' });
    }
  }
  if (req.headers['content-length'] !== '0' && req.headers['content-type'] && !req.is('application/json') && !req.is('application/*+json')) {
    throw new GatewayError('unsupported_media_type', 'send application/json ({"variables": {...}}) or multipart/form-data (file + variables)');
  }
  return req.body ?? {};
}
