/**
 * One HTTP client per connector, on undici (the client Node's own fetch is built on): a
 * keep-alive connection pool per CRM origin, the connector's timeout as one deadline for the
 * whole exchange, a cap on the response size, no redirects, no proxy from the environment.
 *
 * Why not axios (the design card's client): on the gateway's hot path axios cost about 0.3 ms
 * of CPU per CRM call (config merging, interceptors, transforms, and node:http's agent
 * re-arming TCP keep-alive on every reuse), undici about 0.14 ms on the same sample CRM
 * (README, Performance); with two cores shared by the gateway and the CRM,
 * that difference is most of the gateway's overhead. Everything that judges an answer stays in
 * classify(); this module only moves bytes and reports network failures by a stable code.
 *
 * Connection-level failures of a GET (a keep-alive socket the CRM closed just as we reused it)
 * are retried once at once: a GET is safe to repeat, and that race is not the CRM's answer.
 * Writes never are; they go through classify and the durable retry schedule.
 */
import { EventEmitter } from 'node:events';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { portOf, type SsrfGuard } from './ssrf';
import { tracingOn, withClientSpan } from '../util/tracing';

export interface HttpClientOptions {
  timeoutMs: number;
  maxResponseBytes?: number;
  /** SSRF guard: every connection is checked after DNS, IP literals before the request. */
  guard?: SsrfGuard;
  /** Keep-alive connections per CRM origin. */
  connections?: number;
}

export interface HttpExchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the connector's timeout (file downloads take longer than API calls). */
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** No answer arrived: `code` is the stable name the classifier and the attempt history use. */
export class NetworkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** A reused socket that died under us; repeating a GET is safe. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class HttpClient {
  private readonly agent: Agent;

  constructor(private readonly opts: HttpClientOptions) {
    this.agent = new Agent({
      connections: opts.connections ?? 256,
      // CRM APIs close idle connections after 5-60 s; reuse within 10 s, then reconnect.
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      maxResponseSize: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      connect: opts.guard ? guardedConnector(opts.guard, opts.timeoutMs) : { timeout: opts.timeoutMs },
      // Our own deadline (below) covers the whole exchange; these only must not fire first.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async request(x: HttpExchange): Promise<HttpAnswer> {
    if (tracingOn()) return withClientSpan(x.method, new URL(x.url), x.headers, (headers) => this.guardedRequest({ ...x, headers }));
    return this.guardedRequest(x);
  }

  private async guardedRequest(x: HttpExchange): Promise<HttpAnswer> {
    const target = wireTarget(x.url, x.headers);
    // IP literals do not go through DNS, so the guard's lookup never sees them (names are
    // checked on connecting, by guardedConnector).
    this.opts.guard?.checkHost(target.hostname);
    this.opts.guard?.checkSelf(target.hostname, target.port);
    try {
      return await this.once(x, target);
    } catch (e) {
      if (x.method === 'GET' && e instanceof NetworkError && STALE_SOCKET.has(e.code)) return this.once(x, target);
      throw e;
    }
  }

  private async once(x: HttpExchange, target: WireTarget): Promise<HttpAnswer> {
    const timeoutMs = x.timeoutMs ?? this.opts.timeoutMs;
    const abort = new Deadline();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await this.agent.request({
        origin: target.origin,
        path: target.path,
        method: x.method as Dispatcher.HttpMethod,
        headers: target.headers,
        body: x.body,
        signal: abort,
        maxRedirections: 0,
      } as Dispatcher.RequestOptions);
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: flatten(res.headers), body };
    } catch (e) {
      throw asNetworkError(e, abort.aborted, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets requests in flight finish, then closes the pool (a reloaded connector's old client). */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * The exchange's deadline as undici's `signal` (it takes an EventEmitter with `aborted` as well
 * as an AbortSignal): an AbortController per CRM call was a measurable share of the gateway's CPU.
 */
class Deadline extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/**
 * Connections through the guard's DNS check. On a port the gateway itself listens on, the check
 * also knows the port, so a name that resolves to the gateway is refused when connecting (not
 * only by an earlier lookup a changing DNS answer could get past).
 */
function guardedConnector(guard: SsrfGuard, timeout: number): buildConnector.connector {
  const plain = buildConnector({ timeout, lookup: guard.lookup });
  const onListenPort = new Map<number, buildConnector.connector>();
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    if (!guard.listensOn(port)) return plain(options, callback);
    let connector = onListenPort.get(port);
    if (!connector) onListenPort.set(port, (connector = buildConnector({ timeout, lookup: guard.lookupFor(port) })));
    return connector(options, callback);
  };
}

/** Connection-level headers are the client's business; undici refuses most of them outright. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection', 'content-length']);

/**
 * Where and what goes on the wire: the URL as WHATWG URL normalises it (percent-encoded path,
 * no fragment), credentials in the URL as Basic auth (as browsers and axios do), and no
 * hop-by-hop headers. Render-built CRM URLs are already normal; file download URLs come from
 * the platform as given.
 */
interface WireTarget {
  origin: string;
  hostname: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

function wireTarget(url: string, headers: Record<string, string>): WireTarget {
  const u = new URL(url);
  const out: Record<string, string> = {};
  for (const k in headers) if (!HOP_BY_HOP.has(k.toLowerCase())) out[k] = headers[k];
  if ((u.username || u.password) && !Object.keys(out).some((k) => k.toLowerCase() === 'authorization')) {
    out.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }
  return { origin: u.origin, hostname: u.hostname, port: portOf(u), path: `${u.pathname}${u.search}`, headers: out };
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const k in headers) {
    const v = headers[k];
    flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return flat;
}

/**
 * undici's failures as the codes the rest of the gateway (and the attempt history) has always
 * used: ECONNABORTED for our deadline, the socket's own code (ECONNREFUSED, ECONNRESET, …)
 * where there is one, ESSRF for the guard.
 */
function asNetworkError(e: unknown, timedOut: boolean, timeoutMs: number): Error {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.code === 'ESSRF' || err?.cause?.code === 'ESSRF')
    return Object.assign(new Error(err.code === 'ESSRF' ? err.message : err.cause!.message), { code: 'ESSRF' });
  if (timedOut) return new NetworkError('ECONNABORTED', `timeout of ${timeoutMs} ms exceeded`);
  switch (err?.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new NetworkError('ETIMEDOUT', `connect timeout after ${timeoutMs} ms`);
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return new NetworkError('ERR_RESPONSE_TOO_LARGE', 'the response is larger than the limit');
    case 'UND_ERR_SOCKET':
      return new NetworkError(err.cause?.code ?? 'ECONNRESET', err.cause?.message ?? err.message ?? 'socket closed');
    case undefined:
      return new NetworkError('ERR_NETWORK', err?.message ?? String(e));
    default:
      return new NetworkError(err.code, err.message ?? err.code);
  }
}
