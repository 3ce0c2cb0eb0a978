/**
 * AWS Signature Version 4 for S3-compatible storage (AWS S3, MinIO, Ceph, Wasabi, R2, …):
 * signed request headers and presigned URLs. Pure functions of the request, the credentials
 * and the time; checked against AWS's published examples (test/storage/sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SigV4Scope {
  readonly region: string;
  /** "s3" for object storage. */
  readonly service: string;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case), as SigV4 wants. */
export function uriEncode(s: string, keepSlash = false): string {
  const encoded = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** 20130524T000000Z */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function signingKey(secret: string, date: string, scope: SigV4Scope): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), scope.region), scope.service), 'aws4_request');
}

/** Query string in canonical form: names and values encoded, sorted by name (then value). */
export function canonicalQuery(params: ReadonlyArray<readonly [string, string]>): string {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export interface CanonicalParts {
  method: string;
  /** The path exactly as sent (already encoded once). */
  path: string;
  query: ReadonlyArray<readonly [string, string]>;
  /** Headers to sign: lower-case name → value. */
  headers: Readonly<Record<string, string>>;
  payloadHash: string;
}

/** The signature (hex) and what went into it. */
export function signature(
  parts: CanonicalParts,
  creds: SigV4Credentials,
  scope: SigV4Scope,
  xAmzDate: string,
): { signature: string; signedHeaders: string; credentialScope: string } {
  const names = Object.keys(parts.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(parts.headers)) lower[k.toLowerCase()] = v;
  const canonicalHeaders = names.map((n) => `${n}:${lower[n].trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [parts.method, parts.path, canonicalQuery(parts.query), canonicalHeaders, signedHeaders, parts.payloadHash].join('\n');
  const date = xAmzDate.slice(0, 8);
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', xAmzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  return {
    signature: createHmac('sha256', signingKey(creds.secretAccessKey, date, scope))
      .update(stringToSign)
      .digest('hex'),
    signedHeaders,
    credentialScope,
  };
}

/**
 * Headers for a signed request: `headers` (which must include host) plus x-amz-date,
 * x-amz-content-sha256 and Authorization.
 */
export function signHeaders(
  req: { method: string; path: string; query?: ReadonlyArray<readonly [string, string]>; headers: Record<string, string>; payloadHash: string },
  creds: SigV4Credentials,
  scope: SigV4Scope,
  nowMs: number,
): Record<string, string> {
  const xAmzDate = amzDate(nowMs);
  const headers = { ...req.headers, 'x-amz-date': xAmzDate, 'x-amz-content-sha256': req.payloadHash };
  const s = signature({ method: req.method, path: req.path, query: req.query ?? [], headers, payloadHash: req.payloadHash }, creds, scope, xAmzDate);
  return {
    ...headers,
    Authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${s.credentialScope}, SignedHeaders=${s.signedHeaders}, Signature=${s.signature}`,
  };
}

/** A presigned GET URL (only host signed, unsigned payload), valid `expiresSec` (at most 7 days). */
export function presignUrl(url: URL, creds: SigV4Credentials, scope: SigV4Scope, nowMs: number, expiresSec: number): string {
  const xAmzDate = amzDate(nowMs);
  const query: Array<[string, string]> = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${creds.accessKeyId}/${xAmzDate.slice(0, 8)}/${scope.region}/${scope.service}/aws4_request`],
    ['X-Amz-Date', xAmzDate],
    ['X-Amz-Expires', String(Math.min(604_800, Math.max(1, Math.floor(expiresSec))))],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const s = signature({ method: 'GET', path: url.pathname, query, headers: { host: url.host }, payloadHash: UNSIGNED_PAYLOAD }, creds, scope, xAmzDate);
  return `${url.origin}${url.pathname}?${canonicalQuery(query)}&X-Amz-Signature=${s.signature}`;
}
