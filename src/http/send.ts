/**
 * Sends one rendered request and reports what came back, without judging it: status,
 * headers, parsed body, duration; or the network error when no response arrived.
 */
import type { AxiosInstance } from 'axios';
import type { RenderedRequest } from '../operations/request';
import { destinationBlocked } from './ssrf';

export interface CrmResponse {
  status?: number;
  headers: Record<string, string | undefined>;
  /** Parsed JSON when the body is JSON, the text otherwise, undefined when empty. */
  body: unknown;
  durationMs: number;
  networkError?: string;
  networkMessage?: string;
}

export async function send(client: AxiosInstance, req: RenderedRequest, headers: Record<string, string>): Promise<CrmResponse> {
  const started = performance.now();
  try {
    const res = await client.request({
      method: req.method,
      url: req.url,
      headers,
      data: req.body.kind === 'none' ? undefined : req.body.kind === 'json' ? JSON.stringify(req.body.value) : req.body.value,
    });
    const flat: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v == null ? undefined : String(v);
    return { status: res.status, headers: flat, body: parseBody(res.data as string, flat['content-type']), durationMs: performance.now() - started };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    // Refused by the SSRF guard: a configuration matter, not a CRM failure worth retrying.
    if (err.code === 'ESSRF') throw destinationBlocked(err.message ?? 'destination blocked');
    return { headers: {}, body: undefined, durationMs: performance.now() - started, networkError: err.code ?? 'ERR_NETWORK', networkMessage: err.message };
  }
}

export function parseBody(text: string | undefined, contentType: string | undefined): unknown {
  if (text === undefined || text === null || text === '') return undefined;
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[[{]/.test(text);
  if (!looksJson) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
