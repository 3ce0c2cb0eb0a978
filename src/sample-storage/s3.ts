/**
 * An S3-compatible object store for tests: path-style PUT/GET/HEAD/DELETE Object and
 * ListObjectsV2, every request checked for a valid AWS Signature V4 (Authorization header with
 * the payload hash, or a presigned URL) against the configured key pair, answered with S3's XML
 * errors. Faults, the request log and /__control (objects with bytes) as in the sample CRMs.
 */
import express, { type Request, type Response } from 'express';
import { bodyReader } from '../sample-crm/common/body';
import type { Clock } from '../sample-crm/common/clock';
import { controlRouter, type ControlTarget } from '../sample-crm/common/control';
import { FaultRegistry, type Fault, type FaultSpec } from '../sample-crm/common/faults';
import { RequestLog, type LoggedRequest } from '../sample-crm/common/request-log';
import { listen } from '../sample-crm/common/server';
import { sha256Hex, signature, UNSIGNED_PAYLOAD, type SigV4Credentials } from '../storage/sigv4';

export interface S3EmulatorOptions {
  credentials: SigV4Credentials;
  region?: string;
  /** Buckets that exist; others answer NoSuchBucket. Default: any. */
  buckets?: string[];
  clock?: Clock;
}

export interface StoredS3Object {
  bucket: string;
  key: string;
  data: Buffer;
  contentType: string;
  /** How many times this key was written. */
  writes: number;
}

export interface SampleS3 extends ControlTarget {
  readonly url: string;
  readonly port: number;
  readonly objects: Map<string, StoredS3Object>;
  object(bucket: string, key: string): StoredS3Object | undefined;
  refuse(ms: number): void;
  close(): Promise<void>;
}

