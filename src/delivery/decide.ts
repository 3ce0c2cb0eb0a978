/**
 * What to record after one delivery attempt, as a pure function of the delivery, what
 * happened and the time: delivered, retry at a time, or dead. The CRM's answer was already
 * classified under the delivery's own policy; errors that never reached the CRM (connector
 * invalid, not yet authorized) wait with backoff until the deadline, because an admin can
 * fix them; bad input cannot be fixed by waiting and dies at once.
 */
import { backoffMs, scheduleRetry, type Classification } from '../http/classify';
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import type { AttemptRow, Completion, Delivery, DeliveryResult } from './types';

/** Problems in the write itself: retrying cannot help. */
const PERMANENT = new Set(['validation_failed', 'missing_variable', 'invalid_phone_number', 'invalid_variable_value', 'file_kind_not_accepted', 'operation_not_configured', 'operation_not_found', 'crm_response_invalid', 'ambiguous_match', 'destination_blocked']);

export type AttemptOutcome =
  | { ok: true; result: DeliveryResult; attempts: AttemptRecord[]; absorbed?: string[] }
  | { ok: false; error: unknown; attempts: AttemptRecord[] };

export function decide(d: Delivery, outcome: AttemptOutcome, now: number, random: () => number = Math.random): Completion {
  const rows = outcome.attempts.map(toRow);
  const attemptNo = d.backoffAttempts + 1;
  const elapsedMs = now - (d.firstAttemptAt ?? now);
  if (outcome.ok) return { status: 'delivered', backoffAttempts: attemptNo, ambiguous: false, result: outcome.result, attempts: rows, ...(outcome.absorbed ? { absorbed: outcome.absorbed } : {}) };

  const e = outcome.error;
  const ge = e instanceof GatewayError ? e : undefined;
  const code = ge?.code ?? 'internal';
  const message = ge?.message ?? (e as Error)?.message ?? String(e);
  const crmStatus = typeof ge?.extensions.crm_status === 'number' ? ge.extensions.crm_status : undefined;
  const error = { code, message, ...(crmStatus !== undefined ? { crm_status: crmStatus } : {}) };
  // No response after the request may have been sent: the CRM may have done it.
  const networkError = ge?.extensions.attempts && (ge.extensions.attempts as AttemptRecord[]).at(-1)?.network_error;
  const ambiguous = networkError !== undefined && networkError !== 'ECONNREFUSED';

  let c: Classification;
  const cls = ge?.extensions.classification as Classification['kind'] | undefined;
  if (cls === 'not_found') {
    c = { kind: 'fail', reason: String(ge!.extensions.reason ?? message) };
  } else if (cls === 'retry' || cls === 'fail') {
    // Classified under the delivery's policy, with attempt number and elapsed time.
    c = cls === 'fail'
      ? { kind: 'fail', reason: String(ge!.extensions.reason) }
      : { kind: 'retry', reason: String(ge!.extensions.reason), waitMs: Number(ge!.extensions.retry_after_ms), fromRetryAfter: Boolean(ge!.extensions.from_retry_after), rateLimited: Boolean(ge!.extensions.rate_limited) };
  } else if (PERMANENT.has(code)) {
    c = { kind: 'fail', reason: `${code}: ${message}` };
  } else {
    c = scheduleRetry(`${code}: ${message}`, backoffMs(attemptNo, d.policy, random), d.policy, { attempt: attemptNo, elapsedMs });
  }
  if (rows.length === 0) rows.push({ n: 0, at: now, classification: c.kind, reason: c.kind === 'fail' ? c.reason : `${c.reason}; retry in ${Math.ceil((c as { waitMs: number }).waitMs / 1000)} s`, durationMs: 0 });
  if (c.kind === 'retry') {
    return { status: 'pending', nextAttemptAt: now + c.waitMs, backoffAttempts: c.fromRetryAfter || c.rateLimited ? d.backoffAttempts : attemptNo, ambiguous, error, attempts: rows };
  }
  return { status: 'dead', backoffAttempts: attemptNo, ambiguous, error: { ...error, message: c.kind === 'fail' ? c.reason : message }, attempts: rows };
}

function toRow(a: AttemptRecord): AttemptRow {
  return {
    n: 0,
    at: Date.parse(a.at),
    status: a.status,
    networkError: a.network_error,
    classification: a.classification,
    reason: a.reason,
    durationMs: a.duration_ms,
    request: a.request,
  };
}
