/**
 * A Google Cloud Storage emulator for tests: an in-process HTTP server speaking the parts of
 * the GCS JSON API that @google-cloud/storage uses for what the gateway does with a bucket —
 * uploads (uploadType=media, multipart and resumable), object metadata and download
 * (alt=media, with the x-goog-hash header the client validates), list, delete — plus an OAuth
 * token endpoint for the refresh-token credential and a /__control API (faults, request log,
 * objects with their bytes), like the sample CRMs.
 *
 * Paths are matched on the raw (still percent-encoded) path: an object name is one encoded
 * segment (`a%2Fb.txt`), as the client sends it, so names with slashes, spaces and Unicode
 * come out exactly as stored.
 *
 * Auth: with `auth.required`, every storage request needs `Authorization: Bearer …`, either a
 * token this emulator's /token endpoint issued (OAuth client + refresh token) or a JWT signed
 * RS256 by one of the configured service-account keys (what google-auth-library sends for a
 * service account key when no token endpoint is used: a self-signed JWT). Without it, the
 * bearer is recorded but not checked (the client sends none to a custom endpoint by default).
 */
import { createHash, createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { CRC32C } from '@google-cloud/storage';
import { OAuthServer } from '../sample-crm/common/auth';
import { bodyReader } from '../sample-crm/common/body';
import { randomToken, type Clock } from '../sample-crm/common/clock';
import { controlRouter, type ControlTarget } from '../sample-crm/common/control';
import { FaultRegistry, type Fault, type FaultSpec } from '../sample-crm/common/faults';
import { RequestLog, type LoggedRequest } from '../sample-crm/common/request-log';
import { listen, type ListeningServer } from '../sample-crm/common/server';

export interface GcsServiceAccount {
  clientEmail: string;
  /** PEM public key (or certificate-less SPKI) matching the account's private key. */
  publicKeyPem: string;
}

export interface GcsOAuthClient {
  clientId: string;
  clientSecret: string;
  /** Refresh tokens the emulator accepts (Google's do not rotate). */
  refreshTokens: string[];
}

export interface GcsEmulatorOptions {
  auth?: {
    /** Refuse storage requests without a valid bearer token (401, as GCS answers). */
    required?: boolean;
    serviceAccounts?: GcsServiceAccount[];
    oauthClient?: GcsOAuthClient;
  };
  clock?: Clock;
  /** Largest request body accepted; default 64 MiB. */
  bodyLimitBytes?: number;
}

export interface StoredGcsObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  generation: number;
  metageneration: number;
  createdMs: number;
  updatedMs: number;
  metadata?: Record<string, string>;
}

/** What /__control/state shows: every object, bytes in base64. */
export interface GcsSnapshot {
  objects: { bucket: string; name: string; size: number; contentType: string; generation: string; base64: string }[];
}

export interface SampleGcs extends ControlTarget {
  /** http://127.0.0.1:port: the client's apiEndpoint. */
  readonly url: string;
  readonly port: number;
  /** The live object store, keyed "bucket/name". */
  readonly objects: Map<string, StoredGcsObject>;
  readonly oauth: OAuthServer;
  /** One object's bytes, or undefined. */
  object(bucket: string, name: string): StoredGcsObject | undefined;
  /** Stop accepting connections for `ms` (ECONNREFUSED), then listen again on the same port. */
  refuse(ms: number): void;
  close(): Promise<void>;
}

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  metadata?: Record<string, string>;
  received: Buffer[];
  size: number;
  ifGenerationMatch?: number;
}

const STORAGE_PREFIX = '/storage/v1/b/';
const UPLOAD_PREFIX = '/upload/storage/v1/b/';

