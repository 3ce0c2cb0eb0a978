/**
 * The gateway's HTTP API (the contract is openapi.yaml; test/api/openapi-drift.test.ts
 * fails when they differ).
 */
import crypto from 'node:crypto';
import express, { type Express, type Request } from 'express';
import multer from 'multer';
import Ajv2020 from 'ajv/dist/2020';
import operationRequestSchema from '../../schemas/operation-request.schema.json';
import { errorsOf } from '../config/load';
import { FILE_KINDS, OPERATIONS, type FileKind } from '../config/types';
import { formatIssue } from '../config/yaml-source';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import { renderLinks } from '../operations/links';
import type { FileInput } from '../operations/request';
import { isOperationName, runOperation } from '../operations/run';
import { problemHandler, notFoundHandler } from './problem';
import { deliveryView, type DeliveryService } from '../delivery/service';
import type { DeliveryStore } from '../delivery/store';
import { deliveryRoutes } from './deliveries';
import { requireApiKey, type ApiKeys } from '../ops/api-keys';
import { sessionRoutes } from './sessions';
import type { FlowEngine } from '../flows/engine';

export interface AppOptions {
  /** Durable writes (async operations, Idempotency-Key, /v1/deliveries). */
  deliveries?: DeliveryService;
  store?: DeliveryStore;
  /** Session flows (platform events). */
  flows?: FlowEngine;
  /** API keys; without them the API is open (library and test use; `serve` always sets them). */
  apiKeys?: ApiKeys;
  /** Largest JSON body (base64 uploads make it large). */
  jsonLimit?: string;
  maxUploadBytes?: number;
}

const validateOperationRequest = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(operationRequestSchema);

export function createApp(gw: Gateway, opts: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: opts.maxUploadBytes ?? 50 * 1024 * 1024, files: 1, fields: 200 } });

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    res.locals.requestId = given && /^[\w.-]{1,128}$/.test(given) ? given : crypto.randomUUID();
    res.setHeader('X-Request-Id', res.locals.requestId);
    next();
  });
  if (opts.apiKeys) app.use(requireApiKey(opts.apiKeys));
  const json = express.json({ limit: opts.jsonLimit ?? '70mb', strict: true, type: ['application/json', 'application/*+json'] });
  const EVENTS_PATH = /^\/v1\/connectors\/[^/]+\/sessions\/[^/]+\/events$/;
  // Platform events get a lenient parser of their own (004's examples are not always valid JSON).
  app.use((req, res, next) => (EVENTS_PATH.test(req.path) ? next() : json(req, res, next)));

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    const list = gw.list();
    const storeOk = opts.store ? await opts.store.ping().then(() => true, () => false) : true;
    const ready = storeOk && list.some((l) => l.connector);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      connectors: { valid: list.filter((l) => l.connector).length, invalid: list.filter((l) => !l.connector).length },
      ...(opts.store ? { store: { kind: opts.store.kind, reachable: storeOk } } : {}),
    });
  });

  app.get('/metrics', async (_req, res) => {
    if (!gw.metrics) throw new GatewayError('not_found', 'metrics are not enabled on this gateway');
    res.type(gw.metrics.registry.contentType).send(await gw.metrics.registry.metrics());
  });

  app.get('/v1/connectors', (_req, res) => {
    res.json({ connectors: gw.list().map(summary) });
  });

  app.get('/v1/connectors/:id', (req, res) => {
    const l = gw.entry(String(req.params.id));
    res.json({
      ...summary(l),
      ...(l.connector ? {
        auth: { type: l.connector.auth.type, ...(l.connector.auth.type === 'oauth2' ? { grant: l.connector.auth.grant } : {}) },
        phone: l.connector.phone,
        timeout_ms: l.connector.timeoutMs,
        retry: l.connector.retry,
        config: l.connector.source,
      } : {}),
    });
  });

  app.get('/v1/connectors/:id/links', (req, res) => {
    const c = gw.connector(String(req.params.id));
    const repeated = Object.entries(req.query).filter(([, v]) => typeof v !== 'string').map(([k]) => k);
    if (repeated.length) {
      throw new GatewayError('validation_failed', `give each lookup variable once: ${repeated.join(', ')}`, { errors: repeated.map((field) => ({ field, message: 'repeated' })) });
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
    const rt = gw.runtime(String(req.params.id));
    const op = String(req.params.operation);
    if (!isOperationName(op)) throw new GatewayError('operation_not_found', `unknown operation "${op}"; operations are ${OPERATIONS.join(', ')}`, { operation: op });
    const { variables, file, dependsOn, orderingKey } = readOperationBody(req);
    const idempotencyKey = req.get('idempotency-key');
    const async = req.query.async === 'true' || req.query.async === '1' || /\brespond-async\b/.test(req.get('prefer') ?? '');
    const dryRun = req.query.dry_run === 'true' || req.query.dry_run === '1';
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new GatewayError('validation_failed', 'Idempotency-Key must be 1-255 visible ASCII characters', { errors: [{ field: 'Idempotency-Key', message: 'invalid' }] });
    }
    if ((async || idempotencyKey || dependsOn || orderingKey) && !dryRun) {
      if (!opts.deliveries) throw new GatewayError('bad_request', 'durable delivery is not enabled on this gateway');
      const { delivery, created } = await opts.deliveries.accept(rt.connector.id, op, { variables, file }, { idempotencyKey, dependsOn, orderingKey }).catch(storeFailure);
      res.setHeader('Location', `/v1/deliveries/${delivery.id}`);
      if (!async) {
        // A synchronous write with an Idempotency-Key: durable first, then wait briefly for the outcome.
        const settled = await opts.deliveries.waitFor(delivery.id, rt.connector.timeoutMs * 2 + 1000, delivery);
        res.status(settled.status === 'pending' || settled.status === 'running' ? 202 : 200).json({ ...deliveryView(settled), replayed: !created });
        return;
      }
      res.status(created ? 202 : 200).json({ ...deliveryView(delivery), replayed: !created });
      return;
    }
    const result = await runOperation(rt, op, { variables, file }, {
      dryRun,
      logger: gw.logger,
      observe: gw.observe,
      requestId: res.locals.requestId,
      now: gw.now,
    });
    res.json(result);
  });

  app.get('/v1/connectors/:id/oauth/authorize', (req, res) => {
    res.redirect(302, gw.beginAuthorization(String(req.params.id)));
  });
  app.get('/v1/oauth/callback', async (req, res) => {
    if (typeof req.query.error === 'string') throw new GatewayError('oauth_callback_invalid', `the CRM refused the authorization: ${req.query.error}`);
    const id = await gw.completeAuthorization(req.query.state as string | undefined, req.query.code as string | undefined);
    res.json({ connector: id, authorized: true });
  });

  if (opts.deliveries) app.use(deliveryRoutes(opts.deliveries));
  if (opts.flows) app.use(sessionRoutes(opts.flows, opts.jsonLimit ?? '70mb'));

  app.use(notFoundHandler);
  app.use(problemHandler(gw.logger));
  return app;
}

