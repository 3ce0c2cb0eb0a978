import { STATUS_CODES } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { isRecord } from './body';

export interface FaultSpec {
  /** HTTP method to match (case-insensitive); absent or "*" = any. */
  method?: string;
  /**
   * Path to match (query string excluded): a prefix such as "/api/v2/tickets", or a regular
   * expression written "/…/flags". A slash-enclosed string counts as a regex only if its inner
   * part contains a regex metacharacter (^$*+?()[]{}|\), so a prefix like "/api/v2/" stays a
   * prefix. In-process callers can pass a RegExp directly.
   */
  path?: string | RegExp;
  /** Respond with this status instead of serving the request. */
  status?: number;
  /** Response body: objects are sent as JSON, strings as-is, null = empty. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long first; without status/drop the request is then served normally. */
  delayMs?: number;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** How many requests this fault fires for; default 1; 0 = forever. */
  times?: number;
  /** Fire forever (same as times: 0). */
  always?: boolean;
  /** Destroy the socket without answering (after delayMs, if given). */
  drop?: boolean;
  /**
   * Serve the request as a CRM that does not support the search filter it was sent: its
   * search routes (Zendesk search, HubSpot object search, Zoho search, Salesforce query)
   * return every object, in storage order and without the sort field (they read
   * `res.locals.ignoreFilter`). Other routes are served normally.
   */
  ignoreFilter?: boolean;
  /**
   * Accept the request and never answer: the connection stays open for delayMs (default
   * 60 s), then is destroyed. A black hole: the client can only time out.
   */
  swallow?: boolean;
  /**
   * With drop or swallow: the CRM does the work first (the write is committed) and only the
   * answer is lost. Without it, a dropped or swallowed request changes nothing.
   */
  commit?: boolean;
  /**
   * After this fault fires, refuse new connections for this long (the listening socket is
   * closed, so clients get ECONNREFUSED; an in-process app without a listener resets them).
   * With commit + drop: "commit, reset the connection, then refuse".
   */
  refuseMs?: number;
}

export interface Fault {
  id: string;
  spec: FaultSpec;
  /** null = unlimited. */
  remaining: number | null;
  fired: number;
}

export class FaultSpecError extends Error {}

const SPEC_KEYS = new Set([
  'method',
  'path',
  'status',
  'body',
  'headers',
  'delayMs',
  'retryAfter',
  'times',
  'always',
  'drop',
  'ignoreFilter',
  'swallow',
  'commit',
  'refuseMs',
]);

/** How long a swallowed request is held when the fault gives no delayMs. */
const DEFAULT_SWALLOW_MS = 60_000;

function isNonNegativeNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function compilePath(path: string | RegExp | undefined): (p: string) => boolean {
  if (path === undefined || path === '') return () => true;
  if (path instanceof RegExp) return (p) => path.test(p);
  const m = /^\/(.+)\/([dgimsuy]*)$/.exec(path);
  if (m && /[\^$*+?()[\]{}|\\]/.test(m[1])) {
    let re: RegExp;
    try {
      re = new RegExp(m[1], m[2].replace('g', ''));
    } catch (err) {
      throw new FaultSpecError(`invalid path regex ${path}: ${(err as Error).message}`);
    }
    return (p) => re.test(p);
  }
  return (p) => p.startsWith(path);
}

