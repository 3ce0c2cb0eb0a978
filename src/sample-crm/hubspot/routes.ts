import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { randomUUID } from 'node:crypto';
import { bodyOf, isRecord } from '../common/body';
import { HubSpotError, notFound, validation } from './errors';
import { objectTypeFrom, type ObjectTypeDef } from './schema';
import { HubSpotSearch } from './search';
import { fileJson, fileUrl, folderJson, objectJson } from './serialize';
import { contentTypeFor, FILE_ACCESS_LEVELS, iso, type HubSpotStore } from './store';
import type { FileAccess } from './types';
import { hubspotBatchRouter } from './batch';

const MAX_LIST_LIMIT = 100;
/** Access levels whose files need a signed URL to download. */
const SIGNED_ONLY = new Set<FileAccess>(['PRIVATE', 'HIDDEN_PRIVATE', 'SENSITIVE', 'HIDDEN_SENSITIVE']);

function origin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

function queryValue(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

/** `?properties=a,b&properties=c` → [a, b, c] (HubSpot accepts both forms). */
function queryList(req: Request, name: string): string[] | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
  return list
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
}

function typeParam(req: Request): ObjectTypeDef {
  const raw = String(req.params.objectType);
  const def = objectTypeFrom(raw);
  if (!def) throw validation(`Unable to infer object type from: ${raw}`);
  return def;
}

/** JSON body of a CRM write; {} when empty. Another content type is a 415, as HubSpot answers. */
function jsonBody(req: Request): Record<string, unknown> {
  const body = bodyOf(req);
  if (body.kind === 'none') return {};
  if (body.kind === 'json') {
    if (!isRecord(body.value)) throw validation('Invalid input JSON: the request body must be a JSON object');
    return body.value;
  }
  const type = req.headers['content-type'] ?? '';
  throw new HubSpotError(415, 'UNSUPPORTED_MEDIA_TYPE', `HTTP 415 Unsupported Media Type - Content type '${type}' not supported`);
}

