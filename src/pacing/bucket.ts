/**
 * The token bucket every CRM call of a paced connector draws from, as pure functions of
 * (state, spec, now). One truth for both places the state lives: in memory (SQLite, one
 * process) and the PostgreSQL row shared by replicas (postgres-buckets.ts runs the same
 * arithmetic in one UPDATE; test/pacing/postgres-buckets.test.ts checks they agree).
 *
 * A reservation takes its token at once, even when the bucket is empty (tokens go below zero):
 * the caller learns how long to wait before sending, and later callers queue behind it in
 * order. Nobody polls, and a caller whose wait would pass its deadline takes nothing.
 */
export interface BucketSpec {
  /** Sustained rate: tokens added per second. */
  ratePerSec: number;
  /** Most tokens the bucket holds: how many calls may go out back to back after a quiet spell. */
  burst: number;
}

export interface BucketState {
  /** Tokens at `updatedMs`; below zero while reservations wait. */
  tokens: number;
  /** The time `tokens` holds for; in the future while a Retry-After pause runs (no refill before then). */
  updatedMs: number;
  /** Until when the CRM asked everybody to pause (Retry-After, remaining 0); 0 when never. */
  blockedUntilMs: number;
  /** The CRM's own signals slowed us below the spec's rate until capUntilMs. */
  capRate?: number;
  capUntilMs?: number;
}

export type Reservation = { granted: true; waitMs: number; state: BucketState } | { granted: false; retryAfterMs: number; state: BucketState };

/** The slowest a cap may pace: one call a minute (a rate of 0 would never end a wait). */
export const MIN_RATE_PER_SEC = 1 / 60;

export function fullBucket(spec: BucketSpec, now: number): BucketState {
  return { tokens: spec.burst, updatedMs: now, blockedUntilMs: 0 };
}

/** The rate in force at `now`: the spec's, or a lower cap from the CRM's signals while it lasts. */
export function effectiveRate(state: BucketState, spec: BucketSpec, now: number): number {
  if (state.capRate !== undefined && (state.capUntilMs ?? 0) > now) return Math.max(MIN_RATE_PER_SEC, Math.min(spec.ratePerSec, state.capRate));
  return spec.ratePerSec;
}

/** Tokens as of max(now, updatedMs): refilled at the rate in force, never above burst. */
export function refill(state: BucketState, spec: BucketSpec, now: number): BucketState {
  if (now <= state.updatedMs) return state;
  const rate = effectiveRate(state, spec, now);
  const tokens = Math.min(spec.burst, state.tokens + ((now - state.updatedMs) * rate) / 1000);
  return { ...state, tokens, updatedMs: now };
}

/**
 * One call wants a slot. Granted with the wait before it may send, when that wait is at most
 * maxWaitMs; otherwise refused with when to ask again, and the bucket keeps its tokens.
 */
export function reserve(state: BucketState, spec: BucketSpec, now: number, maxWaitMs: number): Reservation {
  const s = refill(state, spec, now);
  const waitMs = waitFor(s, spec, now);
  if (waitMs > maxWaitMs) return { granted: false, retryAfterMs: Math.ceil(waitMs), state: s };
  return { granted: true, waitMs, state: { ...s, tokens: s.tokens - 1 } };
}

/** How long until one token is there (s refilled to max(now, updatedMs)). */
function waitFor(s: BucketState, spec: BucketSpec, now: number): number {
  const base = Math.max(0, s.updatedMs - now);
  const deficit = 1 - s.tokens;
  return deficit <= 0 ? base : base + (deficit * 1000) / effectiveRate(s, spec, now);
}

/** A reservation that was not used (its caller gave up): the token goes back. */
export function refund(state: BucketState, spec: BucketSpec, now: number): BucketState {
  const s = refill(state, spec, now);
  return { ...s, tokens: Math.min(spec.burst, s.tokens + 1) };
}

/**
 * The CRM said "pause until untilMs" (a 429 with Retry-After, or remaining 0): nobody starts a
 * call before then, and the bucket starts refilling only then, from empty (what reservations
 * already hold stays owed, so they go first).
 */
export function block(state: BucketState, spec: BucketSpec, now: number, untilMs: number): BucketState {
  if (untilMs <= now) return state;
  const s = refill(state, spec, now);
  return {
    ...s,
    tokens: Math.min(0, s.tokens),
    updatedMs: Math.max(s.updatedMs, untilMs),
    blockedUntilMs: Math.max(s.blockedUntilMs, untilMs),
  };
}

/**
 * The CRM's headers say the rest of its budget, spread evenly, allows only `ratePerSec` until
 * untilMs: pace at that, with no burst (a burst now is what runs into the 429 later). No change
 * when the cap is not below the spec's rate.
 */
export function cap(state: BucketState, spec: BucketSpec, now: number, ratePerSec: number, untilMs: number): BucketState {
  if (untilMs <= now || ratePerSec >= spec.ratePerSec) return state;
  const s = refill(state, spec, now);
  // The newest signal replaces an older cap (the CRM's count is fresher); only a tighter one cuts the burst.
  const tighter = ratePerSec < effectiveRate(s, spec, now);
  return { ...s, tokens: tighter ? Math.min(1, s.tokens) : s.tokens, capRate: Math.max(MIN_RATE_PER_SEC, ratePerSec), capUntilMs: untilMs };
}
