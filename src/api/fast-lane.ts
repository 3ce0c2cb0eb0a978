/**
 * The fast lane for the gateway's hottest route: POST /v1/connectors/{id}/operations/{op} with
 * a JSON body, served on node:http directly instead of through express.
 *
 * Why: the platform calls this route during every live call, and on a 2-core machine express's
 * per-request machinery (router, body-parser's type and charset checks, res.json's header
 * handling, multer's check) cost as much CPU as the gateway's own work (render, auth,
 * classify, extract). The lane does the same things in the same order, with the same shared
 * pieces: requestIdFor, authorize (API keys), handleOperation (validation, durable accept,
 * runOperation) and problemFor (problem+json). Anything it does not handle plainly — multipart,
 * another media type or charset, a compressed body, an odd URL — goes to express unchanged,
 * so behaviour is one and the tests of the API exercise both paths.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { DeliveryService } from '../delivery/service';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import type { ApiKeys } from '../access/api-keys';
import { authorizeRoute, matchRoute, OPERATION_ROUTE, type RouteMatch } from './routes';
import { requestIdFor } from './request-id';
import { handleOperation, type OperationAnswer } from './operations';
import { problemFor } from './problem';
import { checkJsonShape } from './input-bounds';

export interface FastLaneOptions {
  deliveries?: DeliveryService;
  apiKeys?: ApiKeys;
  metricsAuth?: boolean;
  maxBodyBytes: number;
}

const PREFIX = '/v1/connectors/';

/**
 * Returns false, having touched nothing, for requests that express should serve. `matched`: the
 * route of the request's path (without the query) when the caller matched it already (null: no
 * route), so it is not matched twice.
 */
export function operationsFastLane(gw: Gateway, o: FastLaneOptions): (req: IncomingMessage, res: ServerResponse, matched?: RouteMatch | null) => boolean {
  return (req, res, matched) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) return false;
    const q = url.indexOf('?');
    const query = q < 0 ? undefined : url.slice(q + 1);
    if (query?.includes('#')) return false;
    // The same route table express uses: exact, case-sensitive, parameters decoded once.
    const match = matched === undefined ? matchRoute('POST', q < 0 ? url : url.slice(0, q)) : matched;
    if (match?.spec !== OPERATION_ROUTE || !isPlainJson(req.headers['content-type'])) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    void serveOperation(gw, o, req, res, match, query);
    return true;
  };
}

async function serveOperation(
  gw: Gateway,
  o: FastLaneOptions,
  req: IncomingMessage,
  res: ServerResponse,
  match: RouteMatch,
  query: string | undefined,
): Promise<void> {
  const requestId = requestIdFor(header(req, 'x-request-id'));
  const connectorId = match.params.id;
  const operation = match.params.operation;
  try {
    const who = authorizeRoute(o.apiKeys, match, header(req, 'authorization'), { metricsAuth: o.metricsAuth });
    if (who instanceof GatewayError) throw who;
    const body = parseJson(await readBody(req, o.maxBodyBytes));
    const params = query ? new URLSearchParams(query) : undefined;
    const answer = await handleOperation(gw, o.deliveries, {
      connectorId,
      operation,
      async: single(params, 'async'),
      dryRun: single(params, 'dry_run'),
      idempotencyKey: header(req, 'idempotency-key'),
      prefer: header(req, 'prefer'),
      body: () => body,
      requestId,
    });
    write(res, answer, requestId);
  } catch (e) {
    const p = problemFor(e, req.url!.split('?')[0], gw.logger, requestId, gw.redactor);
    // An over-long body is left unread: close the connection rather than drain it.
    if (e instanceof GatewayError && e.code === 'payload_too_large') p.headers.Connection = 'close';
    writeRaw(res, p.status, p.headers, p.body, requestId);
  }
}

function write(res: ServerResponse, a: OperationAnswer, requestId: string): void {
  writeRaw(res, a.status, { 'Content-Type': 'application/json; charset=utf-8', ...a.headers }, JSON.stringify(a.body), requestId);
}

function writeRaw(res: ServerResponse, status: number, headers: Record<string, string>, body: string, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'X-Request-Id': requestId, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** application/json, with no parameter but an optional charset=utf-8 (the rest is express's to judge). */
function isPlainJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  return params.every((p) => /^\s*charset\s*=\s*"?utf-8"?\s*$/i.test(p));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `?name=` given exactly once (as express's simple query parser yields a string only then). */
function single(params: URLSearchParams | undefined, name: string): string | undefined {
  const all = params?.getAll(name);
  return all?.length === 1 ? all[0] : undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(tooLarge());
    // One chunk (the usual small body) is decoded at the end; a large body chunk by chunk as it
    // arrives, so decoding megabytes is spread over many turns of the event loop, not one.
    let first: Buffer | undefined;
    let decoder: StringDecoder | undefined;
    let text = '';
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        reject(tooLarge());
        return;
      }
      if (!decoder && !first) {
        first = c;
        return;
      }
      if (!decoder) {
        decoder = new StringDecoder('utf8');
        text = decoder.write(first!);
        first = undefined;
      }
      text += decoder.write(c);
    });
    req.on('end', () => resolve(decoder ? text + decoder.end() : first ? first.toString('utf8') : ''));
    // The client went away mid-body: its fault, nobody to answer, nothing to log as ours.
    const aborted = () => reject(new GatewayError('bad_request', 'the request was aborted before its body arrived'));
    req.on('error', aborted);
    req.on('close', () => {
      if (!req.complete) aborted();
    });
  });
}

function tooLarge(): GatewayError {
  return new GatewayError('payload_too_large', 'request entity too large');
}

const FIRST_CHAR = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/;

/** As express.json({strict: true}) reads a body, with the same error messages: an object or array, or nothing at all. */
function parseJson(raw: string): unknown {
  // A byte order mark is not JSON, but body-parser (iconv) drops it, so callers may send one.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.length === 0) return {};
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw new GatewayError('invalid_json', `the request body is not valid JSON: ${strictViolation(text, first)}`);
  // Before JSON.parse, whose time grows faster than the depth (express's parser checks the same).
  checkJsonShape(text);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GatewayError('invalid_json', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** body-parser's wording for a body that is JSON but not an object: JSON.parse's own message about its first character. */
function strictViolation(text: string, first: string | undefined): string {
  if (first === undefined) return 'Unexpected end of JSON input';
  const at = text.indexOf(first);
  const partial = text.slice(0, at) + '#'.repeat(text.length - at);
  try {
    JSON.parse(partial);
    return 'strict violation';
  } catch (e) {
    return (e as Error).message.replace(/#+/g, (p) => text.slice(at, at + p.length));
  }
}
