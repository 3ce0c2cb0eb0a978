import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { bodyOf, isRecord } from '../common/body';
import { parseSearchQuery, SearchQueryError } from './search-query';
import { SORT_FIELDS, ZendeskSearch, type ResultType, type SearchHit, type SortField } from './search';
import { ZendeskSerializer } from './serialize';
import { RecordInvalid, RecordNotFound, type ZendeskStore } from './store';
import { zendeskBulkRouter } from './bulk';

const NOT_FOUND = { error: 'RecordNotFound', description: 'Not found' };
const MAX_PER_PAGE = 100;

class BadRequest extends Error {
  constructor(
    readonly body: Record<string, unknown>,
    readonly status = 400,
  ) {
    super(String(body.description ?? body.error));
  }
}

function origin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

function q(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function routeId(req: Request): number {
  const raw = req.params.id;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new RecordNotFound();
  return Number(raw);
}

/** The `{"user": {...}}` / `{"ticket": {...}}` envelope every Zendesk write uses. */
function root(req: Request, key: string): Record<string, unknown> {
  const body = bodyOf(req);
  const value = body.kind === 'json' && isRecord(body.value) ? body.value[key] : undefined;
  if (!isRecord(value)) {
    throw new BadRequest({ error: 'ParameterMissing', description: `param is missing or the value is empty: ${key}` });
  }
  return value;
}

function positiveInt(v: string | undefined, fallback: number): number {
  const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** Offset pagination with absolute next/previous URLs, as Zendesk's list endpoints do. */
function paginate<T>(req: Request, items: T[]): { page: T[]; next_page: string | null; previous_page: string | null; count: number } {
  const perPage = Math.min(positiveInt(q(req, 'per_page'), MAX_PER_PAGE), MAX_PER_PAGE);
  const page = positiveInt(q(req, 'page'), 1);
  const start = (page - 1) * perPage;
  const link = (p: number): string => {
    const url = new URL(req.originalUrl, origin(req));
    url.searchParams.set('page', String(p));
    return url.toString();
  };
  return {
    page: items.slice(start, start + perPage),
    next_page: start + perPage < items.length ? link(page + 1) : null,
    previous_page: page > 1 ? link(page - 1) : null,
    count: items.length,
  };
}

const GENERIC_TYPES = new Set(['', 'application/binary', 'application/octet-stream', 'binary/octet-stream']);
const TYPES_BY_EXTENSION: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  m4a: 'audio/mp4',
  webm: 'audio/webm',
  mp4: 'video/mp4',
  txt: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  json: 'application/json',
  pdf: 'application/pdf',
  zip: 'application/zip',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
};

/** Like Zendesk, a generic declared type (application/binary...) is replaced by one guessed from the name. */
export function contentTypeFor(declared: string | undefined, filename: string): string {
  const type = (declared ?? '').split(';')[0].trim().toLowerCase();
  if (!GENERIC_TYPES.has(type)) return type;
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase() ?? '';
  return TYPES_BY_EXTENSION[ext] ?? 'application/octet-stream';
}

function decodeBase64(s: string): Buffer {
  const payload = s.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload)) {
    throw new BadRequest({ error: 'InvalidValue', description: 'upload.content_base64 is not valid base64' });
  }
  return Buffer.from(payload, 'base64');
}

