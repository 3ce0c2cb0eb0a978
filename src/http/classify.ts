/**
 * What a CRM response means for the caller, as a pure function of the response and the
 * policy: ok, not found, retry (with a wait and a reason), or fail (with a reason).
 * Early exits in order, each with its reason, so logs say *why*.
 */
import { statusMatches } from '../config/retry-policy';
import type { RetryPolicy } from '../config/types';

export type Classification =
  | { kind: 'ok'; reason: string }
  | { kind: 'not_found'; reason: string }
  /**
   * `fromRetryAfter`: the CRM named the wait. `rateLimited`: the CRM said "later" (429, or 503
   * with Retry-After), not "no". Either way the retry does not use up an attempt.
   */
  | { kind: 'retry'; reason: string; waitMs: number; fromRetryAfter?: boolean; rateLimited?: boolean }
  | { kind: 'fail'; reason: string };

export interface ResponseFacts {
  /** Absent when no HTTP response arrived (refused, reset, timeout). */
  status?: number;
  headers?: Readonly<Record<string, string | undefined>>;
  /** For network failures: the error code (ECONNREFUSED, ECONNABORTED/ETIMEDOUT, ECONNRESET…). */
  networkError?: string;
}

export interface AttemptFacts {
  /** 1 for the first attempt. */
  attempt: number;
  /** Time since the first attempt, to stop at the deadline. */
  elapsedMs: number;
  /** Statuses that mean "no match" for this endpoint (finds: 204, 404 by default). */
  notFoundStatuses?: ReadonlySet<number>;
  now?: number;
  /** Source of jitter in [0, 1); injected so schedules are testable. */
  random?: () => number;
}

export function classify(res: ResponseFacts, policy: RetryPolicy, at: AttemptFacts): Classification {
  // No HTTP response: the CRM never said no, so by default this is worth another try.
  if (res.status === undefined) {
    const what = `no response from the CRM (${res.networkError ?? 'network error'})`;
    if (!policy.retryNetworkErrors) return { kind: 'fail', reason: `${what}; network retries are off` };
    return scheduleRetry(what, backoffMs(at.attempt, policy, at.random), policy, at);
  }
  const status = res.status;
  // Configured "no match" statuses win over success: a 204 on a search means nothing found.
  if (at.notFoundStatuses?.has(status)) return { kind: 'not_found', reason: `HTTP ${status} means no match for this endpoint` };
  if (status >= 200 && status < 300) return { kind: 'ok', reason: `HTTP ${status}` };
  const retryAfterHeader = res.headers?.['retry-after'];
  // "Rate-limited requests are queued, not dropped": under every profile, a 429 (or a 503 that
  // names a Retry-After) is the CRM saying "later". It waits and retries until the deadline,
  // without using up an attempt (max_attempts counts refusals, not "come back later").
  if (status === 429 || (status === 503 && retryAfterHeader !== undefined && retryAfterHeader.trim() !== '')) return rateLimited(status, res, policy, at);
  if (!statusMatches(status, policy.retryableStatuses)) {
    return { kind: 'fail', reason: `HTTP ${status} is final under the ${policy.profile} policy (retried: ${policy.retryableStatuses.join(', ')})` };
  }
  const retryAfter = policy.honourRetryAfter ? parseRetryAfter(res.headers?.['retry-after'], at.now ?? Date.now()) : undefined;
  if (retryAfter !== undefined) {
    const c = scheduleRetry(`HTTP ${status}, Retry-After ${Math.round(retryAfter / 1000)} s`, Math.min(retryAfter, policy.maxDelayMs), policy, at);
    return c.kind === 'retry' ? { ...c, fromRetryAfter: true } : c;
  }
  return scheduleRetry(`HTTP ${status} is retryable`, backoffMs(at.attempt, policy, at.random), policy, at);
}

function rateLimited(status: number, res: ResponseFacts, policy: RetryPolicy, at: AttemptFacts): Classification {
  const retryAfter = policy.honourRetryAfter ? parseRetryAfter(res.headers?.['retry-after'], at.now ?? Date.now()) : undefined;
  const what = retryAfter !== undefined ? `HTTP ${status} (rate limited), Retry-After ${Math.round(retryAfter / 1000)} s` : `HTTP ${status} (rate limited)`;
  const waitMs = retryAfter !== undefined ? Math.min(retryAfter, policy.maxDelayMs) : backoffMs(at.attempt, policy, at.random);
  if (at.elapsedMs + waitMs > policy.deadlineMs) {
    return { kind: 'fail', reason: `${what}; gave up: the next attempt would fall after the ${formatDuration(policy.deadlineMs)} deadline` };
  }
  return { kind: 'retry', reason: what, waitMs, rateLimited: true, ...(retryAfter !== undefined ? { fromRetryAfter: true } : {}) };
}

/** Retry after `waitMs`, unless max_attempts or the deadline says to give up. */
export function scheduleRetry(what: string, waitMs: number, policy: RetryPolicy, at: AttemptFacts): Classification {
  if (policy.maxAttempts !== undefined && at.attempt >= policy.maxAttempts) {
    return { kind: 'fail', reason: `${what}; gave up after ${at.attempt} attempt${at.attempt === 1 ? '' : 's'} (max_attempts)` };
  }
  if (at.elapsedMs + waitMs > policy.deadlineMs) {
    return { kind: 'fail', reason: `${what}; gave up: the next attempt would fall after the ${formatDuration(policy.deadlineMs)} deadline` };
  }
  return { kind: 'retry', reason: what, waitMs };
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of
 * many writes spread out but never come back sooner than half the nominal delay.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function formatDuration(ms: number): string {
  const h = ms / 3600_000;
  return h >= 24 && h % 24 === 0 ? `${h / 24} day${h === 24 ? '' : 's'}` : `${h} h`;
}
