/**
 * What to record after one delivery attempt, as a pure function of the delivery, what
 * happened and the time: delivered, retry at a time, dead, or unknown_outcome (recovery could
 * not tell whether an earlier try created the object). The CRM's verdict arrives typed (a
 * CrmFailure, classified under the delivery's own policy); errors that never reached the CRM
 * (connector invalid, not yet authorized) wait with backoff until the deadline, because an
 * admin can fix them; bad input cannot be fixed by waiting and dies at once. Whether the write
 * may already be in the CRM ("ambiguous") carries over from try to try until proven.
 */
import { backoffMs, scheduleRetry, type Classification } from '../http/classify';
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import { isCrmFailure } from '../operations/run';
import type { AttemptRow, Completion, Delivery, DeliveryResult, RecoveryEvidence } from './types';

/** Problems in the write itself: retrying cannot help. */
const PERMANENT = new Set([
  'validation_failed',
  'missing_variable',
  'invalid_phone_number',
  'invalid_variable_value',
  'file_kind_not_accepted',
  'operation_not_configured',
  'operation_not_found',
  'crm_response_invalid',
  'ambiguous_match',
  'destination_blocked',
  'outcome_email_rejected',
]);

export type AttemptOutcome =
  | { ok: true; result: DeliveryResult; attempts: AttemptRecord[]; absorbed?: string[] }
  | {
      ok: false;
      error: unknown;
      attempts: AttemptRecord[];
      /** A search in this try proved what the earlier tries did (not created): their ambiguity no longer counts. */
      earlierTriesSettled?: boolean;
    }
  /** Recovery could not tell whether an earlier try created the object: an operator must say. */
  | { ok: 'unknown'; evidence: RecoveryEvidence; attempts: AttemptRecord[] };

export function decide(d: Delivery, outcome: AttemptOutcome, now: number, random: () => number = Math.random): Completion {
  const rows = outcome.attempts.map(toRow);
  const attemptNo = d.backoffAttempts + 1;
  const elapsedMs = now - (d.firstAttemptAt ?? now);
  if (outcome.ok === true)
    return {
      status: 'delivered',
      backoffAttempts: attemptNo,
      ambiguous: false,
      result: outcome.result,
      attempts: rows,
      ...(outcome.absorbed ? { absorbed: outcome.absorbed } : {}),
    };
  if (outcome.ok === 'unknown') {
    const message = `${d.operation}: an earlier try may have created the object and nothing proves whether it did (${outcome.evidence.rule}); resolve it: POST /v1/deliveries/${d.id}/resolve`;
    if (rows.length === 0) rows.push({ n: 0, at: now, classification: 'fail', reason: outcome.evidence.rule, durationMs: 0 });
    return {
      status: 'unknown_outcome',
      backoffAttempts: attemptNo,
      ambiguous: true,
      error: { code: 'unknown_outcome', message, evidence: outcome.evidence },
      attempts: rows,
    };
  }

  const e = outcome.error;
  const crm = isCrmFailure(e) ? e : undefined;
  const ge = e instanceof GatewayError ? e : undefined;
  const code = ge?.code ?? 'internal';
  const message = ge?.message ?? (e as Error)?.message ?? String(e);
  const error = { code, message, ...(crm?.crmStatus !== undefined ? { crm_status: crm.crmStatus } : {}) };
  // Sticky: once a try may have reached the CRM, the write stays ambiguous until a search in
  // a later try proves the outcome. A refused connection now says nothing about earlier tries.
  // A create the CRM answered with success whose answer could not be read (no id where the
  // connector says): the object exists. A replay must find it, not create it again.
  const answeredCreate = code === 'crm_response_invalid' && (d.operation === 'create_account' || d.operation === 'create_record');
  const ambiguous = (crm?.ambiguous ?? false) || answeredCreate || (d.ambiguous && !outcome.earlierTriesSettled);

  let c: Classification;
  if (crm) {
    // Classified under the delivery's policy, with attempt number and elapsed time.
    c =
      crm.kind === 'retry'
        ? {
            kind: 'retry',
            reason: crm.reason,
            waitMs: crm.waitMs ?? backoffMs(attemptNo, d.policy, random),
            fromRetryAfter: crm.fromRetryAfter,
            rateLimited: crm.rateLimited,
          }
        : { kind: 'fail', reason: crm.reason };
  } else if (PERMANENT.has(code)) {
    c = { kind: 'fail', reason: `${code}: ${message}` };
  } else {
    c = scheduleRetry(`${code}: ${message}`, backoffMs(attemptNo, d.policy, random), d.policy, { attempt: attemptNo, elapsedMs });
  }
  if (rows.length === 0)
    rows.push({
      n: 0,
      at: now,
      classification: c.kind,
      reason: c.kind === 'fail' ? c.reason : `${c.reason}; retry in ${Math.ceil((c as { waitMs: number }).waitMs / 1000)} s`,
      durationMs: 0,
    });
  if (c.kind === 'retry') {
    return {
      status: 'pending',
      nextAttemptAt: now + c.waitMs,
      backoffAttempts: c.fromRetryAfter || c.rateLimited ? d.backoffAttempts : attemptNo,
      ambiguous,
      error,
      attempts: rows,
    };
  }
  return { status: 'dead', backoffAttempts: attemptNo, ambiguous, error: { ...error, message: c.kind === 'fail' ? c.reason : message }, attempts: rows };
}

/** An attempt as the store keeps it in a delivery's history. */
export function toRow(a: AttemptRecord): AttemptRow {
  return {
    n: 0,
    // atMs is set where the attempt was made; a record without it (a copy) falls back to the text.
    at: a.atMs ?? Date.parse(a.at),
    status: a.status,
    networkError: a.network_error,
    classification: a.classification,
    reason: a.reason,
    durationMs: a.duration_ms,
    request: a.request,
  };
}
