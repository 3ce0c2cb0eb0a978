import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { OAuthServer } from '../common/auth';
import { bodyOf, isRecord } from '../common/body';
import type { Clock } from '../common/clock';
import { CriteriaError, parseCriteria } from './criteria';
import { MODULES, ZohoRecordInvalid, type IncomingFile, type RecordModule, type ZohoRecordError, type ZohoStore } from './store';
import type { ZohoAttachment, ZohoCase, ZohoContact, ZohoNote, ZohoParentModule, ZohoSystemFields } from './types';

/** Zoho's request-level error body (not wrapped in data[]). */
export interface ZohoErrorBody {
  code: string;
  details: Record<string, unknown>;
  message: string;
  status: 'error';
}

export function zohoError(code: string, message: string, details: Record<string, unknown> = {}): ZohoErrorBody {
  return { code, details, message, status: 'error' };
}

export const INVALID_URL_PATTERN = zohoError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
export const INVALID_TOKEN = zohoError('INVALID_TOKEN', 'invalid oauth token');
export const AUTHENTICATION_FAILURE = zohoError('AUTHENTICATION_FAILURE', 'Authentication failed');
export const TOO_MANY_REQUESTS = zohoError('TOO_MANY_REQUESTS', 'You have made too many requests within a short span of time. Please try again later.');

/** Answered as-is by the router's error handler. */
export class ZohoHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(isRecord(body) && typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export interface RateLimit {
  /** API calls allowed per window. */
  max: number;
  /** Window length in seconds (Zoho counts per minute and per day). */
  windowSec: number;
}

const MAX_PER_PAGE = 200;
const MAX_RECORDS_PER_CALL = 100;
/** Zoho's attachment limit. */
const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

function q(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function positiveInt(v: string | undefined, fallback: number): number {
  const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

function versionOf(req: Request): string {
  return String(req.params.version);
}

function moduleOf(req: Request): RecordModule {
  const name = String(req.params.module).toLowerCase();
  const found = (Object.keys(MODULES) as RecordModule[]).find((m) => m.toLowerCase() === name);
  if (!found) throw new ZohoHttpError(400, zohoError('INVALID_MODULE', 'the module name given seems to be invalid'));
  return found;
}

/** A record id in the URL: digits only, else the URL itself is wrong. */
function idParam(req: Request, name = 'id'): string {
  const id = String(req.params[name]);
  if (!/^\d{1,25}$/.test(id)) throw new ZohoHttpError(404, INVALID_URL_PATTERN);
  return id;
}

/** Page of a list and Zoho's `info` block; 204 (no body) when there is nothing at all. */
function sendPage<T>(req: Request, res: Response, items: T[], serialize: (t: T) => unknown): void {
  const perPage = Math.min(positiveInt(q(req, 'per_page'), MAX_PER_PAGE), MAX_PER_PAGE);
  const page = positiveInt(q(req, 'page'), 1);
  const start = (page - 1) * perPage;
  const slice = items.slice(start, start + perPage);
  if (slice.length === 0) {
    res.status(204).end();
    return;
  }
  res.json({
    data: slice.map(serialize),
    info: { per_page: perPage, count: slice.length, page, more_records: start + perPage < items.length },
  });
}

/** `fields=A,B`: only those (and id) in each record. */
function pickFields(req: Request, record: Record<string, unknown>): Record<string, unknown> {
  const fields = q(req, 'fields');
  if (!fields) return record;
  const wanted = new Set(['id', ...fields.split(',').map((f) => f.trim().toLowerCase())]);
  return Object.fromEntries(Object.entries(record).filter(([k]) => wanted.has(k.toLowerCase())));
}

function serializeRecord(record: ZohoContact | ZohoCase): Record<string, unknown> {
  return { ...record, Tag: [], $approved: true, $editable: true, $state: 'save', $process_flow: false };
}

function serializeNote(note: ZohoNote): Record<string, unknown> {
  return { ...note, $editable: true, $voice_note: false, $is_shared_to_client: false };
}

export function serializeAttachment(a: ZohoAttachment): Record<string, unknown> {
  const { content: _c, content_type: _t, sha256: _s, ...rest } = a;
  return { ...rest, $editable: true, $state: 'save' };
}

function userRef(u: { name: string; id: string }): { name: string; id: string } {
  return { name: u.name, id: u.id };
}

/** The `details` of a successful write, as Zoho reports it. */
function writeDetails(r: ZohoSystemFields): Record<string, unknown> {
  return { Modified_Time: r.Modified_Time, Modified_By: userRef(r.Modified_By), Created_Time: r.Created_Time, id: r.id, Created_By: userRef(r.Created_By) };
}

type Entry = { code: 'SUCCESS'; details: Record<string, unknown>; message: string; status: 'success' } | ZohoRecordError;

/** Zoho's `{"data": [...]}` write answer: all ok → okStatus, all failed → 400, mixed → 207. */
function sendEntries(res: Response, entries: Entry[], okStatus: number): void {
  const failed = entries.filter((e) => e.status === 'error').length;
  const status = failed === 0 ? okStatus : failed === entries.length ? 400 : 207;
  res.status(status).json({ data: entries });
}

function perRecord(fn: () => Entry): Entry {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ZohoRecordInvalid) return err.entry;
    throw err;
  }
}

/** The `data` array of a write request, with Zoho's request-level errors. */
function dataArray(req: Request): unknown[] {
  const body = bodyOf(req);
  if (body.kind !== 'json' || !isRecord(body.value)) {
    throw new ZohoHttpError(400, zohoError('INVALID_DATA', 'body', { expected_data_type: 'jsonobject' }));
  }
  const data = body.value.data;
  if (data === undefined) {
    throw new ZohoHttpError(400, zohoError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'data' }));
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new ZohoHttpError(400, zohoError('INVALID_DATA', 'invalid data', { api_name: 'data', expected_data_type: 'jsonarray' }));
  }
  if (data.length > MAX_RECORDS_PER_CALL) {
    throw new ZohoHttpError(
      400,
      zohoError('LIMIT_EXCEEDED', 'the number of records has exceeded the maximum limit', { api_name: 'data', limit: MAX_RECORDS_PER_CALL }),
    );
  }
  return data;
}