interface IncomingFile {
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** The three accepted upload encodings, reduced to one shape. */
function incomingFile(req: Request): IncomingFile {
  const body = bodyOf(req);
  const filename = q(req, 'filename');
  switch (body.kind) {
    case 'multipart': {
      const part = body.files.find((f) => f.field === 'file');
      if (!part) throw new BadRequest({ error: 'ParameterMissing', description: 'multipart part "file" is missing' });
      return { filename: filename ?? part.name, contentType: part.mimetype, data: part.data };
    }
    case 'json': {
      // Non-Zendesk extension: {"upload":{"filename","content_type","content_base64"}} for
      // clients that can only send JSON. Any other JSON is an uploaded .json file.
      const upload = isRecord(body.value) ? body.value.upload : undefined;
      if (isRecord(upload) && typeof upload.content_base64 === 'string') {
        return {
          filename: typeof upload.filename === 'string' ? upload.filename : filename,
          contentType: typeof upload.content_type === 'string' ? upload.content_type : undefined,
          data: decodeBase64(upload.content_base64),
        };
      }
      return { filename, contentType: 'application/json', data: body.raw };
    }
    case 'form':
      return { filename, contentType: 'application/x-www-form-urlencoded', data: body.raw };
    case 'binary':
      return { filename, contentType: body.contentType, data: body.raw };
    case 'none':
    case 'invalid':
      return { filename, contentType: undefined, data: Buffer.alloc(0) };
  }
}

/** Set by the "ignore unknown filter" fault (see FaultSpec.ignoreFilter). */
function ignoresFilter(req: Request): boolean {
  return req.res?.locals.ignoreFilter === true;
}

/** Under that fault, results carry no field a client could order them by. */
function withoutSortFields<T extends Record<string, unknown>>(req: Request, item: T): T {
  if (!ignoresFilter(req)) return item;
  const { created_at: _c, updated_at: _u, ...rest } = item;
  return rest as T;
}

export function zendeskRouter(store: ZendeskStore): Router {
  const router = express.Router();
  const zendesk = zendeskContext(store);
  searchRoutes(router, zendesk);
  userRoutes(router, zendesk);
  router.use(zendeskBulkRouter(store)); // before /tickets/:id, which would take update_many for an id
  ticketRoutes(router, zendesk);
  uploadRoutes(router, zendesk);
  router.use(onError);
  return router;
}

/** What the resources' routes share: the store, its search, and serializers for the request's origin. */
function zendeskContext(store: ZendeskStore) {
  const search = new ZendeskSearch(store.state);
  const ser = (req: Request) => new ZendeskSerializer(store, origin(req));

  const hitJson = (req: Request, hit: SearchHit) =>
    withoutSortFields(
      req,
      hit.result_type === 'user' ? { ...ser(req).user(hit.record), result_type: 'user' } : { ...ser(req).ticket(hit.record), result_type: 'ticket' },
    );

  const runSearch = (req: Request, only?: ResultType[]): SearchHit[] => {
    const query = q(req, 'query') ?? '';
    let terms;
    try {
      terms = parseSearchQuery(query);
    } catch (err) {
      if (err instanceof SearchQueryError) {
        throw new BadRequest({ error: 'InvalidSearchParameters', description: `Invalid search: ${err.message}` });
      }
      throw err;
    }
    if (ignoresFilter(req)) {
      // The "ignore unknown filter" fault: only type: is understood; everything else is
      // dropped, and the hits come in storage order (not sorted).
      const kept = terms.filter((t) => t.kind === 'field' && t.field === 'type');
      return search.run(kept, { only }).sort((a, b) => a.record.id - b.record.id);
    }
    const sortBy = q(req, 'sort_by');
    return search.run(terms, {
      only,
      sortBy: (SORT_FIELDS as readonly string[]).includes(sortBy ?? '') ? (sortBy as SortField) : undefined,
      sortOrder: q(req, 'sort_order') === 'asc' ? 'asc' : 'desc',
    });
  };

  return { store, ser, hitJson, runSearch };
}
type Zendesk = ReturnType<typeof zendeskContext>;

/** Unified search (users and tickets). */
function searchRoutes(router: Router, { hitJson, runSearch }: Zendesk): void {
  router.get('/api/v2/search{.json}', (req, res) => {
    const { page, ...links } = paginate(req, runSearch(req));
    res.json({ results: page.map((h) => hitJson(req, h)), facets: null, ...links });
  });
}

/** Users: search, list, create (one or many), read, update, their requested tickets. */
function userRoutes(router: Router, { store, ser, runSearch }: Zendesk): void {
  router.get('/api/v2/users/search{.json}', (req, res) => {
    const externalId = q(req, 'external_id');
    let users;
    if (externalId !== undefined && q(req, 'query') === undefined) {
      users = store.state.users.filter((u) => u.external_id === externalId);
    } else {
      users = runSearch(req, ['user']).flatMap((h) => (h.result_type === 'user' ? [h.record] : []));
    }
    const { page, ...links } = paginate(req, users);
    res.json({ users: page.map((u) => withoutSortFields(req, ser(req).user(u))), ...links });
  });

  router.get('/api/v2/users{.json}', (req, res) => {
    const { page, ...links } = paginate(req, store.state.users);
    res.json({ users: page.map((u) => ser(req).user(u)), ...links });
  });

  router.post('/api/v2/users{.json}', (req, res) => {
    const user = store.createUser(root(req, 'user'));
    res
      .status(201)
      .location(`/api/v2/users/${user.id}.json`)
      .json({ user: ser(req).user(user) });
  });

  // Zendesk queues bulk creates as a background job; here the job is already complete when
  // the response is sent, so the results (with the new ids) are in the first answer.
  router.post('/api/v2/users/create_many{.json}', (req, res) => {
    const body = bodyOf(req);
    const list = body.kind === 'json' && isRecord(body.value) ? body.value.users : undefined;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isRecord)) {
      throw new BadRequest({ error: 'ParameterMissing', description: 'param is missing or the value is empty: users' });
    }
    const created = list.map((u) => store.createUser(u as Record<string, unknown>));
    const jobId = `job-${created[0].id}`;
    res.json({
      job_status: {
        id: jobId,
        url: `${req.protocol}://${req.get('host')}/api/v2/job_statuses/${jobId}.json`,
        status: 'completed',
        total: created.length,
        progress: created.length,
        message: `Completed at ${new Date().toISOString()}`,
        results: created.map((u, index) => ({ index, id: u.id, action: 'create', success: true, status: 'Created' })),
      },
    });
  });

  router.get('/api/v2/users/:id{.json}', (req, res) => {
    const user = store.user(routeId(req));
    if (!user) throw new RecordNotFound();
    res.json({ user: ser(req).user(user) });
  });

  router.put('/api/v2/users/:id{.json}', (req, res) => {
    const user = store.updateUser(routeId(req), root(req, 'user'));
    res.json({ user: ser(req).user(user) });
  });

  router.get('/api/v2/users/:id/tickets/requested{.json}', (req, res) => {
    const id = routeId(req);
    if (!store.user(id)) throw new RecordNotFound();
    const { page, ...links } = paginate(
      req,
      store.state.tickets.filter((t) => t.requester_id === id),
    );
    res.json({ tickets: page.map((t) => ser(req).ticket(t)), ...links });
  });
}

