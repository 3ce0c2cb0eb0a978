/**
 * One access log line (pino-http) and one HTTP metric observation per request, for the fast lane
 * and the express app alike: the wrapper sits in front of both. The route label is the route
 * table's pattern (`/v1/connectors/:id/operations/:operation`), never the raw path, so metrics
 * stay bounded whatever an attacker sends; the logged path has no query string (queries may
 * carry phone numbers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Gateway } from '../gateway';

/** `route`: the route table's pattern the request matched (undefined: none), matched once by the caller. */
export type Observer = (req: IncomingMessage, res: ServerResponse, route: string | undefined) => void;

export function requestObserver(gw: Gateway, opts: { accessLog: boolean }): Observer {
  const log = opts.accessLog
    ? pinoHttp({
        logger: gw.logger,
        // The gateway's own request id (X-Request-Id, set by the lane or the app) is the one logged, as request_id.
        genReqId: () => undefined as unknown as string,
        quietReqLogger: true,
        customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
        serializers: {
          req: (r: { method?: string; url?: string }) => ({ method: r.method, path: (r.url ?? '').split('?')[0] }),
          res: (r: { statusCode?: number }) => ({ status: r.statusCode }),
        },
        customSuccessMessage: (req, res) => `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode}`,
        customErrorMessage: (req, res) => `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode}`,
        customSuccessObject: (_req, res, val: Record<string, unknown>) => ({ ...val, request_id: res.getHeader('x-request-id') }),
        // A 5xx is described by the problem the handler logged; pino-http's synthetic error adds only a stack.
        customErrorObject: (_req, res, _err, val: Record<string, unknown>) => ({
          req: val.req,
          res: val.res,
          responseTime: val.responseTime,
          request_id: res.getHeader('x-request-id'),
        }),
      })
    : undefined;
  const logger = gw.logger;
  return (req, res, route) => {
    // pino-http makes a child logger and listeners per request; when the logger drops both of its
    // lines (silent, or a level above error) that is work for nothing on every request.
    if (log && logger.isLevelEnabled('error')) log(req, res);
    const metrics = gw.metrics;
    if (!metrics) return;
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      metrics.observeHttp(req.method ?? '', route ?? 'unmatched', res.statusCode, Number(process.hrtime.bigint() - started) / 1e6);
    });
  };
}
