import { backoffMs, classify, parseRetryAfter, type ResponseFacts } from '../../src/http/classify';
import { retryPolicyFrom, statusMatches } from '../../src/config/retry-policy';

const spec = retryPolicyFrom(undefined);
const resilient = retryPolicyFrom({ profile: 'resilient' });
const NOW = Date.parse('2026-11-25T10:00:00Z');
const at = (attempt = 1, elapsedMs = 0) => ({ attempt, elapsedMs, now: NOW, random: () => 0.5, notFoundStatuses: new Set([204, 404]) });

describe('classify under the spec policy (400 retried, others final)', () => {
  test.each<[string, ResponseFacts, string]>([
    ['200', { status: 200 }, 'ok'],
    ['201', { status: 201 }, 'ok'],
    ['204 on a find', { status: 204 }, 'not_found'],
    ['404 on a find', { status: 404 }, 'not_found'],
    ['400', { status: 400 }, 'retry'],
    ['401', { status: 401 }, 'fail'],
    ['403', { status: 403 }, 'fail'],
    ['409', { status: 409 }, 'fail'],
    ['422', { status: 422 }, 'fail'],
    ['429 with Retry-After', { status: 429, headers: { 'retry-after': '5' } }, 'retry'],
    ['429 without Retry-After', { status: 429 }, 'retry'],
    ['503 with Retry-After', { status: 503, headers: { 'retry-after': '5' } }, 'retry'],
    ['500', { status: 500 }, 'fail'],
    ['503', { status: 503 }, 'fail'],
    ['connection refused', { networkError: 'ECONNREFUSED' }, 'retry'],
    ['timeout', { networkError: 'ECONNABORTED' }, 'retry'],
  ])('%s → %s', (_n, res, kind) => {
    expect(classify(res, spec, at()).kind).toBe(kind);
  });

  test('reasons say why', () => {
    expect(classify({ status: 422 }, spec, at())).toEqual({ kind: 'fail', reason: 'HTTP 422 is final under the spec policy (retried: 400)' });
    expect(classify({ networkError: 'ECONNREFUSED' }, spec, at())).toMatchObject({ kind: 'retry', reason: 'no response from the CRM (ECONNREFUSED)' });
  });

  test('without notFound statuses a 404 is a plain failure', () => {
    expect(classify({ status: 404 }, spec, { attempt: 1, elapsedMs: 0 }).kind).toBe('fail');
  });

  test('network retries can be turned off', () => {
    const p = retryPolicyFrom({ retry_network_errors: false });
    expect(classify({ networkError: 'ECONNRESET' }, p, at()).kind).toBe('fail');
  });
});

describe('resilient profile', () => {
  test.each<[number, string]>([
    [400, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [422, 'fail'],
    [401, 'fail'],
  ])('%s → %s', (status, kind) => {
    expect(classify({ status }, resilient, at()).kind).toBe(kind);
  });

  test('Retry-After wins over the backoff, in seconds or as a date, capped at max delay', () => {
    expect(classify({ status: 429, headers: { 'retry-after': '7' } }, resilient, at())).toMatchObject({ kind: 'retry', waitMs: 7000 });
    const date = new Date(NOW + 90_000).toUTCString();
    expect(classify({ status: 503, headers: { 'retry-after': date } }, resilient, at())).toMatchObject({ kind: 'retry', waitMs: 90_000 });
    expect(classify({ status: 503, headers: { 'retry-after': String(10 * 24 * 3600) } }, resilient, at())).toMatchObject({
      kind: 'retry',
      waitMs: resilient.maxDelayMs,
    });
  });
});

describe('rate limits: "later", not "no", under every profile', () => {
  const custom = retryPolicyFrom({ retryable_statuses: [400], max_attempts: 2 });
  const profiles: Array<[string, ReturnType<typeof retryPolicyFrom>]> = [
    ['spec', spec],
    ['resilient', resilient],
    ['custom statuses, max_attempts 2', custom],
  ];
  test.each(
    profiles.flatMap(
      ([name, p]) =>
        [
          [`${name}: 429 + Retry-After 7 → retry in 7 s`, p, { status: 429, headers: { 'retry-after': '7' } }, 7000, true],
          [`${name}: 429 → retry after the backoff`, p, { status: 429 }, backoffMs(1, p, () => 0.5), false],
          [`${name}: 503 + Retry-After 12 → retry in 12 s`, p, { status: 503, headers: { 'retry-after': '12' } }, 12000, true],
        ] as Array<[string, typeof spec, ResponseFacts, number, boolean]>,
    ),
  )('%s', (_n, p, res, waitMs, fromRetryAfter) => {
    const c = classify(res as ResponseFacts, p, at());
    expect(c).toMatchObject({ kind: 'retry', waitMs, rateLimited: true });
    expect(c.kind === 'retry' && c.fromRetryAfter === true).toBe(fromRetryAfter);
  });

  test('a rate-limited answer does not use up an attempt: max_attempts does not end it', () => {
    const p = retryPolicyFrom({ max_attempts: 2 });
    expect(classify({ status: 429 }, p, at(5)).kind).toBe('retry');
    expect(classify({ status: 400 }, p, at(5)).kind).toBe('fail');
  });

  test('…but the deadline does', () => {
    const week = 7 * 24 * 3600 * 1000;
    expect(classify({ status: 429, headers: { 'retry-after': '60' } }, spec, at(3, week - 1000))).toMatchObject({
      kind: 'fail',
      reason: expect.stringContaining('rate limited'),
    });
  });

  test('a 503 without Retry-After stays a server error (final under spec, retried under resilient)', () => {
    expect(classify({ status: 503 }, spec, at()).kind).toBe('fail');
    expect(classify({ status: 503 }, resilient, at())).toMatchObject({ kind: 'retry' });
    expect(classify({ status: 503 }, resilient, at())).not.toHaveProperty('rateLimited');
  });
});

describe('backoff and deadline', () => {
  test('exponential with equal jitter: between half and all of the nominal delay', () => {
    const p = retryPolicyFrom({ initial_delay_seconds: 10, factor: 2, max_delay_seconds: 3600 });
    expect([1, 2, 3, 4].map((n) => backoffMs(n, p, () => 0))).toEqual([5000, 10000, 20000, 40000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, p, () => 0.999999))).toEqual([10000, 20000, 40000, 80000]);
    expect(backoffMs(30, p, () => 1)).toBe(3_600_000);
  });

  test('gives up when the next attempt would fall after the 7-day deadline', () => {
    const week = 7 * 24 * 3600 * 1000;
    expect(classify({ status: 400 }, spec, at(40, week - 1000))).toMatchObject({ kind: 'fail', reason: expect.stringContaining('7 days deadline') });
    expect(classify({ status: 400 }, spec, at(2, 0)).kind).toBe('retry');
  });

  test('max_attempts stops earlier', () => {
    const p = retryPolicyFrom({ max_attempts: 3 });
    expect(classify({ status: 400 }, p, at(2)).kind).toBe('retry');
    expect(classify({ status: 400 }, p, at(3))).toMatchObject({ kind: 'fail', reason: expect.stringContaining('after 3 attempts') });
  });
});

describe('helpers', () => {
  test.each<[number, Array<number | string>, boolean]>([
    [400, [400], true],
    [401, [400], false],
    [503, ['5xx'], true],
    [499, ['5xx'], false],
    [502, ['500-504'], true],
    [505, ['500-504'], false],
  ])('statusMatches(%s, %j) = %s', (s, m, r) => expect(statusMatches(s, m)).toBe(r));

  test('parseRetryAfter', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('12', NOW)).toBe(12000);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });
});