/** Tickets: list, create, read, update, comments. */
function ticketRoutes(router: Router, { store, ser }: Zendesk): void {
  router.get('/api/v2/tickets{.json}', (req, res) => {
    // Like Zendesk's List Tickets: ?external_id= lists the tickets with that external id (read
    // from the database, so unlike search it sees a ticket the moment it is created).
    const externalId = q(req, 'external_id');
    const tickets = externalId === undefined ? store.state.tickets : store.state.tickets.filter((t) => t.external_id === externalId);
    const { page, ...links } = paginate(req, tickets);
    res.json({ tickets: page.map((t) => ser(req).ticket(t)), ...links });
  });

  router.post('/api/v2/tickets{.json}', (req, res) => {
    const { ticket, audit } = store.createTicket(root(req, 'ticket'));
    const s = ser(req);
    res
      .status(201)
      .location(`/api/v2/tickets/${ticket.id}.json`)
      .json({ ticket: s.ticket(ticket), audit: s.audit(audit) });
  });

  router.get('/api/v2/tickets/:id{.json}', (req, res) => {
    const ticket = store.ticket(routeId(req));
    if (!ticket) throw new RecordNotFound();
    res.json({ ticket: ser(req).ticket(ticket) });
  });

  router.put('/api/v2/tickets/:id{.json}', (req, res) => {
    const { ticket, audit } = store.updateTicket(routeId(req), root(req, 'ticket'));
    const s = ser(req);
    res.json({ ticket: s.ticket(ticket), audit: s.audit(audit) });
  });

  router.get('/api/v2/tickets/:id/comments{.json}', (req, res) => {
    const id = routeId(req);
    if (!store.ticket(id)) throw new RecordNotFound();
    const comments = store.commentsOf(id);
    if (q(req, 'sort_order') === 'desc') comments.reverse();
    const { page, ...links } = paginate(req, comments);
    res.json({ comments: page.map((c) => ser(req).comment(c)), ...links });
  });
}

/** Uploads and attachments, and the unauthenticated content URL. */
function uploadRoutes(router: Router, { store, ser }: Zendesk): void {
  router.post('/api/v2/uploads{.json}', (req, res) => {
    const file = incomingFile(req);
    if (!file.filename) {
      throw new BadRequest({ error: 'ParameterMissing', description: 'param is missing or the value is empty: filename' });
    }
    const { upload, attachment } = store.addUpload({
      filename: file.filename,
      contentType: contentTypeFor(file.contentType, file.filename),
      data: file.data,
      token: q(req, 'token'),
    });
    res.status(201).json({ upload: ser(req).upload(upload, attachment) });
  });

  router.delete('/api/v2/uploads/:token{.json}', (req, res) => {
    store.deleteUpload(String(req.params.token));
    res.status(204).end();
  });

  router.get('/api/v2/attachments/:id{.json}', (req, res) => {
    const attachment = store.attachment(routeId(req));
    if (!attachment) throw new RecordNotFound();
    res.json({ attachment: ser(req).attachment(attachment) });
  });

  // content_url target. Outside /api/v2 and unauthenticated: the token in the URL is the secret.
  router.get('/attachments/token/:token{/}', (req: Request, res: Response) => {
    const attachment = store.attachmentByContentToken(String(req.params.token));
    if (!attachment) throw new RecordNotFound();
    res
      .status(200)
      .type(attachment.content_type)
      .set('Content-Disposition', `attachment; filename="${attachment.file_name.replace(/["\\\r\n]/g, '_')}"`)
      .send(attachment.content);
  });
}

const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (err instanceof RecordNotFound) {
    res.status(404).json(NOT_FOUND);
  } else if (err instanceof RecordInvalid) {
    res.status(422).json({ error: 'RecordInvalid', description: 'Record validation errors', details: err.details });
  } else if (err instanceof BadRequest) {
    res.status(err.status).json(err.body);
  } else {
    next(err);
  }
};