export async function startSampleGcs(options: GcsEmulatorOptions = {}): Promise<SampleGcs> {
  const clock = options.clock ?? Date.now;
  const objects = new Map<string, StoredGcsObject>();
  const sessions = new Map<string, ResumableSession>();
  const log = new RequestLog(clock);
  const faults = new FaultRegistry();
  const auth = options.auth ?? {};
  const oauthClient = auth.oauthClient;
  const oauth = new OAuthServer(oauthClient ? { clientId: oauthClient.clientId, clientSecret: oauthClient.clientSecret } : undefined, clock);
  oauth.configure({ rotateRefreshTokens: false });
  const serviceKeys = (auth.serviceAccounts ?? []).map((a) => ({ email: a.clientEmail, key: createPublicKey(a.publicKeyPem) }));
  let generation = 1_700_000_000_000_000;

  const seedRefreshTokens = (): void => {
    for (const token of oauthClient?.refreshTokens ?? []) {
      oauth.state.refreshTokens[token] = {
        token,
        clientId: oauthClient!.clientId,
        scope: 'https://www.googleapis.com/auth/devstorage.read_write',
        issuedAtMs: clock(),
        revoked: false,
        replacedBy: null,
      };
    }
  };
  seedRefreshTokens();

  const key = (bucket: string, name: string) => `${bucket}/${name}`;

  const resource = (o: StoredGcsObject, base: string): Record<string, unknown> => ({
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${base}/download/storage/v1/b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.name)}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: String(o.metageneration),
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    crc32c: crc32cOf(o.data),
    etag: createHash('md5').update(`${o.generation}`).digest('base64'),
    timeCreated: new Date(o.createdMs).toISOString(),
    updated: new Date(o.updatedMs).toISOString(),
    ...(o.metadata ? { metadata: o.metadata } : {}),
  });

  /** Writes an object: same name = replaced, with a new generation (GCS semantics). */
  const write = (
    res: Response,
    base: string,
    w: { bucket: string; name: string; data: Buffer; contentType: string; metadata?: Record<string, string>; ifGenerationMatch?: number },
  ): void => {
    const existing = objects.get(key(w.bucket, w.name));
    if (w.ifGenerationMatch !== undefined && (existing?.generation ?? 0) !== w.ifGenerationMatch) {
      gcsError(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
      return;
    }
    const now = clock();
    const stored: StoredGcsObject = {
      bucket: w.bucket,
      name: w.name,
      data: w.data,
      contentType: w.contentType || 'application/octet-stream',
      generation: ++generation,
      metageneration: 1,
      createdMs: now,
      updatedMs: now,
      ...(w.metadata ? { metadata: w.metadata } : {}),
    };
    objects.set(key(w.bucket, w.name), stored);
    res.status(200).json(resource(stored, base));
  };

  const app = express();
  app.disable('x-powered-by');
  app.use('/__control', controlRouter(target()));
  // The bytes as sent, whatever the Content-Type says (a .json file with broken JSON is still
  // a file); bodyReader then only classifies them for the request log.
  const rawBodies = new WeakMap<Request, Buffer>();
  const limit = options.bodyLimitBytes ?? 64 * 1024 * 1024;
  const readRaw = express.raw({ type: () => true, limit });
  app.use((req, res, next) =>
    readRaw(req, res, (err?: unknown) => {
      if (err) return gcsError(res, 413, 'uploadTooLarge', 'The request body is too large or unreadable');
      if (Buffer.isBuffer(req.body)) rawBodies.set(req, req.body);
      next();
    }),
  );
  app.use(bodyReader(limit));
  app.use(log.middleware());
  app.use(
    faults.middleware((req, fault) => {
      const entry = log.entryFor(req);
      if (entry) entry.faultId = fault.id;
    }),
  );
  app.use(oauth.router({ authorize: '/o/oauth2/auth', token: '/token' }));

  // A V4 signed URL (`{endpoint}/{bucket}/{object}?X-Goog-Signature=…`) carries its own
  // authorization: checked against the service-account keys, whatever auth.required says.
  app.get(/^\/(?!storage\/|upload\/|download\/)[^/]+\/.+/, (req, res, next) => {
    const query = req.query as Record<string, string | undefined>;
    if (query['X-Goog-Signature'] === undefined) return next();
    // The client signs the host name without the port (GCS is on 443); so do we.
    const verdict = verifyV4SignedUrl(req.originalUrl, String(req.headers.host).replace(/:\d+$/, ''), serviceKeys, clock());
    if (verdict !== 'ok') return gcsError(res, 403, 'SignatureDoesNotMatch', verdict);
    const m = /^\/([^/]+)\/(.+)$/.exec(req.path)!;
    const o = objects.get(key(decodeURIComponent(m[1]), decodeURIComponent(m[2])));
    if (!o) return gcsError(res, 404, 'notFound', 'No such object');
    res.set('Content-Type', o.contentType).status(200).end(o.data);
  });

  app.use((req, res, next) => {
    if (!auth.required) return next();
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const subject = bearer ? checkBearer(bearer, req) : undefined;
    if (subject) {
      const entry = log.entryFor(req);
      if (entry) entry.auth = { method: 'bearer', subject };
      return next();
    }
    res.set('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/"');
    gcsError(
      res,
      401,
      'required',
      bearer ? 'Invalid Credentials' : 'Anonymous caller does not have storage.objects access to the Google Cloud Storage bucket.',
    );
  });

  app.use((req, res) => {
    const base = `http://${req.headers.host}`;
    const path = req.path;
    const query = req.query as Record<string, string | undefined>;
    try {
      if (path.startsWith(UPLOAD_PREFIX)) return upload(req, res, base, path.slice(UPLOAD_PREFIX.length), query);
      if (path.startsWith(STORAGE_PREFIX)) return storage(req, res, base, path.slice(STORAGE_PREFIX.length), query);
      if (path.startsWith(`/download${STORAGE_PREFIX}`) && req.method === 'GET') {
        return storage(req, res, base, path.slice(`/download${STORAGE_PREFIX}`.length), { ...query, alt: 'media' });
      }
    } catch (err) {
      if (err instanceof URIError) return gcsError(res, 400, 'invalid', 'The object name is not valid percent-encoding.');
      throw err;
    }
    gcsError(res, 404, 'notFound', `Not Found: ${req.method} ${path}`);
  });

  function upload(req: Request, res: Response, base: string, rest: string, query: Record<string, string | undefined>): void {
    const m = /^([^/]+)\/o$/.exec(rest);
    if (!m) return gcsError(res, 404, 'notFound', 'Not Found');
    const bucket = decodeURIComponent(m[1]);
    const raw = rawBodies.get(req) ?? Buffer.alloc(0);
    const contentType = String(req.headers['content-type'] ?? '');
    const ifGenerationMatch = query.ifGenerationMatch !== undefined ? Number(query.ifGenerationMatch) : undefined;
    const uploadType = query.uploadType;

    if (req.method === 'POST' && uploadType === 'media') {
      if (!query.name) return gcsError(res, 400, 'required', 'Required parameter: name');
      return write(res, base, { bucket, name: query.name, data: raw, contentType, ifGenerationMatch });
    }
    if (req.method === 'POST' && uploadType === 'multipart') {
      const parts = parseMultipartRelated(contentType, raw);
      if (parts?.length !== 2) return gcsError(res, 400, 'invalid', 'Expected a multipart/related body with metadata and media parts');
      let meta: Record<string, unknown>;
      try {
        meta = JSON.parse(parts[0].body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return gcsError(res, 400, 'parseError', 'The metadata part is not JSON');
      }
      const name = typeof meta.name === 'string' ? meta.name : query.name;
      if (!name) return gcsError(res, 400, 'required', 'Required parameter: name');
      const ctype = typeof meta.contentType === 'string' ? meta.contentType : parts[1].contentType;
      return write(res, base, { bucket, name, data: parts[1].body, contentType: ctype, metadata: stringRecord(meta.metadata), ifGenerationMatch });
    }
    if (req.method === 'POST' && uploadType === 'resumable') {
      let meta: Record<string, unknown> = {};
      try {
        if (raw.length) meta = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return gcsError(res, 400, 'parseError', 'The upload metadata is not JSON');
      }
      const name = typeof meta.name === 'string' ? meta.name : query.name;
      if (!name) return gcsError(res, 400, 'required', 'Required parameter: name');
      const id = randomToken(16);
      sessions.set(id, {
        bucket,
        name,
        contentType: typeof meta.contentType === 'string' ? meta.contentType : String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
        metadata: stringRecord(meta.metadata),
        received: [],
        size: 0,
        ifGenerationMatch,
      });
      res.set('Location', `${base}${UPLOAD_PREFIX}${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`);
      res.status(200).end();
      return;
    }
    if (req.method === 'PUT' && uploadType === 'resumable' && query.upload_id) {
      const session = sessions.get(query.upload_id);
      if (!session) return gcsError(res, 404, 'notFound', 'No such upload session');
      // Content-Range: "bytes a-b/total", "bytes a-b/*" (more to come) or "bytes */total" (status query / empty final).
      const range = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      const total = range ? (range[4] === '*' ? undefined : Number(range[4])) : raw.length + session.size;
      if (range && range[2] !== undefined && Number(range[2]) !== session.size) {
        // A chunk that does not continue where we are: tell the client what we have.
        return resumeIncomplete(res, session.size);
      }
      if (raw.length) {
        session.received.push(raw);
        session.size += raw.length;
      }
      if (total === undefined || session.size < total) return resumeIncomplete(res, session.size);
      sessions.delete(query.upload_id);
      return write(res, base, {
        bucket: session.bucket,
        name: session.name,
        data: Buffer.concat(session.received),
        contentType: session.contentType,
        metadata: session.metadata,
        ifGenerationMatch: session.ifGenerationMatch,
      });
    }
    if (req.method === 'DELETE' && uploadType === 'resumable' && query.upload_id) {
      sessions.delete(query.upload_id);
      res.status(499).end();
      return;
    }
    gcsError(res, 400, 'invalid', `Unsupported upload: ${req.method} uploadType=${uploadType ?? ''}`);
  }

  function storage(req: Request, res: Response, base: string, rest: string, query: Record<string, string | undefined>): void {
    const objectPath = /^([^/]+)\/o\/([^/]+)$/.exec(rest);
    if (objectPath) {
      const bucket = decodeURIComponent(objectPath[1]);
      const name = decodeURIComponent(objectPath[2]);
      const o = objects.get(key(bucket, name));
      if (req.method === 'GET') {
        if (!o) return gcsError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
        if (query.alt === 'media') {
          res.set({
            'Content-Type': o.contentType,
            'x-goog-hash': `crc32c=${crc32cOf(o.data)},md5=${createHash('md5').update(o.data).digest('base64')}`,
            'x-goog-generation': String(o.generation),
            'x-goog-stored-content-encoding': 'identity',
            'x-goog-stored-content-length': String(o.data.length),
          });
          res.status(200).end(o.data);
          return;
        }
        res.json(resource(o, base));
        return;
      }
      if (req.method === 'DELETE') {
        if (!o) return gcsError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
        objects.delete(key(bucket, name));
        res.status(204).end();
        return;
      }
      return gcsError(res, 405, 'methodNotAllowed', 'Method not allowed');
    }
    const listPath = /^([^/]+)\/o$/.exec(rest);
    if (listPath && req.method === 'GET') {
      const bucket = decodeURIComponent(listPath[1]);
      const prefix = query.prefix ?? '';
      const items = [...objects.values()]
        .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((o) => resource(o, base));
      res.json({ kind: 'storage#objects', ...(items.length ? { items } : {}) });
      return;
    }
    const bucketPath = /^([^/]+)$/.exec(rest);
    if (bucketPath && req.method === 'GET') {
      const name = decodeURIComponent(bucketPath[1]);
      res.json({ kind: 'storage#bucket', id: name, name, location: 'US', storageClass: 'STANDARD' });
      return;
    }
    gcsError(res, 404, 'notFound', 'Not Found');
  }

  /** The subject of an acceptable bearer token, or undefined. */
  function checkBearer(token: string, req: Request): string | undefined {
    if (oauth.checkAccessToken(token) === 'ok') return oauth.state.accessTokens[token].clientId;
    return verifyServiceAccountJwt(token, serviceKeys, clock(), `http://${req.headers.host}/`);
  }

  function target(): ControlTarget {
    return {
      // An injected status answers in GCS's error shape (the client reads error.code), unless the test gives a body.
      injectFault: (spec: FaultSpec): Fault =>
        faults.add(
          spec.status !== undefined && spec.body === undefined ? { ...spec, body: gcsErrorBody(spec.status, 'backendError', 'Injected fault') } : spec,
        ),
      listFaults: () => faults.list(),
      removeFault: (id: string) => faults.remove(id),
      clearFaults: () => faults.clear(),
      get requests(): LoggedRequest[] {
        return log.entries;
      },
      clearRequests: () => log.clear(),
      snapshot: (): GcsSnapshot => ({
        objects: [...objects.values()].map((o) => ({
          bucket: o.bucket,
          name: o.name,
          size: o.data.length,
          contentType: o.contentType,
          generation: String(o.generation),
          base64: o.data.toString('base64'),
        })),
      }),
      reset: () => {
        objects.clear();
        sessions.clear();
        log.clear();
        faults.clear();
        oauth.reset();
        seedRefreshTokens();
      },
      expireAllTokens: (opts) => oauth.expireAllTokens(opts),
    };
  }

  const server: ListeningServer = await listen(app);
  faults.refuseConnections = (ms) => server.refuse(ms);
  const control = target();
  return {
    ...control,
    get requests() {
      return log.entries;
    },
    url: server.url,
    port: server.port,
    objects,
    oauth,
    object: (bucket, name) => objects.get(key(bucket, name)),
    refuse: (ms) => server.refuse(ms),
    close: () => server.close(),
  };
}

function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

function resumeIncomplete(res: Response, size: number): void {
  if (size > 0) res.set('Range', `bytes=0-${size - 1}`);
  res.status(308).end();
}

/** GCS JSON API error shape (what the client turns into an ApiError with `code`). */
function gcsError(res: Response, status: number, reason: string, message: string): void {
  res.status(status).json(gcsErrorBody(status, reason, message));
}

function gcsErrorBody(status: number, reason: string, message: string): unknown {
  return { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } };
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (val !== null && val !== undefined) out[k] = String(val);
  return out;
}