export async function startSampleS3(options: S3EmulatorOptions): Promise<SampleS3> {
  const clock = options.clock ?? Date.now;
  const region = options.region ?? 'us-east-1';
  const objects = new Map<string, StoredS3Object>();
  const log = new RequestLog(clock);
  const faults = new FaultRegistry();
  const raw = new WeakMap<Request, Buffer>();
  const id = (bucket: string, key: string) => `${bucket}/${key}`;

  const target: ControlTarget = {
    injectFault: (spec: FaultSpec): Fault =>
      faults.add(
        spec.status !== undefined && spec.body === undefined
          ? { ...spec, body: s3ErrorXml('InternalError', 'Injected fault'), headers: { 'Content-Type': 'application/xml', ...spec.headers } }
          : spec,
      ),
    listFaults: () => faults.list(),
    removeFault: (fid) => faults.remove(fid),
    clearFaults: () => faults.clear(),
    get requests(): LoggedRequest[] {
      return log.entries;
    },
    clearRequests: () => log.clear(),
    snapshot: () => ({
      objects: [...objects.values()].map((o) => ({
        bucket: o.bucket,
        key: o.key,
        size: o.data.length,
        contentType: o.contentType,
        writes: o.writes,
        base64: o.data.toString('base64'),
      })),
    }),
    reset: () => {
      objects.clear();
      log.clear();
      faults.clear();
    },
    expireAllTokens: () => undefined,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use('/__control', controlRouter(target));
  const readRaw = express.raw({ type: () => true, limit: 256 * 1024 * 1024 });
  app.use((req, res, next) =>
    readRaw(req, res, (err?: unknown) => {
      if (err) return s3Error(res, 400, 'EntityTooLarge', 'The body is too large or unreadable');
      if (Buffer.isBuffer(req.body)) raw.set(req, req.body);
      next();
    }),
  );
  app.use(bodyReader());
  app.use(log.middleware());
  app.use(
    faults.middleware((req, fault) => {
      const entry = log.entryFor(req);
      if (entry) entry.faultId = fault.id;
    }),
  );

  app.use((req, res) => {
    const body = raw.get(req) ?? Buffer.alloc(0);
    const verdict = verify(req, body, options.credentials, region, clock());
    if (verdict !== 'ok') return s3Error(res, 403, verdict === 'InvalidAccessKeyId' ? verdict : 'SignatureDoesNotMatch', verdict);
    const entry = log.entryFor(req);
    if (entry) entry.auth = { method: 'api_key', subject: options.credentials.accessKeyId };

    const m = /^\/([^/]+)(?:\/(.+))?$/.exec(req.path);
    if (!m) return s3Error(res, 400, 'InvalidRequest', 'path-style requests only: /{bucket}/{key}');
    const bucket = decodeURIComponent(m[1]);
    if (options.buckets && !options.buckets.includes(bucket)) return s3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (m[2] === undefined) {
      if (req.method !== 'GET') return s3Error(res, 405, 'MethodNotAllowed', 'bucket operations other than list are not emulated');
      const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '';
      const keys = [...objects.values()]
        .filter((o) => o.bucket === bucket && o.key.startsWith(prefix))
        .map((o) => o.key)
        .sort();
      res
        .type('application/xml')
        .send(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount>${keys.map((k) => `<Contents><Key>${xml(k)}</Key><Size>${objects.get(id(bucket, k))!.data.length}</Size></Contents>`).join('')}</ListBucketResult>`,
        );
      return;
    }
    const key = decodeURIComponent(m[2]);
    const o = objects.get(id(bucket, key));
    switch (req.method) {
      case 'PUT': {
        objects.set(id(bucket, key), {
          bucket,
          key,
          data: body,
          contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
          writes: (o?.writes ?? 0) + 1,
        });
        res
          .set('ETag', `"${sha256Hex(body).slice(0, 32)}"`)
          .status(200)
          .end();
        return;
      }
      case 'GET':
      case 'HEAD':
        if (!o) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        res.set({ 'Content-Type': o.contentType, 'Content-Length': String(o.data.length) }).status(200);
        if (req.method === 'HEAD') res.end();
        else res.end(o.data);
        return;
      case 'DELETE':
        objects.delete(id(bucket, key));
        res.status(204).end();
        return;
      default:
        s3Error(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  });

  const server = await listen(app);
  faults.refuseConnections = (ms) => server.refuse(ms);
  return {
    ...target,
    get requests() {
      return log.entries;
    },
    url: server.url,
    port: server.port,
    objects,
    object: (bucket, key) => objects.get(id(bucket, key)),
    refuse: (ms) => server.refuse(ms),
    close: () => server.close(),
  };
}

/** 'ok', 'InvalidAccessKeyId', or why the signature does not hold. */
function verify(req: Request, body: Buffer, creds: SigV4Credentials, region: string, nowMs: number): string {
  const [path, rawQuery = ''] = req.originalUrl.split('?', 2);
  const pairs = [...new URLSearchParams(rawQuery).entries()];
  const presigned = pairs.find(([k]) => k === 'X-Amz-Signature');
  if (presigned) {
    const get = (k: string) => pairs.find(([n]) => n === k)?.[1] ?? '';
    if (req.method !== 'GET' && req.method !== 'HEAD') return 'presigned URLs are for GET here';
    const [accessKey, ...scope] = get('X-Amz-Credential').split('/');
    if (accessKey !== creds.accessKeyId) return 'InvalidAccessKeyId';
    if (scope[1] !== region || scope[2] !== 's3') return 'wrong credential scope';
    const date = get('X-Amz-Date');
    const at = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15));
    if (nowMs > at + Number(get('X-Amz-Expires')) * 1000) return 'Request has expired';
    const headers: Record<string, string> = {};
    for (const h of get('X-Amz-SignedHeaders').split(';')) headers[h] = String(req.headers[h] ?? '');
    const s = signature(
      { method: 'GET', path, query: pairs.filter(([k]) => k !== 'X-Amz-Signature'), headers, payloadHash: UNSIGNED_PAYLOAD },
      creds,
      { region, service: 's3' },
      date,
    );
    return s.signature === presigned[1] ? 'ok' : 'The request signature we calculated does not match the signature you provided.';
  }
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    String(req.headers.authorization ?? ''),
  );
  if (!auth) return 'Missing or malformed Authorization (AWS4-HMAC-SHA256)';
  if (auth[1] !== creds.accessKeyId) return 'InvalidAccessKeyId';
  if (auth[3] !== region) return `the region is ${region}`;
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== sha256Hex(body)) return 'XAmzContentSHA256Mismatch';
  const signedNames = auth[4].split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const headers: Record<string, string> = {};
  for (const h of signedNames) headers[h] = String(req.headers[h] ?? '');
  const date = headers['x-amz-date'];
  if (
    Math.abs(nowMs - Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15))) >
    15 * 60_000
  )
    return 'RequestTimeTooSkewed';
  const s = signature({ method: req.method, path, query: pairs, headers, payloadHash }, creds, { region, service: 's3' }, date);
  return s.signature === auth[5] ? 'ok' : 'The request signature we calculated does not match the signature you provided.';
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`;
}

function s3Error(res: Response, status: number, code: string, message: string): void {
  res.status(status).type('application/xml').send(s3ErrorXml(code, message));
}
