/**
 * Pushed screen pops: once a session's record is resolved (created, reused or reopened), the
 * gateway POSTs the platform's own CRM_Record_Pop event, `{"type": "CRM_Record_Pop", "data":
 * {"recordUrl": …}}`, to the connector's events.record_pop.url, so the agent desktop opens the
 * record without polling the session view. recordUrl is lookup_urls.record rendered with the
 * record's id, as the session view's record_pop shows it.
 *
 * It is a durable flow step (`record_pop`, one per session, depending on the record step): it
 * survives a crash, waits for the record, and is retried until the receiver answers 2xx, under
 * its own short policy (a pop that arrives after the call is of no use to anyone). It goes
 * through the connector's HTTP client: the same SSRF guard as CRM calls, allow_private_network
 * applies; the CRM's credentials are never sent, only the configured headers (secrets: never
 * shown in history, views or logs; the attempt history names the setting, not the URL).
 */
import type { Connector, RetryPolicy } from '../config/types';
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import { renderLinks } from '../operations/links';
import type { ConnectorRuntime } from '../operations/runtime';
import type { Delivery, DeliveryResult } from '../delivery/types';
import type { StepOptions } from '../delivery/worker';

/** Retried on any failure, 1 s doubling to 1 min, for 15 minutes. */
export const RECORD_POP_POLICY: RetryPolicy = {
  profile: 'resilient',
  retryableStatuses: [],
  retryNetworkErrors: true,
  honourRetryAfter: false,
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 60_000,
  deadlineMs: 15 * 60_000,
};

/** What the attempt history shows instead of the URL (which may be a secret). */
const REQUEST_LINE = 'POST events.record_pop.url';

/** The CRM_Record_Pop body for a record, or undefined when the connector cannot render its URL. */
export function recordPopBody(
  c: Connector,
  ids: { RECORD_ID?: unknown; ACCOUNT_ID?: unknown; SESSION_ID?: string },
): { type: 'CRM_Record_Pop'; data: { recordUrl: string } } | undefined {
  if (ids.RECORD_ID === undefined || ids.RECORD_ID === null || ids.RECORD_ID === '') return undefined;
  const input = Object.fromEntries(
    Object.entries(ids)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
  const recordUrl = renderLinks(c, input).record;
  return recordUrl ? { type: 'CRM_Record_Pop', data: { recordUrl } } : undefined;
}

export async function pushRecordPop(
  d: Delivery,
  rt: ConnectorRuntime,
  ids: { RECORD_ID?: unknown; ACCOUNT_ID?: unknown; SESSION_ID?: string },
  opts: StepOptions,
): Promise<{ result: DeliveryResult; attempts: AttemptRecord[] }> {
  const c = rt.connector;
  const pop = c.events.recordPop;
  const skipped = (reason: string) => ({ result: { ids: {}, outcome: 'skipped', reason }, attempts: [] });
  if (!pop) return skipped('events.record_pop is no longer configured');
  const body = recordPopBody(c, ids);
  if (!body) return skipped(ids.RECORD_ID === undefined ? 'the session has no record (nothing to pop)' : 'lookup_urls.record is not configured');
  const started = opts.now();
  let status: number;
  try {
    const res = await rt.http.request({
      method: 'POST',
      url: pop.url,
      headers: { ...pop.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    status = res.status;
  } catch (e) {
    if ((e as { code?: string }).code === 'ESSRF')
      throw new GatewayError(
        'destination_blocked',
        `record pop: ${(e as Error).message}; list the receiver in allow_private_network if it is meant to be reached`,
      );
    throw new GatewayError('record_pop_failed', `record pop: no answer from the receiver (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  if (status < 200 || status >= 300) throw new GatewayError('record_pop_failed', `record pop: the receiver answered HTTP ${status}`, { crm_status: status });
  const attempt: AttemptRecord = {
    operation: d.operation,
    request: REQUEST_LINE,
    status,
    classification: 'ok',
    reason: `HTTP ${status}`,
    duration_ms: opts.now() - started,
    at: new Date(started).toISOString(),
  };
  return { result: { ids: {}, outcome: 'pushed', record_url: body.data.recordUrl }, attempts: [attempt] };
}
