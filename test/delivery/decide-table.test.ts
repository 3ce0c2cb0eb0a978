/**
 * The retry decision, one row per case: what decide() records after a try — the status, when
 * the next try is due, how many backoff steps are used up, the error code — from the delivery
 * (its policy, tries so far, first try), what happened and the time. Jitter is pinned (random
 * → 1: the nominal delay), so every wait is exact: 30 s doubling, capped at 6 h, within 7 days.
 */
import { retryPolicyFrom } from '../../src/config/retry-policy';
import type { CompiledEndpoint } from '../../src/config/types';
import { decide, type AttemptOutcome } from '../../src/delivery/decide';
import type { Delivery } from '../../src/delivery/types';
import { runningDelivery } from '../helpers/deliveries';
import { GatewayError } from '../../src/errors';
import type { Classification } from '../../src/http/classify';
import type { CallResult } from '../../src/operations/call';
import { failure } from '../../src/operations/run';
import { Redactor } from '../../src/util/redact';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const S = 1000;
const H = 3600 * S;
const DAY = 24 * H;

const delivery = (over: Partial<Delivery> = {}): Delivery => runningDelivery(NOW, over);

const post = { operation: 'create_record', method: 'POST' } as unknown as CompiledEndpoint;

/** The CRM answered `status`, classified as runOperation classifies it under the delivery's policy. */
function crm(status: number, classification: Exclude<Classification, { kind: 'ok' }>): AttemptOutcome {
  const call = {
    request: {} as CallResult['request'],
    response: { status, headers: {}, body: undefined, durationMs: 5 },
    classification,
    redactor: new Redactor(),
  } as CallResult;
  const error = failure(post, call, [
    {
      operation: 'create_record',
      request: 'POST /x',
      status,
      classification: classification.kind,
      reason: classification.reason,
      duration_ms: 5,
      at: new Date(NOW).toISOString(),
    },
  ]);
  return { ok: false, error, attempts: error.attempts };
}
const gatewayError = (code: ConstructorParameters<typeof GatewayError>[0]): AttemptOutcome => ({
  ok: false,
  error: new GatewayError(code, `${code} here`),
  attempts: [],
});
const delivered: AttemptOutcome = { ok: true, result: { outcome: 'ok' } as never, attempts: [] };
const unknown: AttemptOutcome = { ok: 'unknown', evidence: { rule: 'no search can tell' } as never, attempts: [] };

type Expect = { status: string; nextAttemptAt?: number; backoffAttempts: number; code?: string };
type Row = [string, Partial<Delivery>, AttemptOutcome, Expect];

