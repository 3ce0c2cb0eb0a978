import type { Request, RequestHandler } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { summarizeBody } from './body';
import type { Clock } from './clock';

export type AuthMethod = 'basic' | 'api_key' | 'bearer';

export interface LoggedRequest {
  /** 1-based arrival order since the last clear. */
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON / form body, or a summary ({file:{name,size,mimetype,sha256}}) for bytes. */
  body: unknown;
  /** Injected clock (ms) once the body has been read. */
  time: number;
  /** Filled when the response finishes (absent for dropped connections). */
  status?: number;
  /** Id of the injected fault that handled or delayed this request, if any. */
  faultId?: string;
  /** How the request authenticated, if it did. */
  auth?: { method: AuthMethod; subject: string };
}

function plainQuery(req: Request): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String);
  }
  return out;
}

export class RequestLog {
  /** Cleared in place so a reference held by a test stays current. */
  readonly entries: LoggedRequest[] = [];
  private seq = 0;
  private readonly byRequest = new WeakMap<Request, LoggedRequest>();

  constructor(private readonly clock: Clock) {}

  clear(): void {
    this.entries.length = 0;
    this.seq = 0;
  }

  entryFor(req: Request): LoggedRequest | undefined {
    return this.byRequest.get(req);
  }

  /** Must run after the body reader so the logged body is the parsed one. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const entry: LoggedRequest = {
        seq: ++this.seq,
        method: req.method,
        path: req.path,
        query: plainQuery(req),
        headers: { ...req.headers },
        body: summarizeBody(req),
        time: this.clock(),
      };
      this.entries.push(entry);
      this.byRequest.set(req, entry);
      res.on('finish', () => {
        entry.status = res.statusCode;
      });
      next();
    };
  }
}