function summary(l: ReturnType<Gateway['list']>[number]) {
  return {
    id: l.id,
    name: l.connector?.name ?? l.id,
    file: l.file,
    status: l.connector ? 'valid' : 'invalid',
    operations: l.connector ? [...l.connector.endpoints.values()].filter((e) => e.usable).map((e) => e.operation) : [],
    errors: errorsOf(l).map(formatIssue),
    warnings: l.issues.filter((i) => i.severity === 'warning').map(formatIssue),
    ...(l.rejected ? { rejected_change: l.rejected.filter((i) => i.severity === 'error').map(formatIssue) } : {}),
  };
}

/** JSON `{variables}`, or multipart with a `file` part and `variables` as a JSON field. */
/** The store could not commit the write: nothing was accepted, the caller should retry. */
function storeFailure(e: unknown): never {
  if (e instanceof GatewayError) throw e;
  throw new GatewayError('store_unavailable', 'the delivery store did not accept the write; nothing was stored, retry the request', {}, { cause: e });
}

function readOperationBody(req: Request): { variables: Record<string, unknown>; file?: FileInput; dependsOn?: string; orderingKey?: string } {
  let body: unknown = req.body ?? {};
  if (req.is('multipart/form-data')) {
    const raw = (req.body as Record<string, string> | undefined)?.variables;
    try {
      const fields = (req.body ?? {}) as Record<string, string>;
      body = { variables: raw ? JSON.parse(raw) : {}, ...(fields.depends_on ? { depends_on: fields.depends_on } : {}), ...(fields.ordering_key ? { ordering_key: fields.ordering_key } : {}) };
    } catch (e) {
      throw new GatewayError('invalid_json', `multipart field "variables" is not valid JSON: ${(e as Error).message}`, { field: 'variables' });
    }
  } else if (req.headers['content-length'] !== '0' && req.headers['content-type'] && !req.is('application/json') && !req.is('application/*+json')) {
    throw new GatewayError('unsupported_media_type', 'send application/json ({"variables": {...}}) or multipart/form-data (file + variables)');
  }
  if (!validateOperationRequest(body)) {
    const errors = (validateOperationRequest.errors ?? []).map((e) => ({
      field: (e.instancePath.slice(1).replace(/\//g, '.') || (e.params as { additionalProperty?: string }).additionalProperty) ?? '(body)',
      message: e.message ?? e.keyword,
    }));
    throw new GatewayError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
  const { depends_on: dependsOn, ordering_key: orderingKey } = body as { depends_on?: string; ordering_key?: string };
  const variables = { ...((body as { variables?: Record<string, unknown> }).variables ?? {}) };
  let file: FileInput | undefined;
  const kind = typeof variables.FILE_KIND === 'string' ? variables.FILE_KIND : undefined;
  if (kind !== undefined && !(FILE_KINDS as readonly string[]).includes(kind)) {
    throw new GatewayError('validation_failed', `variables.FILE_KIND: must be one of ${FILE_KINDS.join(', ')}`, { errors: [{ field: 'variables.FILE_KIND', message: 'unknown file kind' }] });
  }
  if (req.file) {
    file = { data: req.file.buffer, name: String(variables.FILE_NAME ?? req.file.originalname), type: String(variables.FILE_TYPE ?? req.file.mimetype), kind: kind as FileKind | undefined };
    variables.FILE_NAME ??= file.name;
    variables.FILE_TYPE ??= file.type;
  } else if (typeof variables.FILE_DATA === 'string') {
    const data = variables.FILE_DATA;
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(data)) throw new GatewayError('validation_failed', 'variables.FILE_DATA: must be base64', { errors: [{ field: 'variables.FILE_DATA', message: 'not base64' }] });
    file = { data: Buffer.from(data, 'base64'), name: String(variables.FILE_NAME ?? 'file'), type: String(variables.FILE_TYPE ?? 'application/octet-stream'), kind: kind as FileKind | undefined };
  }
  return { variables, file, dependsOn, orderingKey };
}
