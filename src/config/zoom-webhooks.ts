/**
 * `webhooks.zoom` of a connector file → the compiled settings (the schema has checked the
 * shapes; this adds defaults and what a schema cannot say).
 */
import type { ZoomWebhooks, ZoomWebhooksFile } from './types';
import { parseJsonPath } from '../util/json-path';
import type { PathSegment } from './yaml-source';

export const ZOOM_DEFAULTS = {
  apiBaseUrl: 'https://api.zoom.us/v2',
  tokenUrl: 'https://zoom.us/oauth/token',
  sessionIdFrom: 'engagement_id',
  maxFileBytes: 50 * 1024 * 1024,
  everyHours: 24,
  overlapMinutes: 60,
  firstLookbackHours: 24,
  pageSize: 300,
} as const;

export function compileZoomWebhooks(f: ZoomWebhooksFile | undefined, error: (path: PathSegment[], message: string) => void): ZoomWebhooks | undefined {
  if (!f || typeof f !== 'object') return undefined;
  const url = (key: 'api_base_url' | 'token_url', fallback: string): string => {
    const v = f[key] ?? fallback;
    try {
      new URL(v);
    } catch {
      error([key], `"${v}" is not a URL`);
    }
    return v.replace(/\/+$/, '');
  };
  let sessionIdFrom = parseJsonPath(ZOOM_DEFAULTS.sessionIdFrom);
  if (typeof f.session_id_from === 'string') {
    try {
      sessionIdFrom = parseJsonPath(f.session_id_from);
    } catch (e) {
      error(['session_id_from'], (e as Error).message);
    }
  }
  const r = f.reconcile ?? {};
  return {
    secretToken: f.secret_token,
    accountId: f.account_id,
    clientId: f.client_id,
    clientSecret: f.client_secret,
    apiBaseUrl: url('api_base_url', ZOOM_DEFAULTS.apiBaseUrl),
    tokenUrl: url('token_url', ZOOM_DEFAULTS.tokenUrl),
    sessionIdFrom,
    sessionIdFromSource: f.session_id_from ?? ZOOM_DEFAULTS.sessionIdFrom,
    maxFileBytes: f.max_file_bytes ?? ZOOM_DEFAULTS.maxFileBytes,
    reconcile: {
      everyMs: (r.every_hours ?? ZOOM_DEFAULTS.everyHours) * 3_600_000,
      overlapMs: (r.overlap_minutes ?? ZOOM_DEFAULTS.overlapMinutes) * 60_000,
      firstLookbackMs: (r.first_lookback_hours ?? ZOOM_DEFAULTS.firstLookbackHours) * 3_600_000,
      pageSize: r.page_size ?? ZOOM_DEFAULTS.pageSize,
    },
  };
}

/** The values to mask wherever they appear, even when written in the YAML rather than ${env:…}. */
export function zoomSecrets(f: ZoomWebhooksFile | undefined): string[] {
  if (!f || typeof f !== 'object') return [];
  const basic = Buffer.from(`${f.client_id}:${f.client_secret}`).toString('base64');
  return [f.secret_token, f.client_secret, basic].filter((v): v is string => typeof v === 'string');
}
