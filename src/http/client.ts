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

export interface HttpClientOptions {
  timeoutMs: number;
  maxResponseBytes?: number;
}

export function createHttpClient(opts: HttpClientOptions): AxiosInstance {
  const client = axios.create({
    timeout: opts.timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    maxRedirects: 5,
    maxContentLength: opts.maxResponseBytes ?? 10 * 1024 * 1024,
    maxBodyLength: Infinity,
    // Never let axios pick up HTTP(S)_PROXY: CRM traffic goes where the connector says.
    proxy: false,
  });
  axiosRetry(client, {
    retries: 1,
    retryDelay: () => 50,
    shouldResetTimeout: true,
    retryCondition: (err) => isNetworkError(err) && (err.config?.method ?? '').toLowerCase() === 'get',
  });
  return client;
}
