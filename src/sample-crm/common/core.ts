import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import {
  authMiddleware,
  OAuthServer,
  resolveAuthOptions,
  type AuthFailureResponse,
  type OAuthPaths,
  type OAuthState,
  type OAuthTokenResponseShaper,
  type SampleCrmAuthOptions,
} from './auth';
import { bodyOf, bodyReader, DEFAULT_BODY_LIMIT_BYTES, isRecord, type BodyProblem } from './body';
import { sha256Hex, type Clock } from './clock';
import { controlRouter, type ControlTarget } from './control';
import { FaultRegistry, type Fault, type FaultSpec } from './faults';
import { RequestLog, type LoggedRequest } from './request-log';
import { RateLimitEnforcer, rateLimitControl, type RateLimitStats, type SampleRateLimit } from './rate-limit';

export interface FlavorContext {
  clock: Clock;
  /** The shared OAuth server, e.g. to read or extend the tokens it issued. */
  oauth: OAuthServer;
}

/** Error bodies differ per CRM; the shared plumbing asks the flavour for them. */
export interface FlavorErrors {
  authFailure: AuthFailureResponse;
  /** Unknown route. */
  notFound: { status: number; body: unknown };
  badBody(problem: BodyProblem, message: string): { status: number; body: unknown };
  internal: { status: number; body: unknown };
}

export interface FlavorInstance<S extends object, H extends object> {
  /** Mutable in-memory data. reset() must clear it in place (tests may hold the reference). */
  state: S;
  reset(): void;
  /** The CRM's API routes; auth has already run for protectedPrefixes. */
  router: Router;
  /** Extra methods merged onto the SampleCrm object, e.g. seedUser. */
  helpers: H;
}

/** Everything a new CRM flavour has to provide. */
export interface FlavorDefinition<S extends object, H extends object> {
  name: string;
  /** Mount paths that require credentials, e.g. ["/api/v2"]. */
  protectedPrefixes: string[];
  oauthPaths: OAuthPaths;
  /** Optional: the CRM's own token endpoint answer shape (default: RFC 6749's). */
  oauthTokenResponse?: (...args: [...Parameters<OAuthTokenResponseShaper>, ctx: FlavorContext]) => ReturnType<OAuthTokenResponseShaper>;
  /**
   * Optional: the credentials used when the caller gives no `auth` option (a fresh copy per
   * call). Default: DEFAULT_SAMPLE_CRM_AUTH (Zendesk-style basic, X-Api-Key, OAuth client).
   */
  defaultAuth?: () => SampleCrmAuthOptions;
  errors: FlavorErrors;
  create(ctx: FlavorContext): FlavorInstance<S, H>;
}

export interface CoreOptions {
  auth?: SampleCrmAuthOptions;
  clock?: Clock;
  bodyLimitBytes?: number;
  /** An enforced API rate limit (429 + Retry-After over it); default none. */
  limit?: SampleRateLimit;
}

export type CoreState<S extends object> = S & { tokens: OAuthState };

/** The flavour-independent part of a sample CRM. */
export interface SampleCrmCore<S extends object> extends ControlTarget {
  readonly flavor: string;
  readonly app: Express;
  readonly state: CoreState<S>;
  /** The request log; cleared in place. Control routes are not logged. */
  readonly requests: LoggedRequest[];
  readonly authOptions: SampleCrmAuthOptions;
  readonly oauth: OAuthServer;
  readonly oauthPaths: OAuthPaths;
  readonly clock: Clock;
  /** Empties data, tokens, the request log and faults; keeps the auth configuration. */
  reset(): void;
  /** Enforce (or, undefined, lift) an API rate limit; its counts start again. */
  setLimit(limit: SampleRateLimit | undefined): void;
  /** What arrived per second under the limit, admitted and answered 429. */
  limitStats(): RateLimitStats;
  /** Called by the listener: how a refuseMs fault stops accepting connections. */
  setConnectionRefuser(refuse: (ms: number) => void): void;
}

