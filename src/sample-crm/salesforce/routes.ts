/**
 * The REST API routes under /services/data/vXX.X: query/queryAll (SOQL, query locators),
 * sObject create/read/update/delete, describe, and ContentVersion file bytes. Every error is
 * Salesforce's JSON array of {message, errorCode[, fields]}.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { bodyOf, isRecord } from '../common/body';
import { batchSizeFrom, type QueryPager } from './query';
import { resolveType, SOBJECTS, type SObjectType } from './schema';
import { NOT_FOUND_ENTRY, notFound, recordJson, SalesforceApiError, type SalesforceStore } from './store';
import type { SalesforceContentVersion, SalesforceErrorEntry } from './types';

export const INVALID_SESSION: SalesforceErrorEntry[] = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];

/** API versions served; Salesforce answers 404 NOT_FOUND for others. */
export const MIN_API_VERSION = 20;
export const MAX_API_VERSION = 59;

const VERSION_LABELS: Record<number, string> = {
  55: "Summer '22",
  56: "Winter '23",
  57: "Spring '23",
  58: "Summer '23",
  59: "Winter '24",
};

function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

function q(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

/** "v59.0" when the route's version is served, else a 404 like Salesforce's. */
function version(req: Request): string {
  const v = param(req, 'version');
  const m = /^v(\d+)\.0$/.exec(v);
  if (!m || Number(m[1]) < MIN_API_VERSION || Number(m[1]) > MAX_API_VERSION) throw notFound();
  return v;
}

function sobjectType(req: Request): SObjectType {
  const type = resolveType(param(req, 'type'));
  if (!type) throw notFound();
  return type;
}

/** The JSON body of a write; ContentVersion also takes multipart (entity_content + VersionData part). */
function writeBody(req: Request, type: SObjectType): unknown {
  const body = bodyOf(req);
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'json':
      return body.value;
    case 'multipart': {
      if (type !== 'ContentVersion') break;
      // The entity part is JSON; clients send it as a plain field or as a part with a content type.
      const part = body.files.find((f) => f.field === 'entity_content' || f.field === 'entity_document');
      const raw = body.fields.entity_content ?? body.fields.entity_document ?? part?.data.toString('utf8');
      let entity: unknown;
      try {
        entity = typeof raw === 'string' ? JSON.parse(raw) : undefined;
      } catch (err) {
        throw new SalesforceApiError(400, [{ message: (err as Error).message, errorCode: 'JSON_PARSER_ERROR' }]);
      }
      if (!isRecord(entity)) {
        throw new SalesforceApiError(400, [
          { message: "Multipart message must include a non-binary part named 'entity_content'", errorCode: 'INVALID_MULTIPART_REQUEST' },
        ]);
      }
      const file = body.files.find((f) => f.field === 'VersionData') ?? body.files.find((f) => f !== part);
      if (!file) {
        throw new SalesforceApiError(400, [{ message: 'Binary data is missing in the multipart request', errorCode: 'INVALID_MULTIPART_REQUEST' }]);
      }
      return { ...entity, VersionData: file.data.toString('base64'), PathOnClient: entity.PathOnClient ?? file.name };
    }
    default:
      break;
  }
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
  throw new SalesforceApiError(415, [
    { message: `Content-Type '${contentType}' is not supported for this resource; use application/json`, errorCode: 'UNSUPPORTED_MEDIA_TYPE' },
  ]);
}

function describeFields(type: SObjectType): Record<string, unknown>[] {
  return SOBJECTS[type].fields.map((f) => ({
    name: f.name,
    label: f.label,
    type: f.type,
    length: f.length ?? 0,
    createable: f.createable,
    updateable: f.updateable,
    nillable: f.nillable,
    filterable: f.filterable,
    sortable: f.sortable,
    defaultedOnCreate: f.defaultValue !== undefined || !f.createable,
    defaultValue: f.defaultValue ?? null,
    restrictedPicklist: f.restrictedPicklist ?? false,
    picklistValues: (f.picklistValues ?? []).map((v) => ({ active: true, defaultValue: v === f.defaultValue, label: v, validFor: null, value: v })),
    referenceTo: f.referenceTo ?? (f.type === 'reference' ? ['User'] : []),
    relationshipName: f.relationshipName ?? null,
  }));
}