test.each<Row>([
  ['delivered on the first try', {}, delivered, { status: 'delivered', backoffAttempts: 1 }],
  ['delivered after three backoffs', { backoffAttempts: 3 }, delivered, { status: 'delivered', backoffAttempts: 4 }],
  // The CRM's verdict: retry after the wait it was classified with, or dead.
  [
    'HTTP 400, retryable: the classified wait',
    {},
    crm(400, { kind: 'retry', reason: 'HTTP 400 is retried', waitMs: 30 * S }),
    { status: 'pending', nextAttemptAt: NOW + 30 * S, backoffAttempts: 1, code: 'crm_retry_later' },
  ],
  [
    'HTTP 422, final: dead at once',
    {},
    crm(422, { kind: 'fail', reason: 'HTTP 422 is final' }),
    { status: 'dead', backoffAttempts: 1, code: 'crm_request_failed' },
  ],
  [
    'HTTP 429 with Retry-After: waits, uses up no backoff step',
    { backoffAttempts: 2 },
    crm(429, { kind: 'retry', reason: 'HTTP 429', waitMs: 120 * S, fromRetryAfter: true, rateLimited: true }),
    { status: 'pending', nextAttemptAt: NOW + 120 * S, backoffAttempts: 2, code: 'crm_retry_later' },
  ],
  [
    'a Retry-After wait on a 5xx: no backoff step either',
    { backoffAttempts: 1 },
    crm(503, { kind: 'retry', reason: 'HTTP 503', waitMs: 9 * S, fromRetryAfter: true }),
    { status: 'pending', nextAttemptAt: NOW + 9 * S, backoffAttempts: 1, code: 'crm_retry_later' },
  ],
  // Errors before the CRM: an admin can fix them, so they wait with the policy's backoff.
  [
    'connector invalid, first try: 30 s',
    {},
    gatewayError('config_invalid'),
    { status: 'pending', nextAttemptAt: NOW + 30 * S, backoffAttempts: 1, code: 'config_invalid' },
  ],
  [
    'connector invalid, fourth try: 30 s × 2³',
    { backoffAttempts: 3 },
    gatewayError('config_invalid'),
    { status: 'pending', nextAttemptAt: NOW + 240 * S, backoffAttempts: 4, code: 'config_invalid' },
  ],
  [
    'not authorized yet, 20th try: capped at 6 h',
    { backoffAttempts: 19, firstAttemptAt: NOW - DAY },
    gatewayError('oauth_not_authorized'),
    { status: 'pending', nextAttemptAt: NOW + 6 * H, backoffAttempts: 20, code: 'oauth_not_authorized' },
  ],
  [
    'an unexpected error waits too',
    {},
    { ok: false, error: new Error('boom'), attempts: [] },
    { status: 'pending', nextAttemptAt: NOW + 30 * S, backoffAttempts: 1, code: 'internal' },
  ],
  [
    'the next try would fall after the 7-day deadline: dead',
    { backoffAttempts: 30, firstAttemptAt: NOW - 7 * DAY + H },
    gatewayError('config_invalid'),
    { status: 'dead', backoffAttempts: 31, code: 'config_invalid' },
  ],
  [
    'max_attempts reached: dead',
    { backoffAttempts: 2, policy: retryPolicyFrom({ max_attempts: 3 }) },
    gatewayError('store_unavailable'),
    { status: 'dead', backoffAttempts: 3, code: 'store_unavailable' },
  ],
  [
    'one before max_attempts: still waits',
    { backoffAttempts: 1, policy: retryPolicyFrom({ max_attempts: 3 }) },
    gatewayError('store_unavailable'),
    { status: 'pending', nextAttemptAt: NOW + 60 * S, backoffAttempts: 2, code: 'store_unavailable' },
  ],
  [
    'a policy of its own: 10 s × 3',
    { backoffAttempts: 2, policy: retryPolicyFrom({ initial_delay_seconds: 10, factor: 3 }) },
    gatewayError('config_invalid'),
    { status: 'pending', nextAttemptAt: NOW + 90 * S, backoffAttempts: 3, code: 'config_invalid' },
  ],
  // Problems in the write itself: waiting cannot help.
  ['a missing variable: dead at once', {}, gatewayError('missing_variable'), { status: 'dead', backoffAttempts: 1, code: 'missing_variable' }],
  ['an unparseable phone number: dead at once', {}, gatewayError('invalid_phone_number'), { status: 'dead', backoffAttempts: 1, code: 'invalid_phone_number' }],
  ['several matches, none safe: dead at once', {}, gatewayError('ambiguous_match'), { status: 'dead', backoffAttempts: 1, code: 'ambiguous_match' }],
  [
    'a private destination the connector does not allow: dead at once',
    {},
    gatewayError('destination_blocked'),
    { status: 'dead', backoffAttempts: 1, code: 'destination_blocked' },
  ],
  // Recovery could not tell whether an earlier try created the object: an operator decides.
  ['unknown outcome', {}, unknown, { status: 'unknown_outcome', backoffAttempts: 1, code: 'unknown_outcome' }],
])('%s', (_case, over, outcome, want) => {
  const c = decide(delivery(over), outcome, NOW, () => 1);
  expect({ status: c.status, nextAttemptAt: c.nextAttemptAt, backoffAttempts: c.backoffAttempts, code: c.error?.code }).toEqual({
    nextAttemptAt: undefined,
    code: undefined,
    ...want,
  });
  // Every decision leaves at least one attempt row to show why.
  if (c.status !== 'delivered') expect(c.attempts.length).toBeGreaterThan(0);
});

test('jitter: the wait is between half the nominal delay and all of it', () => {
  const at = (r: number) => decide(delivery({ backoffAttempts: 2 }), gatewayError('config_invalid'), NOW, () => r).nextAttemptAt! - NOW;
  expect([at(0), at(0.5), at(1)]).toEqual([60 * S, 90 * S, 120 * S]);
});
