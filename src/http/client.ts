/**
 * One axios instance per connector: keep-alive agents (a CRM call should not pay a TCP and
 * TLS handshake each time), the connector's timeout, no status-based throwing (classify
 * decides), and raw text bodies (we parse JSON ourselves so a non-JSON error page is kept).
 *
 * axios-retry is used only for what it is good at: an immediate retry of a connection-level
 * failure (stale keep-alive socket, ECONNRESET) of a GET, which is safe to repeat. Everything
 * else is classified and, for writes, left to the durable retry schedule.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import axiosRetry, { isNetworkError } from 'axios-retry';
import type { SsrfGuard } from './ssrf';

export interface HttpClientOptions {
  timeoutMs: number;
  maxResponseBytes?: number;
  /** SSRF guard; every connection and redirect is checked against it. */
  guard?: SsrfGuard;
}

export interface HttpClient {
  client: AxiosInstance;
  /** Guarded agents for the OAuth token requests (their own: wreck mishandles shared keep-alive agents). */
  agents: { http: http.Agent; https: https.Agent };
}

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const lookup = opts.guard?.lookup;
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000, ...(lookup ? { lookup } : {}) }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000, ...(lookup ? { lookup } : {}) }),
  };
  const client = axios.create({
    timeout: opts.timeoutMs,
    httpAgent: agents.http,
    httpsAgent: agents.https,
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    // CRM APIs answer, they do not redirect; following redirects would also route around the
    // SSRF guard's intent and costs a layer (follow-redirects) on every call. A 3xx is a failure.
    maxRedirects: 0,
    maxContentLength: opts.maxResponseBytes ?? 10 * 1024 * 1024,
    maxBodyLength: Infinity,
    // Never let axios pick up HTTP(S)_PROXY: CRM traffic goes where the connector says.
    proxy: false,
  });
  // IP literals skip DNS: check them before the request.
  if (opts.guard) client.interceptors.request.use((config) => { opts.guard!.checkUrl(config.url!); return config; });
  axiosRetry(client, {
    retries: 1,
    retryDelay: () => 50,
    shouldResetTimeout: true,
    retryCondition: (err) => isNetworkError(err) && (err.config?.method ?? '').toLowerCase() === 'get',
  });
  const tokenAgents = { http: new http.Agent(lookup ? { lookup } : {}), https: new https.Agent(lookup ? { lookup } : {}) };
  return { client, agents: tokenAgents };
}