function objectSummary(type: SObjectType, v: string): Record<string, unknown> {
  const def = SOBJECTS[type];
  const base = `/services/data/${v}/sobjects/${type}`;
  return {
    name: type,
    label: def.label,
    labelPlural: def.labelPlural,
    keyPrefix: def.keyPrefix,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    custom: false,
    urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
  };
}

/** 405 with the methods a resource allows, as Salesforce answers. */
function methodNotAllowed(allowed: string): RequestHandler {
  return (req, res) => {
    res
      .status(405)
      .set('Allow', allowed)
      .json([{ errorCode: 'METHOD_NOT_ALLOWED', message: `HTTP Method '${req.method}' not allowed. Allowed are ${allowed}` }]);
  };
}

export interface SessionGuard {
  /** true when the bearer token is a live session (and records the use); false → 401. */
  use(token: string): boolean;
}

/** Where the data API lives. */
const base = '/services/data';

export function salesforceRouter(store: SalesforceStore, pager: QueryPager, sessions: SessionGuard): Router {
  const router = express.Router();
  // Only OAuth sessions reach the data API (the shared auth layer also knows basic and API-key
  // credentials; Salesforce does not), and each call keeps the session alive.
  router.use(base, (req, res, next) => {
    const token = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !sessions.use(token)) {
      res.status(401).set('WWW-Authenticate', 'Token').json(INVALID_SESSION);
      return;
    }
    next();
  });

  router.get(base, (_req, res) => {
    const versions = [];
    for (let n = MIN_API_VERSION; n <= MAX_API_VERSION; n++) {
      versions.push({ label: VERSION_LABELS[n] ?? `v${n}.0`, url: `${base}/v${n}.0`, version: `${n}.0` });
    }
    res.json(versions);
  });

  router.get(`${base}/:version`, (req, res) => {
    const v = version(req);
    res.json({ sobjects: `${base}/${v}/sobjects`, query: `${base}/${v}/query`, queryAll: `${base}/${v}/queryAll` });
  });

  queryRoutes(router, pager);
  sObjectRoutes(router, store);
  router.use(onError);
  return router;
}

/** SOQL: query and queryAll, with their next-page locators. */
function queryRoutes(router: Router, pager: QueryPager): void {
  for (const resource of ['query', 'queryAll'] as const) {
    router.get(`${base}/:version/${resource}`, (req, res) => {
      const v = version(req);
      const soql = q(req, 'q');
      if (soql === undefined || soql.trim() === '') {
        throw new SalesforceApiError(400, [{ message: 'A query string has to be specified', errorCode: 'MALFORMED_QUERY' }]);
      }
      const batch = batchSizeFrom(req.get('sforce-query-options'));
      if (res.locals.ignoreFilter === true) {
        // The "ignore unknown filter" fault (FaultSpec.ignoreFilter): WHERE and ORDER BY are
        // dropped, and the rows come without CreatedDate/LastModifiedDate to order them by.
        const page = pager.first(withoutFilter(soql), v, batch, resource === 'queryAll');
        res.json({ ...page, records: page.records.map(({ CreatedDate: _c, LastModifiedDate: _m, ...rest }) => rest) });
        return;
      }
      res.json(pager.first(soql, v, batch, resource === 'queryAll'));
    });
    router.get(`${base}/:version/${resource}/:locator`, (req, res) => {
      const v = version(req);
      res.json(pager.next(param(req, 'locator'), v, batchSizeFrom(req.get('sforce-query-options'))));
    });
    router.all(`${base}/:version/${resource}`, methodNotAllowed('GET,HEAD'));
  }
}

