/**
 * Retry policy from the connector's `retry:` block. The default (`profile: spec`, the platform's
 * own retry rule) is exactly:
 * HTTP 400 from any endpoint is retried with exponential backoff for 7 days; other HTTP
 * errors are final. A call that got no HTTP response at all returned no error status, so
 * by default it is retried on the same schedule (it can be turned off).
 * `resilient` adds 408, 429 and 5xx.
 * Under every profile (whatever retryable_statuses says), a 429, or a 503 with Retry-After, is
 * the CRM asking to come back later: it is retried after Retry-After (else the backoff) until
 * the deadline and does not count against max_attempts (see classify).
 */
import type { RetryFile, RetryPolicy, StatusMatcher } from './types';

const SPEC_STATUSES: StatusMatcher[] = [400];
const RESILIENT_STATUSES: StatusMatcher[] = [400, 408, 429, '5xx'];

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze(retryPolicyFrom(undefined));

export function retryPolicyFrom(r: RetryFile | undefined): RetryPolicy {
  const profile = r?.profile ?? 'spec';
  return {
    profile,
    retryableStatuses: r?.retryable_statuses ?? (profile === 'resilient' ? RESILIENT_STATUSES : SPEC_STATUSES),
    retryNetworkErrors: r?.retry_network_errors ?? true,
    honourRetryAfter: true,
    initialDelayMs: (r?.initial_delay_seconds ?? 30) * 1000,
    factor: r?.factor ?? 2,
    maxDelayMs: (r?.max_delay_seconds ?? 6 * 3600) * 1000,
    deadlineMs: (r?.deadline_hours ?? 168) * 3600 * 1000,
    maxAttempts: r?.max_attempts,
  };
}

/** 400, "5xx" or "500-504". */
export function statusMatches(status: number, matchers: readonly StatusMatcher[]): boolean {
  return matchers.some((m) => {
    if (typeof m === 'number') return m === status;
    if (/^[1-5]xx$/.test(m)) return Math.floor(status / 100) === Number(m[0]);
    const range = /^(\d{3})-(\d{3})$/.exec(m);
    return range ? status >= Number(range[1]) && status <= Number(range[2]) : false;
  });
}