function offset(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw validation(`after must be the paging cursor of a previous answer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function paging(req: Request, next: number | undefined): Record<string, unknown> {
  if (next === undefined) return {};
  const link = new URL(req.originalUrl, origin(req));
  link.searchParams.set('after', String(next));
  return { paging: { next: { after: String(next), link: link.toString() } } };
}

/** "P30D", "P2W", "P3M", "P1Y" → ms; HubSpot allows 1 day to 1 year. */
function ttlMs(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const m = typeof raw === 'string' ? /^P(\d+)([DWMY])$/.exec(raw) : null;
  if (!m) throw validation(`options.ttl must be an ISO 8601 period such as "P30D" (1 day to 1 year), got ${JSON.stringify(raw)}`);
  const days = Number(m[1]) * { D: 1, W: 7, M: 30, Y: 365 }[m[2] as 'D' | 'W' | 'M' | 'Y'];
  if (days < 1 || days > 365) throw validation('options.ttl must be between 1 day and 1 year');
  return days * 86_400_000;
}

export function hubspotRouter(store: HubSpotStore): Router {
  const router = express.Router();
  router.use(['/crm/v3', '/files/v3'], throttle(store));
  router.use(hubspotBatchRouter(store));
  objectRoutes(router, store, new HubSpotSearch(store));
  fileRoutes(router, store);
  router.use(onError);
  return router;
}

/** Rate limiting (HubSpotHelpers.throttle): a 429 with HubSpot's headers and body while the fault lasts. */
function throttle(store: HubSpotStore): RequestHandler {
  return (_req, res, next) => {
    const t = store.state.throttle;
    if (!t || t.remaining <= 0) return next();
    t.remaining--;
    if (t.remaining <= 0) store.state.throttle = null;
    res
      .status(429)
      .set({
        'Retry-After': String(t.retryAfterSec),
        'X-HubSpot-RateLimit-Interval-Milliseconds': t.policyName === 'SECONDLY' ? '1000' : t.policyName === 'DAILY' ? '86400000' : '10000',
        'X-HubSpot-RateLimit-Max': t.policyName === 'DAILY' ? '250000' : '100',
        'X-HubSpot-RateLimit-Remaining': '0',
      })
      .json({
        status: 'error',
        message: `You have reached your ${t.policyName.toLowerCase()} limit.`,
        errorType: 'RATE_LIMIT',
        correlationId: randomUUID(),
        policyName: t.policyName,
        groupName: 'publicapi:private-app',
      });
  };
}

/** CRM objects: list, create, search, read, update, archive. */
function objectRoutes(router: Router, store: HubSpotStore, search: HubSpotSearch): void {
  router.get('/crm/v3/objects/:objectType', (req, res) => {
    const def = typeParam(req);
    const raw = queryValue(req, 'limit');
    const limit = raw === undefined ? 10 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw validation(`limit must be an integer between 1 and ${MAX_LIST_LIMIT}`);
    const after = offset(queryValue(req, 'after'));
    const archived = queryValue(req, 'archived') === 'true';
    const all = store.list(def.name).filter((o) => o.archived === archived);
    const page = all.slice(after, after + limit);
    const view = { properties: queryList(req, 'properties'), associations: queryList(req, 'associations') };
    res.json({ results: page.map((o) => objectJson(store, def, o, view)), ...paging(req, after + limit < all.length ? after + limit : undefined) });
  });

  router.post('/crm/v3/objects/:objectType', (req, res) => {
    const def = typeParam(req);
    const body = jsonBody(req);
    const created = store.create(def.name, { properties: body.properties, associations: body.associations });
    res.status(201).json(objectJson(store, def, created, { all: true }));
  });

  router.post('/crm/v3/objects/:objectType/search', (req, res) => {
    const def = typeParam(req);
    // The "ignore unknown filter" fault (FaultSpec.ignoreFilter): filters and sorts are
    // dropped, objects come in storage order without createdate/updatedAt.
    const ignoreFilter = res.locals.ignoreFilter === true;
    const body = jsonBody(req);
    const out = search.run(def, ignoreFilter ? { limit: body.limit, after: body.after, properties: body.properties } : body);
    const view = { properties: out.properties };
    const json = (o: (typeof out.page)[number]) => {
      const j = objectJson(store, def, o, view) as Record<string, unknown> & { properties?: Record<string, unknown> };
      if (!ignoreFilter) return j;
      const { createdAt: _c, updatedAt: _u, ...rest } = j;
      const { createdate: _cd, hs_lastmodifieddate: _m, lastmodifieddate: _l, ...props } = rest.properties ?? {};
      return { ...rest, properties: props };
    };
    res.json({
      total: out.total,
      results: (ignoreFilter ? [...out.page].sort((a, b) => Number(a.id) - Number(b.id)) : out.page).map(json),
      ...(out.nextAfter !== undefined ? { paging: { next: { after: String(out.nextAfter), link: `?after=${out.nextAfter}` } } } : {}),
    });
  });

  router.get('/crm/v3/objects/:objectType/:id', (req, res) => {
    const def = typeParam(req);
    const id = String(req.params.id);
    const idProperty = queryValue(req, 'idProperty');
    const archived = queryValue(req, 'archived') === 'true';
    const o = idProperty ? store.byUniqueProperty(def.name, idProperty, id) : store.get(def.name, id, archived);
    if (!o) throw notFound();
    res.json(objectJson(store, def, o, { properties: queryList(req, 'properties'), associations: queryList(req, 'associations') }));
  });

  router.patch('/crm/v3/objects/:objectType/:id', (req, res) => {
    const def = typeParam(req);
    const body = jsonBody(req);
    const updated = store.update(def.name, String(req.params.id), { properties: body.properties });
    res.json(objectJson(store, def, updated, { all: true }));
  });

  router.delete('/crm/v3/objects/:objectType/:id', (req, res) => {
    const def = typeParam(req);
    store.archive(def.name, String(req.params.id));
    res.status(204).end();
  });
}

/** Files: upload, read, signed URL, delete, folders, and the hosting URL. */
function fileRoutes(router: Router, store: HubSpotStore): void {
  router.post('/files/v3/files', (req, res) => {
    const body = bodyOf(req);
    if (body.kind !== 'multipart') {
      throw new HubSpotError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `HTTP 415 Unsupported Media Type - Content type '${req.headers['content-type'] ?? ''}' not supported; send multipart/form-data`,
      );
    }
    const field = (name: string): string | undefined => {
      const v = body.fields[name];
      const first = Array.isArray(v) ? v[0] : v;
      return typeof first === 'string' && first !== '' ? first : undefined;
    };
    const part = body.files.find((f) => f.field === 'file');
    if (!part) throw validation('Missing required part "file"');

    const rawOptions = field('options');
    if (rawOptions === undefined) throw validation('options is required: a JSON object with at least "access"');
    let options: unknown;
    try {
      options = JSON.parse(rawOptions);
    } catch (e) {
      throw validation(`Invalid input JSON in options: ${(e as Error).message}`);
    }
    if (!isRecord(options)) throw validation('options must be a JSON object');
    if (typeof options.access !== 'string' || !FILE_ACCESS_LEVELS.includes(options.access as FileAccess)) {
      throw validation(`options.access is required and must be one of ${FILE_ACCESS_LEVELS.join(', ')}`);
    }
    const strategy = options.duplicateValidationStrategy ?? 'NONE';
    if (!['NONE', 'REJECT', 'RETURN_EXISTING'].includes(String(strategy)))
      throw validation('options.duplicateValidationStrategy must be NONE, REJECT or RETURN_EXISTING');
    const scope = options.duplicateValidationScope ?? 'ENTIRE_PORTAL';
    if (!['ENTIRE_PORTAL', 'EXACT_FOLDER'].includes(String(scope))) throw validation('options.duplicateValidationScope must be ENTIRE_PORTAL or EXACT_FOLDER');

    const folderId = field('folderId');
    const folderPath = field('folderPath');
    if (folderId && folderPath) throw validation('Provide either folderId or folderPath, not both');
    if (!folderId && !folderPath) throw validation('Either folderId or folderPath must be provided');
    const folder = folderId ? store.folderById(folderId) : store.folderByPath(folderPath!, true);

    const fileName = field('fileName') ?? (part.name || `file-${Date.now()}`);
    const { file, existing } = store.addFile({
      fileName,
      contentType: contentTypeFor(part.mimetype, fileName),
      content: part.data,
      access: options.access as FileAccess,
      folder,
      overwrite: options.overwrite === true,
      duplicateValidationStrategy: strategy as 'NONE' | 'REJECT' | 'RETURN_EXISTING',
      duplicateValidationScope: scope as 'ENTIRE_PORTAL' | 'EXACT_FOLDER',
      ttlMs: ttlMs(options.ttl),
    });
    res.status(existing ? 200 : 201).json(fileJson(file, origin(req)));
  });

  router.get('/files/v3/files/:id', (req, res) => {
    const file = store.file(String(req.params.id));
    if (!file) throw notFound();
    res.json(fileJson(file, origin(req)));
  });

  router.get('/files/v3/files/:id/signed-url', (req, res) => {
    const file = store.file(String(req.params.id));
    if (!file) throw notFound();
    const raw = queryValue(req, 'expirationSeconds');
    const seconds = raw === undefined ? 3600 : Number(raw);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw validation('expirationSeconds must be an integer between 1 and 86400');
    const { signature, expiresAt } = store.signUrl(file.id, seconds);
    const url = `${fileUrl(origin(req), file)}?Expires=${Math.floor(expiresAt / 1000)}&Signature=${signature}`;
    res.json({ url, expiresAt: iso(expiresAt), name: file.name, extension: file.extension, type: file.type, size: file.size });
  });

  router.delete('/files/v3/files/:id', (req, res) => {
    store.archiveFile(String(req.params.id));
    res.status(204).end();
  });

  router.get('/files/v3/folders/:id', (req, res) => {
    res.json(folderJson(store.folderById(String(req.params.id))));
  });

  // The file's hosting URL. Unauthenticated: public files are public; private ones need the
  // signature from /signed-url.
  router.get('/hubfs/:portal/*filePath', (req, res) => {
    const segments = (req.params as Record<string, unknown>).filePath;
    const path = `/${(Array.isArray(segments) ? segments : [String(segments)]).join('/')}`;
    const file = store.state.files.find((f) => !f.archived && f.path === path);
    if (!file || !store.file(file.id)) throw notFound();
    if (SIGNED_ONLY.has(file.access) && !store.checkSignature(file.id, queryValue(req, 'Signature'))) {
      res.status(403).type('text/plain').send('Forbidden: this file is private; request a signed URL');
      return;
    }
    if (file.access.endsWith('NOT_INDEXABLE') || SIGNED_ONLY.has(file.access)) res.set('X-Robots-Tag', 'noindex');
    res
      .status(200)
      .type(file.contentType)
      .set('Content-Disposition', `inline; filename="${`${file.name}${file.extension ? `.${file.extension}` : ''}`.replace(/["\\\r\n]/g, '_')}"`)
      .send(file.content);
  });
}

const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (err instanceof HubSpotError) {
    res.set(err.headers).status(err.status).json(err.body);
  } else {
    next(err);
  }
};