/** sObjects: the list, describe, create, read, update, delete, and blob fields. */
function sObjectRoutes(router: Router, store: SalesforceStore): void {
  router.get(`${base}/:version/sobjects`, (req, res) => {
    const v = version(req);
    res.json({ encoding: 'UTF-8', maxBatchSize: 200, sobjects: (Object.keys(SOBJECTS) as SObjectType[]).map((t) => objectSummary(t, v)) });
  });

  router.get(`${base}/:version/sobjects/:type`, (req, res) => {
    const v = version(req);
    const type = sobjectType(req);
    const recent = store
      .table(type)
      .filter((r) => !r.IsDeleted)
      .slice(-10)
      .reverse()
      .map((r) => ({ attributes: { type, url: `${base}/${v}/sobjects/${type}/${r.Id}` }, Id: r.Id, ...('Name' in r ? { Name: r.Name } : {}) }));
    res.json({ objectDescribe: objectSummary(type, v), recentItems: recent });
  });

  router.post(`${base}/:version/sobjects/:type`, (req, res) => {
    version(req);
    const type = sobjectType(req);
    const rec = store.create(type, writeBody(req, type));
    res.status(201).json({ id: rec.Id, success: true, errors: [] });
  });
  router.all(`${base}/:version/sobjects/:type`, methodNotAllowed('GET,HEAD,POST'));

  router.get(`${base}/:version/sobjects/:type/describe`, (req, res) => {
    const v = version(req);
    const type = sobjectType(req);
    res.json({ ...objectSummary(type, v), fields: describeFields(type) });
  });

  router.get(`${base}/:version/sobjects/:type/:id`, (req, res) => {
    const v = version(req);
    const type = sobjectType(req);
    const rec = store.get(type, param(req, 'id'));
    const wanted = q(req, 'fields');
    let fields;
    if (wanted !== undefined) {
      fields = wanted
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((name) => {
          const def = SOBJECTS[type].byLowerName.get(name.toLowerCase());
          if (!def) {
            throw new SalesforceApiError(400, [
              {
                message: `No such column '${name}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
                errorCode: 'INVALID_FIELD',
              },
            ]);
          }
          return def;
        });
    }
    res.json(recordJson(type, rec, v, fields));
  });

  router.patch(`${base}/:version/sobjects/:type/:id`, (req, res) => {
    version(req);
    const type = sobjectType(req);
    store.update(type, param(req, 'id'), writeBody(req, type));
    res.status(204).end();
  });

  router.delete(`${base}/:version/sobjects/:type/:id`, (req, res) => {
    version(req);
    store.delete(sobjectType(req), param(req, 'id'));
    res.status(204).end();
  });
  router.all(`${base}/:version/sobjects/:type/:id`, methodNotAllowed('GET,HEAD,PATCH,DELETE'));

  // Blob fields: GET …/sobjects/ContentVersion/{id}/VersionData returns the file's bytes.
  router.get(`${base}/:version/sobjects/:type/:id/:field`, (req, res) => {
    version(req);
    const type = sobjectType(req);
    const rec = store.get(type, param(req, 'id'));
    const def = SOBJECTS[type].byLowerName.get(param(req, 'field').toLowerCase());
    if (def?.type !== 'base64') throw notFound();
    const data = (rec as SalesforceContentVersion)[def.name as 'VersionData'];
    // Salesforce really sends this (misspelt) media type for blob fields.
    res.status(200).type('application/octetstream').send(data);
  });
}

const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (err instanceof SalesforceApiError) {
    res.status(err.status).set(err.headers).json(err.errors);
  } else {
    next(err);
  }
};

export { NOT_FOUND_ENTRY };

/** A SOQL query without its WHERE and ORDER BY clauses (for the ignore-filter fault; literals are not parsed). */
function withoutFilter(soql: string): string {
  return soql.replace(/\s+WHERE\s+[\s\S]*?(?=\s+(?:ORDER\s+BY|LIMIT|OFFSET)\b|$)/i, '').replace(/\s+ORDER\s+BY\s+[\s\S]*?(?=\s+(?:LIMIT|OFFSET)\b|$)/i, '');
}
