/**
 * Sends one rendered request and reports what came back, without judging it: status,
 * headers, parsed body, duration; or the network error when no response arrived.
 */
import type { RenderedRequest } from './request';
import { NetworkError, type HttpClient } from './client';
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

export async function send(client: HttpClient, req: RenderedRequest, headers: Record<string, string>): Promise<CrmResponse> {
  const started = performance.now();
  try {
    const { body, contentType } = await encodeBody(req);
    const res = await client.request({ method: req.method, url: req.url, headers: contentType ? { ...headers, 'Content-Type': contentType } : headers, body });
    return {
      status: res.status,
      headers: res.headers,
      body: parseBody(res.body.toString('utf8'), res.headers['content-type']),
      durationMs: performance.now() - started,
    };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    // Refused by the SSRF guard: a configuration matter, not a CRM failure worth retrying.
    if (err.code === 'ESSRF') throw destinationBlocked(err.message ?? 'destination blocked');
    if (!(e instanceof NetworkError)) throw e;
    return { headers: {}, body: undefined, durationMs: performance.now() - started, networkError: err.code, networkMessage: err.message };
  }
}

/** The wire form of a rendered body; multipart gets its boundary from the platform's FormData encoder. */
async function encodeBody(req: RenderedRequest): Promise<{ body?: string | Buffer; contentType?: string }> {
  switch (req.body.kind) {
    case 'none':
      return {};
    case 'json':
      return { body: JSON.stringify(req.body.value) };
    case 'binary':
      return { body: req.body.value };
    case 'multipart': {
      const encoded = new Response(req.body.value);
      return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type') ?? undefined };
    }
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