function lookupId(v: unknown): string | undefined {
  const id = isRecord(v) ? v.id : v;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

export interface ZohoRouterOptions {
  store: ZohoStore;
  oauth: OAuthServer;
  clock: Clock;
  /** Current rate limit, read on every call (null = unlimited). */
  rateLimit: () => RateLimit | null;
}

export function zohoRouter({ store, oauth, clock, rateLimit }: ZohoRouterOptions): Router {
  const router = express.Router();
  router.use('/crm/:version', (req, _res, next) => {
    if (!/^v\d+(\.\d+)?$/.test(String(req.params.version))) throw new ZohoHttpError(404, INVALID_URL_PATTERN);
    next();
  });
  router.use('/crm', oauthOnly(oauth), rateLimiter(clock, rateLimit));

  noteRoutes(router, store);
  recordRoutes(router, store);
  relatedListRoutes(router, store);

  // Anything else under /crm is a URL Zoho does not have.
  router.use('/crm', () => {
    throw new ZohoHttpError(404, INVALID_URL_PATTERN);
  });
  router.use(onError);
  return router;
}

/**
 * Zoho CRM accepts nothing but OAuth access tokens; the shared middleware before this one may
 * have let other credentials through (basic, API keys) when the sample CRM was given some.
 */
function oauthOnly(oauth: OAuthServer): RequestHandler {
  return (req, _res, next) => {
    const m = /^(bearer|zoho-oauthtoken)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new ZohoHttpError(401, AUTHENTICATION_FAILURE);
    if (oauth.checkAccessToken(m[2]) !== 'ok') throw new ZohoHttpError(401, INVALID_TOKEN);
    next();
  };
}

/** The rate limit in force (read on every call): fixed windows, 429 with Retry-After once the window is used up. */
function rateLimiter(clock: Clock, rateLimit: () => RateLimit | null): RequestHandler {
  let windowStart = 0;
  let used = 0;
  return (_req, res, next) => {
    const limit = rateLimit();
    if (!limit) return next();
    const windowMs = limit.windowSec * 1000;
    const now = clock();
    const start = Math.floor(now / windowMs) * windowMs;
    if (start !== windowStart) {
      windowStart = start;
      used = 0;
    }
    const resetSec = Math.max(1, Math.ceil((start + windowMs - now) / 1000));
    res.set({ 'X-RATELIMIT-LIMIT': String(limit.max), 'X-RATELIMIT-RESET': String(start + windowMs) });
    if (used >= limit.max) {
      res.set({ 'X-RATELIMIT-REMAINING': '0', 'Retry-After': String(resetSec) });
      throw new ZohoHttpError(429, TOO_MANY_REQUESTS);
    }
    used++;
    res.set('X-RATELIMIT-REMAINING', String(limit.max - used));
    next();
  };
}

/** Notes as a module (registered before the generic /:module routes). */
function noteRoutes(router: Router, store: ZohoStore): void {
  router.get('/crm/:version/Notes', (req, res) => {
    sendPage(req, res, store.state.notes, (n) => pickFields(req, serializeNote(n)));
  });

  router.get('/crm/:version/Notes/:id', (req, res) => {
    const note = store.state.notes.find((n) => n.id === idParam(req));
    if (!note) {
      res.status(204).end();
      return;
    }
    res.json({ data: [serializeNote(note)] });
  });

  router.post('/crm/:version/Notes', (req, res) => {
    const version = versionOf(req);
    const entries = dataArray(req).map((item, index) =>
      perRecord(() => {
        const input = isRecord(item) ? item : {};
        const moduleName = String(input.se_module ?? input.$se_module ?? '');
        const module = (['Contacts', 'Cases'] as const).find((m) => m.toLowerCase() === moduleName.toLowerCase());
        if (!module) {
          return { code: 'MANDATORY_NOT_FOUND', details: { api_name: 'se_module' }, message: 'required field not found', status: 'error' };
        }
        const parentId = lookupId(input.Parent_Id);
        if (!parentId) {
          return { code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Parent_Id' }, message: 'required field not found', status: 'error' };
        }
        const note = store.addNote(module, parentId, item, { version, index });
        return { code: 'SUCCESS', details: writeDetails(note), message: 'record added', status: 'success' };
      }),
    );
    sendEntries(res, entries, 201);
  });
}

/** Records of any module: list, search, create (one or many), bulk update, read, update, delete. */
function recordRoutes(router: Router, store: ZohoStore): void {
  router.get('/crm/:version/:module', (req, res) => {
    const module = moduleOf(req);
    sendPage(req, res, store.list(module), (r) => pickFields(req, serializeRecord(r)));
  });

  router.get('/crm/:version/:module/search', (req, res) => {
    const module = moduleOf(req);
    const criteria = q(req, 'criteria');
    const email = q(req, 'email');
    const phone = q(req, 'phone');
    const word = q(req, 'word');
    let found: Array<ZohoContact | ZohoCase>;
    if (res.locals.ignoreFilter === true) {
      // The "ignore unknown filter" fault (FaultSpec.ignoreFilter): every record, storage
      // order, no Created_Time/Modified_Time to order them by.
      sendPage(req, res, store.list(module), (r) => {
        const { Created_Time: _c, Modified_Time: _m, ...rest } = pickFields(req, serializeRecord(r)) as Record<string, unknown>;
        return rest;
      });
      return;
    }
    if (criteria !== undefined) {
      try {
        found = store.search(module, parseCriteria(criteria));
      } catch (err) {
        if (err instanceof CriteriaError) throw new ZohoHttpError(400, zohoError('INVALID_QUERY', 'Invalid query formed', err.details));
        throw err;
      }
    } else if (email !== undefined) {
      found = store.searchEmail(module, email);
    } else if (phone !== undefined) {
      found = store.searchPhone(module, phone);
    } else if (word !== undefined) {
      found = store.searchWord(module, word);
    } else {
      throw new ZohoHttpError(400, zohoError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'criteria' }));
    }
    sendPage(req, res, found, (r) => pickFields(req, serializeRecord(r)));
  });

  router.post('/crm/:version/:module', (req, res) => {
    const module = moduleOf(req);
    const version = versionOf(req);
    const entries = dataArray(req).map((item, index) =>
      perRecord(() => {
        const record = store.write(module, item, { version, index });
        return { code: 'SUCCESS', details: writeDetails(record), message: 'record added', status: 'success' };
      }),
    );
    sendEntries(res, entries, 201);
  });

  // Bulk update: each entry names its record with "id".
  router.put('/crm/:version/:module', (req, res) => {
    const module = moduleOf(req);
    const version = versionOf(req);
    const entries = dataArray(req).map((item, index) =>
      perRecord(() => {
        const id = isRecord(item) ? lookupId(item.id) : undefined;
        if (!id) return { code: 'MANDATORY_NOT_FOUND', details: { api_name: 'id' }, message: 'required field not found', status: 'error' };
        const existing = store.get(module, id);
        if (!existing) return { code: 'INVALID_DATA', details: { id }, message: 'the id given seems to be invalid', status: 'error' };
        const record = store.write(module, item, { version, index }, existing);
        return { code: 'SUCCESS', details: writeDetails(record), message: 'record updated', status: 'success' };
      }),
    );
    sendEntries(res, entries, 200);
  });

  router.get('/crm/:version/:module/:id', (req, res) => {
    const module = moduleOf(req);
    const record = store.get(module, idParam(req));
    if (!record) {
      // Zoho answers a well-formed id it does not know with 204 No Content.
      res.status(204).end();
      return;
    }
    res.json({ data: [pickFields(req, serializeRecord(record))] });
  });

  router.put('/crm/:version/:module/:id', (req, res) => {
    const module = moduleOf(req);
    const id = idParam(req);
    const version = versionOf(req);
    const data = dataArray(req);
    const existing = store.get(module, id);
    const entries = data.map((item, index) =>
      perRecord(() => {
        if (!existing) return { code: 'INVALID_DATA', details: { id }, message: 'the id given seems to be invalid', status: 'error' };
        const record = store.write(module, item, { version, index }, existing);
        return { code: 'SUCCESS', details: writeDetails(record), message: 'record updated', status: 'success' };
      }),
    );
    sendEntries(res, entries, 200);
  });

  router.delete('/crm/:version/:module/:id', (req, res) => {
    const module = moduleOf(req);
    const id = idParam(req);
    const entry: Entry = store.delete(module, id)
      ? { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' }
      : { code: 'INVALID_DATA', details: { id }, message: 'the id given seems to be invalid', status: 'error' };
    sendEntries(res, [entry], 200);
  });
}

/** Related lists of a record: its Notes and Attachments (upload, list, download). */
function relatedListRoutes(router: Router, store: ZohoStore): void {
  const parentOf = (req: Request): { module: ZohoParentModule; id: string } => {
    const module = moduleOf(req);
    const id = idParam(req);
    if (!store.get(module, id)) {
      throw new ZohoHttpError(400, zohoError('INVALID_DATA', 'the related id given seems to be invalid', { api_name: 'Parent_Id', id }));
    }
    return { module, id };
  };

  router.get('/crm/:version/:module/:id/Notes', (req, res) => {
    const { id } = parentOf(req);
    sendPage(req, res, store.notesOf(id), (n) => pickFields(req, serializeNote(n)));
  });

  router.post('/crm/:version/:module/:id/Notes', (req, res) => {
    const module = moduleOf(req);
    const id = idParam(req);
    const version = versionOf(req);
    const entries = dataArray(req).map((item, index) =>
      perRecord(() => {
        const note = store.addNote(module, id, item, { version, index });
        return { code: 'SUCCESS', details: writeDetails(note), message: 'record added', status: 'success' };
      }),
    );
    sendEntries(res, entries, 201);
  });

  router.get('/crm/:version/:module/:id/Attachments', (req, res) => {
    const { id } = parentOf(req);
    sendPage(req, res, store.attachmentsOf(id), (a) => pickFields(req, serializeAttachment(a)));
  });

  router.post('/crm/:version/:module/:id/Attachments', (req, res) => {
    const { module, id } = parentOf(req);
    const body = bodyOf(req);
    let file: IncomingFile | { linkUrl: string; title?: string } | undefined;
    if (body.kind === 'multipart') {
      const part = body.files.find((f) => f.field === 'file');
      const link = body.fields.attachmentUrl;
      const title = body.fields.title;
      if (part) file = { name: part.name, contentType: part.mimetype || 'application/octet-stream', data: part.data };
      else if (typeof link === 'string' && link !== '') file = { linkUrl: link, title: typeof title === 'string' ? title : undefined };
    }
    if (!file) {
      throw new ZohoHttpError(400, zohoError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'file' }));
    }
    if ('data' in file && file.data.length > MAX_ATTACHMENT_BYTES) {
      throw new ZohoHttpError(400, zohoError('FILE_SIZE_MORE_THAN_ALLOWED_SIZE', 'The file size is more than the allowed size', { maximum_size: '20 MB' }));
    }
    const attachment = store.addAttachment(module, id, file);
    res.status(200).json({
      data: [{ code: 'SUCCESS', details: writeDetails(attachment), message: 'attachment uploaded successfully', status: 'success' }],
    });
  });

  // Download: the bytes exactly as uploaded.
  router.get('/crm/:version/:module/:id/Attachments/:attachmentId', (req, res) => {
    const { id } = parentOf(req);
    const attachmentId = idParam(req, 'attachmentId');
    const a = store.attachmentsOf(id).find((x) => x.id === attachmentId && x.$type === 'Attachment');
    if (!a) throw new ZohoHttpError(400, zohoError('INVALID_DATA', 'the id given seems to be invalid', { id: attachmentId }));
    res
      .status(200)
      .type(a.content_type)
      .set('Content-Disposition', `attachment; filename="${a.File_Name.replace(/["\\\r\n]/g, '_')}"`)
      .send(a.content);
  });
}

const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (err instanceof ZohoHttpError) {
    res.status(err.status).json(err.body);
  } else if (err instanceof ZohoRecordInvalid) {
    res.status(400).json({ data: [err.entry] });
  } else {
    next(err);
  }
};
