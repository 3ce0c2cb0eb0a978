/**
 * One error shape everywhere: RFC 9457 problem+json. Unknown errors become a generic 500
 * (details go to the log, never to the client); every string is passed through the
 * secrets redactor on the way out.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError, MethodNotAllowedError, isGatewayError, type ProblemDetails } from '../errors';
import type { Logger } from '../util/logger';
import type { Redaction } from '../util/redact';
import { isStoreUnavailable, storeErrorFields } from '../delivery/store-startup';

export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Any error as the problem+json answer the client gets (the express handler and the fast lane share it). */
export function problemFor(err: unknown, path: string, logger: Logger, requestId: string | undefined, redactor: Redaction): ProblemResponse {
  let ge = toGatewayError(err);
  if (ge.code === 'internal' && isStoreUnavailable(err)) {
    // A database that is away (PostgreSQL down or restarting) is a 503 to retry, logged in one line.
    logger.warn({ ...storeErrorFields(err), request_id: requestId }, 'request failed: the delivery store is unreachable');
    ge = new GatewayError('store_unavailable', 'the delivery store is unreachable; nothing was changed, try again shortly');
  }
  if (ge.status >= 500 && ge.code === 'internal') logger.error({ err, request_id: requestId }, 'unhandled error');
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json; charset=utf-8' };
  if ((ge.code === 'crm_retry_later' || ge.code === 'rate_limited') && typeof ge.extensions.retry_after_ms === 'number') {
    headers['Retry-After'] = String(Math.ceil(ge.extensions.retry_after_ms / 1000));
  }
  if (ge.code === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="crm-gateway"';
  if (ge instanceof MethodNotAllowedError) headers.Allow = ge.allow.join(', ');
  return { status: ge.status, headers, body: JSON.stringify(redactor.redactDeep(bounded(ge.toProblem(path)))) };
}

/** The most field errors an answer lists, and the longest detail or error text it repeats. */
export const MAX_PROBLEM_ERRORS = 20;
const MAX_DETAIL = 2000;
const MAX_ERROR_TEXT = 500;

/**
 * A problem's size does not grow with the request: at most MAX_PROBLEM_ERRORS field errors
 * ("and N more" in the detail), and long texts cut (a request may name a megabyte-long field).
 */
function bounded(p: ProblemDetails): ProblemDetails {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);
  const errors = Array.isArray(p.errors) ? (p.errors as unknown[]) : undefined;
  const more = errors && errors.length > MAX_PROBLEM_ERRORS ? errors.length - MAX_PROBLEM_ERRORS : 0;
  const out: ProblemDetails = { ...p, detail: cut(p.detail, MAX_DETAIL) + (more ? ` (and ${more} more)` : '') };
  if (errors) {
    // Field errors ({field, message}) or configuration issues (one line each).
    const short = (v: unknown) => (typeof v === 'string' ? cut(v, MAX_ERROR_TEXT) : v);
    out.errors = errors
      .slice(0, MAX_PROBLEM_ERRORS)
      .map((e) => (e && typeof e === 'object' && !Array.isArray(e) ? Object.fromEntries(Object.entries(e).map(([k, v]) => [k, short(v)])) : short(e)));
  }
  if (typeof out.instance === 'string') out.instance = cut(out.instance, MAX_DETAIL);
  return out;
}

export function problemHandler(logger: Logger, redactor: Redaction): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const p = problemFor(err, req.originalUrl.split('?')[0], logger, res.locals.requestId, redactor);
    res.status(p.status).set(p.headers).send(p.body);
  };
}

function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; code?: string; field?: string };
  // body-parser and multer errors carry a status or a code of their own.
  if (e?.type === 'entity.parse.failed') return new GatewayError('invalid_json', `the request body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large' || e?.code === 'LIMIT_FILE_SIZE') return new GatewayError('payload_too_large', e.message ?? 'payload too large');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported' || e?.status === 415)
    return new GatewayError('unsupported_media_type', e.message ?? 'unsupported media type');
  if (typeof e?.code === 'string' && e.code.startsWith('LIMIT_'))
    return new GatewayError('bad_request', `multipart: ${e.message}${e.field ? ` (field ${e.field})` : ''}`, { field: e.field });
  const status = e?.status ?? e?.statusCode;
  if (status && status >= 400 && status < 500) return new GatewayError('bad_request', e.message ?? 'bad request');
  return new GatewayError('internal', 'an internal error occurred; see the gateway log', {}, { cause: err });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new GatewayError('not_found', `no route for ${req.method} ${req.path}`));
};