/** JSON-safe copy of the state: Buffers become {size, sha256} (bytes are not useful over HTTP). */
export function toSerializable(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { size: value.length, sha256: sha256Hex(value) };
  if (Array.isArray(value)) return value.map(toSerializable);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toSerializable(v);
    return out;
  }
  return value;
}

export function buildSampleCrm<S extends object, H extends object>(def: FlavorDefinition<S, H>, opts: CoreOptions = {}): SampleCrmCore<S> & H {
  const clock = opts.clock ?? Date.now;
  const authOptions = resolveAuthOptions(opts.auth ?? def.defaultAuth?.());
  const oauth = new OAuthServer(authOptions.oauth, clock);
  const faults = new FaultRegistry();
  const log = new RequestLog(clock);
  const limiter = new RateLimitEnforcer(clock, def.name === 'zendesk' || def.name === 'hubspot' ? def.name : 'none');
  if (opts.limit) limiter.set(opts.limit);
  const ctx: FlavorContext = { clock, oauth };
  const instance = def.create(ctx);
  const state = Object.assign(instance.state, { tokens: oauth.state });

  const app = express();
  app.disable('x-powered-by');
  // ETags would turn repeated GETs into 304s for clients that cache; an emulator should not.
  app.set('etag', false);

  const core: SampleCrmCore<S> = {
    flavor: def.name,
    app,
    state,
    get requests() {
      return log.entries;
    },
    authOptions,
    oauth,
    oauthPaths: def.oauthPaths,
    clock,
    injectFault: (spec: FaultSpec): Fault => faults.add(spec),
    listFaults: () => faults.list(),
    removeFault: (id: string) => faults.remove(id),
    clearFaults: () => faults.clear(),
    clearRequests: () => log.clear(),
    snapshot: () => toSerializable(state),
    reset: () => {
      instance.reset();
      oauth.reset();
      log.clear();
      faults.clear();
    },
    expireAllTokens: (options) => oauth.expireAllTokens(options),
    setLimit: (limit) => limiter.set(limit),
    limitStats: () => limiter.stats(),
    setConnectionRefuser: (refuse) => {
      faults.refuseConnections = refuse;
    },
  };

  const rejectInvalidBody: RequestHandler = (req, res, next) => {
    const body = bodyOf(req);
    if (body.kind !== 'invalid') return next();
    const { status, body: payload } = def.errors.badBody(body.problem, body.message);
    res.status(status).json(payload);
  };

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = isRecord(err) && typeof err.status === 'number' && err.status >= 400 ? err.status : undefined;
    if (status !== undefined && status < 500) {
      res.status(status).json(def.errors.badBody('unreadable', err instanceof Error ? err.message : String(err)).body);
      return;
    }
    res.status(def.errors.internal.status).json(def.errors.internal.body);
  };

  app.use('/__control/limit', rateLimitControl(limiter));
  app.use('/__control', controlRouter(core));
  app.use(bodyReader(opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES));
  app.use(log.middleware());
  app.use(
    faults.middleware((req, fault) => {
      const entry = log.entryFor(req);
      if (entry) entry.faultId = fault.id;
    }),
  );
  for (const prefix of def.protectedPrefixes) {
    app.use(
      prefix,
      authMiddleware(authOptions, oauth, def.errors.authFailure, (req, method, subject) => {
        const entry = log.entryFor(req);
        if (entry) entry.auth = { method, subject };
      }),
    );
    // Real CRMs count authenticated API calls (token requests are not under this limit).
    app.use(prefix, limiter.middleware());
  }
  app.use(rejectInvalidBody);
  const shapeToken = def.oauthTokenResponse;
  app.use(oauth.router(def.oauthPaths, shapeToken && ((answer, req) => shapeToken(answer, req, ctx))));
  app.use(instance.router);
  app.use((_req, res) => {
    res.status(def.errors.notFound.status).json(def.errors.notFound.body);
  });
  app.use(onError);

  return Object.assign(core, instance.helpers);
}
