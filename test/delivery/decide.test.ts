/**
 * decide() as a pure function: what a try's outcome makes of the delivery. Ambiguity is
 * sticky (a refused connection later does not clear it; only a search that proved the
 * outcome does), and the CRM's verdict is read from the typed failure, not from strings.
 */
import type { CompiledEndpoint } from '../../src/config/types';
import { decide, type AttemptOutcome } from '../../src/delivery/decide';
import type { Delivery } from '../../src/delivery/types';
import { runningDelivery } from '../helpers/deliveries';
import { GatewayError } from '../../src/errors';
import { Redactor } from '../../src/util/redact';
import type { CallResult } from '../../src/operations/call';
import { failure } from '../../src/operations/run';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const delivery = (over: Partial<Delivery> = {}): Delivery => runningDelivery(T0, over);
const post = { operation: 'create_record', method: 'POST' } as unknown as CompiledEndpoint;
const get = { operation: 'find_record', method: 'GET' } as unknown as CompiledEndpoint;

/** A CRM call that got no answer (network error) or an HTTP status, as runOperation would fail it. */
function crmFailure(ep: CompiledEndpoint, answer: { networkError?: string; status?: number }, kind: 'retry' | 'fail' = 'retry') {
  const call = {
    request: {} as CallResult['request'],
    response: { status: answer.status, headers: {}, body: undefined, durationMs: 5, networkError: answer.networkError },
    classification: kind === 'retry' ? { kind, reason: 'no answer', waitMs: 4000 } : { kind, reason: 'HTTP 422 is final' },
    redactor: new Redactor(),
  } as CallResult;
  return failure(ep, call, [
    Object.defineProperty(
      {
        operation: ep.operation,
        request: `${ep.method} /x`,
        classification: kind,
        reason: 'r',
        duration_ms: 5,
        at: 'not a date',
        ...(answer.status ? { status: answer.status } : { network_error: answer.networkError }),
      },
      'atMs',
      { value: T0 + 7, enumerable: false },
    ),
  ]);
}
const failed = (error: unknown, earlierTriesSettled?: boolean): AttemptOutcome => ({
  ok: false,
  error,
  attempts: isGe(error) ? (error as ReturnType<typeof crmFailure>).attempts : [],
  earlierTriesSettled,
});
const isGe = (e: unknown) => e instanceof GatewayError && 'attempts' in e;

describe('ambiguity', () => {
  test.each([
    // [was ambiguous, this try, a search in this try proved the outcome, → ambiguous]
    ['a timeout of a POST', false, crmFailure(post, { networkError: 'ECONNABORTED' }), false, true],
    ['a reset of a POST', false, crmFailure(post, { networkError: 'ECONNRESET' }), false, true],
    ['a refused POST (never sent)', false, crmFailure(post, { networkError: 'ECONNREFUSED' }), false, false],
    ['a refused find after an ambiguous try (finding 2)', true, crmFailure(get, { networkError: 'ECONNREFUSED' }), false, true],
    ['a refused POST after an ambiguous try (finding 2)', true, crmFailure(post, { networkError: 'ECONNREFUSED' }), false, true],
    ['a 503 after an ambiguous try', true, crmFailure(post, { status: 503 }), false, true],
    ['a refused POST after a search proved nothing was created', true, crmFailure(post, { networkError: 'ECONNREFUSED' }), true, false],
    ['a timeout after a search proved nothing was created', true, crmFailure(post, { networkError: 'ECONNABORTED' }), true, true],
    ['a timeout of a GET', false, crmFailure(get, { networkError: 'ECONNABORTED' }), false, false],
  ])('%s', (_name, was, error, settled, expected) => {
    const c = decide(delivery({ ambiguous: was }), failed(error, settled), T0 + 10, () => 0.5);
    expect(c).toMatchObject({ status: 'pending', ambiguous: expected });
  });

  test('a create answered with success but no readable id dies ambiguous (the object exists: a replay must find it)', () => {
    const unreadable = new GatewayError('crm_response_invalid', 'create_record: id_location "id" not found in the response');
    expect(decide(delivery(), failed(unreadable), T0)).toMatchObject({ status: 'dead', ambiguous: true });
    expect(decide(delivery({ operation: 'add_comment' }), failed(unreadable), T0)).toMatchObject({ status: 'dead', ambiguous: false });
  });

  test('a delivered try clears it', () => {
    expect(decide(delivery({ ambiguous: true }), { ok: true, result: { ids: { RECORD_ID: 1 }, outcome: 'ok' }, attempts: [] }, T0)).toMatchObject({
      status: 'delivered',
      ambiguous: false,
    });
  });
});

describe('the typed verdict', () => {
  test('retry: the wait the classification gave, attempt times as numbers (not parsed from text)', () => {
    const c = decide(delivery(), failed(crmFailure(post, { status: 503 })), T0 + 10);
    expect(c).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 10 + 4000, backoffAttempts: 1, error: { code: 'crm_retry_later', crm_status: 503 } });
    expect(c.attempts[0]).toMatchObject({ at: T0 + 7, status: 503 });
  });

  test('fail: dead, with the reason', () => {
    const c = decide(delivery(), failed(crmFailure(post, { status: 422 }, 'fail')), T0);
    expect(c).toMatchObject({ status: 'dead', error: { code: 'crm_request_failed', crm_status: 422, message: 'HTTP 422 is final' } });
  });

  test('a problem in the write itself dies at once; anything else waits with backoff', () => {
    expect(decide(delivery(), failed(new GatewayError('validation_failed', 'bad')), T0)).toMatchObject({ status: 'dead' });
    expect(decide(delivery(), failed(new GatewayError('oauth_not_authorized', 'connect first')), T0, () => 0.5)).toMatchObject({ status: 'pending' });
  });

  test('unknown outcome: the unknown_outcome status, with the evidence', () => {
    const evidence = { rule: 'no created_marker', found: [{ id: 9, fields_match: false }] };
    const c = decide(delivery({ ambiguous: true }), { ok: 'unknown', evidence, attempts: [] }, T0);
    expect(c).toMatchObject({
      status: 'unknown_outcome',
      ambiguous: true,
      error: { code: 'unknown_outcome', evidence, message: expect.stringContaining('/v1/deliveries/d1/resolve') },
    });
  });
});
