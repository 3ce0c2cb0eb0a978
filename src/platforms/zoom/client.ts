/**
 * The platform's API as the gateway uses it: a server-to-server OAuth token
 * (POST {token_url}?grant_type=account_credentials&account_id=…, client id and secret as
 * Basic auth), the recordings list, and file downloads with that token. Every request goes
 * through the connector's SSRF guard (its allow_private_network, never the gateway itself) and
 * a size limit; the token is cached until shortly before it expires and fetched again on a 401.
 * The token goes only to the platform's own hosts (those of api_base_url and token_url, and
 * zoom.us), whatever URL an event names.
 */
import type { Connector, ZoomWebhooks } from '../../config/types';
import { HttpClient, type HttpAnswer } from '../../http/client';
import { SsrfGuard, type ListenAddresses } from '../../http/ssrf';
import type { Redactor } from '../../util/redact';

/** Renew this long before the token expires. */
const REFRESH_AHEAD_MS = 60_000;
const API_TIMEOUT_MS = 10_000;
const DOWNLOAD_TIMEOUT_MS = 60_000;
/** Listing answers are small; a list page larger than this is not a list page. */
const MAX_LIST_BYTES = 10 * 1024 * 1024;

/** A failed platform call, with a message safe to show (no token, no query string). */
export class ZoomApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ZoomApiError';
  }
}

export interface ListedRecording extends Record<string, unknown> {
  recording_id?: string;
  engagement_id?: string;
  recording_end_time?: string;
}

export class ZoomApi {
  private readonly http: HttpClient;
  private token?: { value: string; expiresAt: number };
  private inflight?: Promise<string>;
  private readonly trustedOrigins: Set<string>;

  constructor(
    readonly connector: Connector,
    readonly cfg: ZoomWebhooks,
    private readonly deps: { listen?: ListenAddresses; redactor: Redactor; now: () => number },
  ) {
    this.http = new HttpClient({
      timeoutMs: API_TIMEOUT_MS,
      guard: new SsrfGuard(connector.network, deps.listen),
      maxResponseBytes: Math.max(cfg.maxFileBytes, MAX_LIST_BYTES),
      connections: 8,
    });
    this.trustedOrigins = new Set([new URL(cfg.apiBaseUrl).origin, new URL(cfg.tokenUrl).origin]);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** Where a URL goes, without its query string (which may carry a token or personal data). */
  static where(url: string): string {
    try {
      const u = new URL(url);
      return `${u.origin}${u.pathname}`;
    } catch {
      return '(not a URL)';
    }
  }

  private async accessToken(force = false): Promise<string> {
    if (!force && this.token && this.token.expiresAt - REFRESH_AHEAD_MS > this.deps.now()) return this.token.value;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(): Promise<string> {
    const url = `${this.cfg.tokenUrl}?grant_type=account_credentials&account_id=${encodeURIComponent(this.cfg.accountId)}`;
    const basic = Buffer.from(`${this.cfg.clientId}:${this.cfg.clientSecret}`).toString('base64');
    const res = await this.send({ method: 'GET', url }, () =>
      this.http.request({ method: 'POST', url, headers: { Authorization: `Basic ${basic}`, Accept: 'application/json' } }),
    );
    if (res.status !== 200)
      throw new ZoomApiError(
        `the platform's token endpoint ${ZoomApi.where(url)} answered ${res.status}: ${this.deps.redactor.redact(res.body.toString('utf8').slice(0, 300))}`,
        res.status,
      );
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new ZoomApiError(`the platform's token endpoint ${ZoomApi.where(url)} did not answer JSON`);
    }
    if (typeof body.access_token !== 'string' || !body.access_token)
      throw new ZoomApiError(`the platform's token endpoint ${ZoomApi.where(url)} gave no access_token`);
    this.deps.redactor.add(body.access_token);
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 3_600_000;
    this.token = { value: body.access_token, expiresAt: this.deps.now() + ttl };
    return body.access_token;
  }

  /** A GET with the bearer token; a 401 fetches a new token and tries once more. */
  async get(url: string, timeoutMs = API_TIMEOUT_MS): Promise<HttpAnswer> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ZoomApiError('the URL the platform gave is not a URL');
    }
    if (!/^https?:$/.test(u.protocol)) throw new ZoomApiError(`${ZoomApi.where(url)} is not an http(s) URL`);
    if (!this.trustedOrigins.has(u.origin) && !/(^|\.)zoom\.us$/i.test(u.hostname)) {
      throw new ZoomApiError(`${ZoomApi.where(url)} is not on the platform's hosts (api_base_url, token_url, zoom.us): the platform's token is not sent there`);
    }
    const once = async (force: boolean) => {
      const token = await this.accessToken(force);
      return this.send({ method: 'GET', url }, () => this.http.request({ method: 'GET', url, headers: { Authorization: `Bearer ${token}` }, timeoutMs }));
    };
    let res = await once(false);
    if (res.status === 401) res = await once(true);
    return res;
  }

  /** The request, with network failures (the SSRF guard, the size limit, a timeout) as ZoomApiError. */
  private async send(what: { method: string; url: string }, fn: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
    try {
      return await fn();
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw new ZoomApiError(`${what.method} ${ZoomApi.where(what.url)}: ${this.deps.redactor.redact(err.message ?? String(e))}`, undefined, err.code);
    }
  }

  async download(url: string): Promise<{ body: Buffer; type?: string }> {
    const res = await this.get(url, DOWNLOAD_TIMEOUT_MS);
    if (res.status < 200 || res.status >= 300) throw new ZoomApiError(`downloading ${ZoomApi.where(url)} failed: HTTP ${res.status}`, res.status);
    if (res.body.length > this.cfg.maxFileBytes)
      throw new ZoomApiError(
        `${ZoomApi.where(url)} is ${res.body.length} bytes; webhooks.zoom.max_file_bytes is ${this.cfg.maxFileBytes}`,
        undefined,
        'ERR_RESPONSE_TOO_LARGE',
      );
    return { body: res.body, type: res.headers['content-type']?.split(';')[0].trim() || undefined };
  }

  /** Every recording whose end time is in [from, to], following next_page_token. */
  async listRecordings(from: number, to: number): Promise<ListedRecording[]> {
    const out: ListedRecording[] = [];
    let next = '';
    for (let page = 0; page < 10_000; page++) {
      const q = new URLSearchParams({ query_date_type: 'recording_end_time', from: iso(from), to: iso(to), page_size: String(this.cfg.reconcile.pageSize) });
      if (next) q.set('next_page_token', next);
      const url = `${this.cfg.apiBaseUrl}/contact_center/recordings?${q}`;
      const res = await this.get(url);
      if (res.status !== 200) throw new ZoomApiError(`listing recordings (${ZoomApi.where(url)}) failed: HTTP ${res.status}`, res.status);
      let body: { recordings?: unknown; next_page_token?: unknown };
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new ZoomApiError(`listing recordings (${ZoomApi.where(url)}): the answer is not JSON`);
      }
      if (Array.isArray(body.recordings)) for (const r of body.recordings) if (r && typeof r === 'object') out.push(r as ListedRecording);
      next = typeof body.next_page_token === 'string' ? body.next_page_token : '';
      if (!next) return out;
    }
    throw new ZoomApiError('listing recordings: more than 10000 pages');
  }
}

/** The list API's date format: seconds, UTC. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
