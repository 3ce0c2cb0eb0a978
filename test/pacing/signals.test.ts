/** The CRM's rate signals, read from headers on a fixed clock (table-driven). */
import { paceActions, retryAfterMs, type PaceAction } from '../../src/pacing/signals';

const NOW = Date.parse('2026-01-01T00:00:00Z');

test.each<[string, string | undefined, number | undefined]>([
  ['delta seconds', '2', 2000],
  ['fractional seconds', '0.5', 500],
  ['HTTP-date', 'Thu, 01 Jan 2026 00:00:03 GMT', 3000],
  ['HTTP-date in the past', 'Wed, 31 Dec 2025 23:59:00 GMT', 0],
  ['absurdly long: bounded', '86400', 600_000],
  ['garbage', 'soon', undefined],
  ['absent', undefined, undefined],
])('Retry-After %s', (_n, value, want) => {
  expect(retryAfterMs(value, NOW)).toBe(want);
});

test.each<[string, number, Record<string, string>, PaceAction[]]>([
  ['plain 200: nothing', 200, {}, []],
  ['429 + Retry-After: pause everyone', 429, { 'retry-after': '3' }, [{ kind: 'block', untilMs: NOW + 3000, source: 'retry_after' }]],
  ['503 + Retry-After (HTTP-date)', 503, { 'retry-after': 'Thu, 01 Jan 2026 00:00:02 GMT' }, [{ kind: 'block', untilMs: NOW + 2000, source: 'retry_after' }]],
  ['Retry-After on a 200 is ignored', 200, { 'retry-after': '30' }, []],
  ['429 without Retry-After: a default pause', 429, {}, [{ kind: 'block', untilMs: NOW + 1000, source: 'retry_after' }]],
  [
    '429 without Retry-After, with a reset: until the reset',
    429,
    { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4' },
    [
      { kind: 'block', untilMs: NOW + 4000, source: 'retry_after' },
      { kind: 'block', untilMs: NOW + 4000, source: 'remaining' },
    ],
  ],
  [
    'X-RateLimit remaining 10, reset in 5 s: 2/s until then',
    200,
    { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': '5' },
    [{ kind: 'cap', ratePerSec: 2, untilMs: NOW + 5000, source: 'remaining' }],
  ],
  [
    'X-RateLimit-Reset as epoch seconds',
    200,
    { 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': String(NOW / 1000 + 2) },
    [{ kind: 'cap', ratePerSec: 2, untilMs: NOW + 2000, source: 'remaining' }],
  ],
  [
    'IETF RateLimit-*',
    200,
    { 'ratelimit-limit': '50', 'ratelimit-remaining': '0', 'ratelimit-reset': '1' },
    [{ kind: 'block', untilMs: NOW + 1000, source: 'remaining' }],
  ],
  ['Zendesk, plenty left: nothing', 200, { 'x-rate-limit': '700', 'x-rate-limit-remaining': '500' }, []],
  [
    'Zendesk, low (< 20 %): no faster than 700/min for a minute',
    200,
    { 'x-rate-limit': '700', 'x-rate-limit-remaining': '50' },
    [{ kind: 'cap', ratePerSec: 700 / 60, untilMs: NOW + 60_000, source: 'remaining' }],
  ],
  [
    'Zendesk, none left: pause one call’s share of the minute',
    200,
    { 'X-Rate-Limit': '600', 'X-Rate-Limit-Remaining': '0' },
    [{ kind: 'block', untilMs: NOW + 100, source: 'remaining' }],
  ],
  [
    'HubSpot secondly low',
    200,
    {
      'x-hubspot-ratelimit-max': '190',
      'x-hubspot-ratelimit-remaining': '150',
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-secondly': '19',
      'x-hubspot-ratelimit-secondly-remaining': '1',
    },
    [{ kind: 'cap', ratePerSec: 19, untilMs: NOW + 1000, source: 'remaining' }],
  ],
  [
    'HubSpot 10 s window exhausted',
    200,
    { 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '0', 'x-hubspot-ratelimit-interval-milliseconds': '10000' },
    [{ kind: 'block', untilMs: NOW + 100, source: 'remaining' }],
  ],
])('%s', (_name, status, headers, want) => {
  expect(paceActions(status, headers, NOW)).toEqual(want);
});