interface RelatedPart {
  contentType: string;
  body: Buffer;
}

/** Splits a multipart/related body (RFC 2387) into its parts; undefined when it is not one. */
export function parseMultipartRelated(contentType: string, raw: Buffer): RelatedPart[] | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\/related/i.test(contentType) || !boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: RelatedPart[] = [];
  let at = raw.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (raw.subarray(at, at + 2).toString() === '--') break; // closing delimiter
    const next = raw.indexOf(delimiter, at);
    if (next < 0) return undefined;
    // Part = CRLF headers CRLF CRLF body CRLF (the CRLF before the next delimiter belongs to it).
    const part = raw.subarray(at, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) return undefined;
    const headers = part.subarray(0, headerEnd).toString('utf8');
    let body = part.subarray(headerEnd + 4);
    if (body.subarray(body.length - 2).toString() === '\r\n') body = body.subarray(0, body.length - 2);
    const ctype = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
    parts.push({ contentType: ctype, body });
    at = next;
  }
  return parts;
}

/**
 * Checks a self-signed service-account JWT (RS256, iss = the account's e-mail, not expired,
 * for this server (aud starts with its origin) or with a storage scope); returns the account e-mail.
 */
export function verifyServiceAccountJwt(token: string, accounts: { email: string; key: KeyObject }[], nowMs: number, audience: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (header.alg !== 'RS256') return undefined;
  const account = accounts.find((a) => a.email === claims.iss);
  if (!account) return undefined;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${parts[0]}.${parts[1]}`);
  if (!verifier.verify(account.key, Buffer.from(parts[2], 'base64url'))) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return undefined;
  const scoped = typeof claims.scope === 'string' && /devstorage|cloud-platform/.test(claims.scope);
  // google-auth-library puts the request URL (or, for Google hosts, the API's root) in aud.
  if (!scoped && !(typeof claims.aud === 'string' && claims.aud.startsWith(audience))) return undefined;
  return account.email;
}

/**
 * Checks a V4 signed URL (GOOG4-RSA-SHA256, host the only signed header, unsigned payload) the
 * way GCS does: rebuilds the canonical request and string to sign, verifies the signature
 * with the key of the account named in X-Goog-Credential, and checks the expiry.
 * Returns 'ok' or why not.
 */
export function verifyV4SignedUrl(pathAndQuery: string, host: string, accounts: { email: string; key: KeyObject }[], nowMs: number): string {
  const [path, rawQuery = ''] = pathAndQuery.split('?', 2);
  const params = new URLSearchParams(rawQuery);
  if (params.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return 'X-Goog-Algorithm must be GOOG4-RSA-SHA256';
  const credential = params.get('X-Goog-Credential') ?? '';
  const [email, ...scopeParts] = credential.split('/');
  const account = accounts.find((a) => a.email === email);
  if (!account) return `unknown signer ${email}`;
  const date = params.get('X-Goog-Date') ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) return 'bad X-Goog-Date';
  const signedAt = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const expires = Number(params.get('X-Goog-Expires'));
  if (!(expires > 0 && expires <= 604_800)) return 'X-Goog-Expires must be 1-604800 seconds';
  if (nowMs > signedAt + expires * 1000) return 'the signed URL has expired';
  if (params.get('X-Goog-SignedHeaders') !== 'host') return 'only host may be signed';
  const canonicalQuery = rawQuery
    .split('&')
    .filter((kv) => kv !== '' && !kv.startsWith('X-Goog-Signature='))
    .sort()
    .join('&');
  const canonicalRequest = ['GET', path, canonicalQuery, `host:${host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['GOOG4-RSA-SHA256', date, scopeParts.join('/'), createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const verifier = createVerify('RSA-SHA256');
  verifier.update(stringToSign);
  return verifier.verify(account.key, Buffer.from(params.get('X-Goog-Signature') ?? '', 'hex')) ? 'ok' : 'the signature does not match';
}

/** A fresh random id, e.g. for bucket names in tests. */
export function randomBucketName(): string {
  return `bucket-${randomBytes(4).toString('hex')}`;
}