/** Checks a spec coming from JSON (the control API); throws FaultSpecError. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (!isRecord(input)) throw new FaultSpecError('fault must be a JSON object');
  const unknown = Object.keys(input).filter((k) => !SPEC_KEYS.has(k));
  if (unknown.length) throw new FaultSpecError(`unknown fault field(s): ${unknown.join(', ')}`);
  const spec: FaultSpec = {};
  if (input.method !== undefined) {
    if (typeof input.method !== 'string') throw new FaultSpecError('method must be a string');
    spec.method = input.method;
  }
  if (input.path !== undefined) {
    if (typeof input.path !== 'string') throw new FaultSpecError('path must be a string');
    compilePath(input.path); // surface a bad regex as a 400, not later
    spec.path = input.path;
  }
  if (input.status !== undefined) {
    if (typeof input.status !== 'number' || !Number.isInteger(input.status) || input.status < 100 || input.status > 599) {
      throw new FaultSpecError('status must be an integer 100-599');
    }
    spec.status = input.status;
  }
  if (input.body !== undefined) spec.body = input.body;
  if (input.headers !== undefined) {
    if (!isRecord(input.headers) || !Object.values(input.headers).every((v) => typeof v === 'string')) {
      throw new FaultSpecError('headers must be an object of strings');
    }
    spec.headers = input.headers as Record<string, string>;
  }
  for (const key of ['delayMs', 'retryAfter', 'times', 'refuseMs'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (!isNonNegativeNumber(v)) throw new FaultSpecError(`${key} must be a non-negative number`);
    spec[key] = v;
  }
  for (const key of ['always', 'drop', 'ignoreFilter', 'swallow', 'commit'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new FaultSpecError(`${key} must be a boolean`);
    spec[key] = v;
  }
  checkCombination(spec);
  return spec;
}

function checkCombination(spec: FaultSpec): void {
  if (spec.commit && !spec.drop && !spec.swallow) throw new FaultSpecError('commit applies to drop or swallow (the answer is what gets lost)');
  if (spec.swallow && (spec.drop || spec.status !== undefined)) throw new FaultSpecError('swallow never answers: it cannot be combined with drop or status');
  if (spec.commit && spec.status !== undefined) throw new FaultSpecError('commit loses the answer: it cannot be combined with status');
}

interface ArmedFault extends Fault {
  matchesPath: (p: string) => boolean;
}

export class FaultRegistry {
  private armed: ArmedFault[] = [];
  private seq = 0;
  /** Until when new connections are refused (refuseMs), ms since epoch. */
  private refusingUntil = 0;
  /**
   * Set by the listener (startSampleCrm): stop accepting connections for `ms`. Without it
   * (an in-process app) requests that arrive in the window are reset instead.
   */
  refuseConnections?: (ms: number) => void;

  add(spec: FaultSpec): Fault {
    checkCombination(spec);
    const fault: ArmedFault = {
      id: `fault-${++this.seq}`,
      spec: { ...spec },
      remaining: spec.always || spec.times === 0 ? null : Math.max(1, Math.floor(spec.times ?? 1)),
      fired: 0,
      matchesPath: compilePath(spec.path),
    };
    this.armed.push(fault);
    return this.publicView(fault);
  }

  remove(id: string): boolean {
    const before = this.armed.length;
    this.armed = this.armed.filter((f) => f.id !== id);
    return this.armed.length !== before;
  }

  clear(): void {
    this.armed = [];
    if (this.refusingUntil > Date.now()) this.refuseConnections?.(0);
    this.refusingUntil = 0;
  }

  list(): Fault[] {
    return this.armed.map((f) => this.publicView(f));
  }

  /** First armed fault matching the request, in insertion order; consumes one firing. */
  take(method: string, path: string): Fault | undefined {
    const fault = this.armed.find(
      (f) => (!f.spec.method || f.spec.method === '*' || f.spec.method.toUpperCase() === method.toUpperCase()) && f.matchesPath(path),
    );
    if (!fault) return undefined;
    fault.fired++;
    if (fault.remaining !== null) {
      fault.remaining--;
      if (fault.remaining <= 0) this.armed = this.armed.filter((f) => f !== fault);
    }
    return this.publicView(fault);
  }

  middleware(onFire?: (req: Request, fault: Fault) => void): RequestHandler {
    return (req, res, next) => {
      if (Date.now() < this.refusingUntil) {
        req.socket.destroy();
        return;
      }
      const fault = this.take(req.method, req.path);
      if (!fault) return next();
      onFire?.(req, fault);
      const { spec } = fault;
      const refuse = (): void => {
        if (!spec.refuseMs) return;
        this.refusingUntil = Date.now() + spec.refuseMs;
        this.refuseConnections?.(spec.refuseMs);
      };
      if (spec.swallow) {
        const hold = spec.delayMs ?? DEFAULT_SWALLOW_MS;
        setTimeout(() => req.socket.destroy(), hold).unref();
        if (spec.commit) withholdAnswer(res, () => undefined);
        if (spec.commit) next();
        refuse();
        return;
      }
      const act = (): void => {
        if (spec.drop && spec.commit) {
          // Serve it (the write happens), then lose the answer with the connection.
          withholdAnswer(res, () => {
            req.socket.destroy();
            refuse();
          });
          next();
          return;
        }
        if (spec.drop) {
          req.socket.destroy();
          refuse();
          return;
        }
        if (spec.headers) res.set(spec.headers);
        if (spec.retryAfter !== undefined) res.set('Retry-After', String(spec.retryAfter));
        if (spec.ignoreFilter) res.locals.ignoreFilter = true;
        if (spec.status === undefined) {
          next();
          return;
        }
        res.status(spec.status);
        if (spec.status === 204 || spec.status === 304 || spec.body === null) {
          res.end();
        } else if (spec.body === undefined) {
          res.json({ error: STATUS_CODES[spec.status] ?? 'Error', description: 'Injected fault' });
        } else if (typeof spec.body === 'string') {
          if (!res.get('Content-Type')) res.type('text/plain');
          res.send(spec.body);
        } else {
          res.json(spec.body);
        }
      };
      if (spec.delayMs && spec.delayMs > 0) {
        const timer = setTimeout(act, spec.delayMs);
        // A slow CRM still acts on a request whose client gave up (that is what makes a
        // timeout ambiguous), so a delay-only fault serves it anyway; an injected answer for a
        // client that is gone is simply dropped.
        if (spec.status !== undefined || spec.drop) res.on('close', () => clearTimeout(timer));
      } else {
        act();
      }
    };
  }

  private publicView(f: ArmedFault): Fault {
    return { id: f.id, spec: f.spec, remaining: f.remaining, fired: f.fired };
  }
}

/** The handler runs to completion, but nothing it answers reaches the client; `then` runs instead. */
function withholdAnswer(res: Response, then: () => void): void {
  let done = false;
  res.writeHead = (() => res) as unknown as Response['writeHead'];
  res.write = (() => true) as Response['write'];
  res.end = ((): Response => {
    if (!done) {
      done = true;
      then();
    }
    return res;
  }) as Response['end'];
}
