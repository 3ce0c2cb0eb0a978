/**
 * Outbound pacing of one connector: every CRM call takes a slot first (token bucket, optional
 * per-operation budgets, optional bound on calls in flight), and every answer feeds the CRM's
 * own rate signals back (a 429's Retry-After pauses everybody; a low remaining budget slows the
 * pace before a 429). The buckets live in a BucketBackend: in memory (one process) or in
 * PostgreSQL (shared by replicas).
 *
 * A connector without `rate_limit:` gets UNLIMITED, whose slot costs nothing (callers check
 * `limited` and skip the await: the unpaced hot path stays as it was).
 */
import type { RateBudget, RateLimit } from '../config/types';
import { GatewayError } from '../errors';
import type { Logger } from '../util/logger';
import { block, cap, fullBucket, refill, refund, reserve, type BucketSpec, type BucketState } from './bucket';
import { paceActions } from './signals';

export interface CrmLimiter {
  /** False for a connector without rate_limit: acquire is free, callers may skip it. */
  readonly limited: boolean;
  /**
   * Waits for a slot up to deadlineMs (absolute, ms epoch); resolves a release fn, or rejects
   * with RateLimitedError {retryAfterMs} when the slot can't be had before the deadline.
   */
  acquire(operation: string, deadlineMs: number): Promise<() => void>;
  /** Feed the CRM's answer headers/status (429, Retry-After, X-RateLimit-*) back. */
  observe(operation: string, status: number | undefined, headers: Record<string, string | undefined>): void;
  snapshot(): { queued: number; tokens: number; blockedUntilMs?: number };
}

/** No slot before the deadline: the call was not sent. */
export class RateLimitedError extends GatewayError {
  constructor(
    readonly connectorId: string,
    readonly retryAfterMs: number,
    why: string,
  ) {
    super('rate_limited', `connector ${connectorId}: ${why}; not sent, retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retry_after_ms: retryAfterMs });
    this.name = 'RateLimitedError';
  }
}

export function isRateLimited(e: unknown): e is RateLimitedError {
  return e instanceof RateLimitedError;
}

const NOOP = () => {};
const FREE_SLOT: Promise<() => void> = Promise.resolve(NOOP);

export const UNLIMITED: CrmLimiter = Object.freeze({
  limited: false,
  acquire: () => FREE_SLOT,
  observe: NOOP,
  snapshot: () => ({ queued: 0, tokens: Number.POSITIVE_INFINITY }),
});

export type SlotGrant = { granted: true; waitMs: number } | { granted: false; retryAfterMs: number };

/** Where a connector's buckets are kept. Keys: "*" (the connector) or an operation name. */
export interface BucketBackend {
  reserve(key: string, spec: BucketSpec, now: number, maxWaitMs: number): SlotGrant | Promise<SlotGrant>;
  refund(key: string, spec: BucketSpec, now: number): void | Promise<void>;
  block(key: string, spec: BucketSpec, now: number, untilMs: number): void | Promise<void>;
  cap(key: string, spec: BucketSpec, now: number, ratePerSec: number, untilMs: number): void | Promise<void>;
  /** This process's view of the tokens (for snapshot and the queue gauge). */
  tokens(key: string, spec: BucketSpec, now: number): number;
}

/** One process's buckets (SQLite, tests, and the fallback while PostgreSQL is unreachable). */
export class MemoryBuckets implements BucketBackend {
  private readonly states = new Map<string, BucketState>();

  private state(key: string, spec: BucketSpec, now: number): BucketState {
    return this.states.get(key) ?? fullBucket(spec, now);
  }
  reserve(key: string, spec: BucketSpec, now: number, maxWaitMs: number): SlotGrant {
    const r = reserve(this.state(key, spec, now), spec, now, maxWaitMs);
    this.states.set(key, r.state);
    return r.granted ? { granted: true, waitMs: r.waitMs } : { granted: false, retryAfterMs: r.retryAfterMs };
  }
  refund(key: string, spec: BucketSpec, now: number): void {
    this.states.set(key, refund(this.state(key, spec, now), spec, now));
  }
  block(key: string, spec: BucketSpec, now: number, untilMs: number): void {
    this.states.set(key, block(this.state(key, spec, now), spec, now, untilMs));
  }
  cap(key: string, spec: BucketSpec, now: number, ratePerSec: number, untilMs: number): void {
    this.states.set(key, cap(this.state(key, spec, now), spec, now, ratePerSec, untilMs));
  }
  tokens(key: string, spec: BucketSpec, now: number): number {
    return refill(this.state(key, spec, now), spec, now).tokens;
  }
}

export interface LimiterHooks {
  now?: () => number;
  logger?: Logger;
  /** Seconds a call waited for its slot (0 included: the histogram shows the share that waited). */
  onWait?: (connector: string, seconds: number) => void;
  /** A call had to wait, and why. */
  onThrottled?: (connector: string, source: 'budget' | 'retry_after' | 'remaining') => void;
}

export const CONNECTOR_KEY = '*';

export class PacedLimiter implements CrmLimiter {
  readonly limited = true;
  private queued = 0;
  private blockedUntilMs = 0;
  private capUntilMs = 0;
  private readonly now: () => number;
  private readonly concurrency?: Semaphore;
  private warnedBackend = false;

  constructor(
    readonly connectorId: string,
    private limit: RateLimit,
    private readonly backend: BucketBackend,
    private readonly hooks: LimiterHooks = {},
  ) {
    this.now = hooks.now ?? Date.now;
    if (limit.maxConcurrent) this.concurrency = new Semaphore(limit.maxConcurrent);
  }

  /** A config reload of the same connector: the new budget, the same bucket state. */
  update(limit: RateLimit): void {
    this.limit = limit;
    this.concurrency?.resize(limit.maxConcurrent ?? Number.POSITIVE_INFINITY);
  }

  get rateLimit(): RateLimit {
    return this.limit;
  }

  async acquire(operation: string, deadlineMs: number): Promise<() => void> {
    this.queued++;
    let release: (() => void) | undefined;
    const taken: Array<[string, RateBudget]> = [];
    const started = this.now();
    try {
      if (this.concurrency)
        release = await this.concurrency.take(deadlineMs, this.now, () => this.refused(1000, `${this.limit.maxConcurrent} calls already in flight`));
      const budgets: Array<[string, RateBudget]> = [[CONNECTOR_KEY, this.limit]];
      const own = this.limit.operations.get(operation);
      if (own) budgets.push([operation, own]);
      for (let round = 0; ; round++) {
        let waitMs = 0;
        const reservedAt = this.now();
        for (const [key, spec] of budgets) {
          const now = this.now();
          const grant = await this.reserve(key, spec, now, Math.max(0, deadlineMs - now));
          if (!grant.granted) throw this.refused(grant.retryAfterMs, `over its rate limit (${describe(spec)}${key === CONNECTOR_KEY ? '' : ` for ${key}`})`);
          taken.push([key, spec]);
          waitMs = Math.max(waitMs, grant.waitMs);
        }
        if (waitMs <= 0) break;
        if (round === 0) {
          const now = this.now();
          this.hooks.onThrottled?.(this.connectorId, this.blockedUntilMs > now ? 'retry_after' : this.capUntilMs > now ? 'remaining' : 'budget');
        }
        await sleep(waitMs);
        // Woken late (a busy event loop, a slow database): the slot was in the past, and sending
        // now would bunch with the slots after it. Give it back and take the next free one.
        const late = this.now() - (reservedAt + waitMs);
        if (late <= lateAfterMs(this.limit) || round >= MAX_REQUEUES) break;
        const now = this.now();
        for (const [key, spec] of taken) await Promise.resolve(this.backend.refund(key, spec, now)).catch(() => undefined);
        taken.length = 0;
      }
      // A 429 that arrived while we waited: nobody starts a call before its pause ends.
      const pause = this.blockedUntilMs - this.now();
      if (pause > 0) {
        if (this.now() + pause > deadlineMs) throw this.refused(pause, "paused by the CRM's Retry-After");
        await sleep(pause);
      }
      this.hooks.onWait?.(this.connectorId, (this.now() - started) / 1000);
      const slot = release ?? NOOP;
      release = undefined;
      taken.length = 0;
      return once(slot);
    } catch (e) {
      const now = this.now();
      for (const [key, spec] of taken) await Promise.resolve(this.backend.refund(key, spec, now)).catch(() => undefined);
      release?.();
      throw e;
    } finally {
      this.queued--;
    }
  }

  observe(_operation: string, status: number | undefined, headers: Record<string, string | undefined>): void {
    if (status === undefined) return;
    const now = this.now();
    for (const a of paceActions(status, headers, now)) {
      if (a.kind === 'block') {
        this.blockedUntilMs = Math.max(this.blockedUntilMs, a.untilMs);
        this.background(this.backend.block(CONNECTOR_KEY, this.limit, now, a.untilMs));
      } else if (a.ratePerSec < this.limit.ratePerSec) {
        this.capUntilMs = Math.max(this.capUntilMs, a.untilMs);
        this.background(this.backend.cap(CONNECTOR_KEY, this.limit, now, a.ratePerSec, a.untilMs));
      }
    }
  }

  snapshot(): { queued: number; tokens: number; blockedUntilMs?: number } {
    const now = this.now();
    return {
      queued: this.queued,
      tokens: this.backend.tokens(CONNECTOR_KEY, this.limit, now),
      ...(this.blockedUntilMs > now ? { blockedUntilMs: this.blockedUntilMs } : {}),
    };
  }

  private async reserve(key: string, spec: RateBudget, now: number, maxWaitMs: number): Promise<SlotGrant> {
    return this.backend.reserve(key, spec, now, maxWaitMs);
  }

  private refused(retryAfterMs: number, why: string): RateLimitedError {
    return new RateLimitedError(this.connectorId, Math.max(1, Math.ceil(retryAfterMs)), why);
  }

  private background(p: void | Promise<void>): void {
    if (!p) return;
    p.catch((e: unknown) => {
      if (this.warnedBackend) return;
      this.warnedBackend = true;
      this.hooks.logger?.warn({ connector: this.connectorId, err: String(e) }, 'rate limit: could not share a pause with other replicas');
    });
  }
}

/** How often a late waiter gives its slot back and takes a new one before it just goes. */
const MAX_REQUEUES = 3;
/** Late by more than one slot's spacing (at least 20 ms): the send would bunch with the next. */
function lateAfterMs(b: RateBudget): number {
  return Math.max(20, 1000 / b.ratePerSec);
}

function describe(b: RateBudget): string {
  return b.ratePerSec >= 1 ? `${round(b.ratePerSec)}/s, burst ${b.burst}` : `${round(b.ratePerSec * 60)}/min, burst ${b.burst}`;
}
function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Calls in flight at once; waiters in arrival order, each up to its deadline. */
class Semaphore {
  private inUse = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];
  constructor(private size: number) {}

  resize(size: number): void {
    this.size = size;
    this.pump();
  }

  take(deadlineMs: number, now: () => number, refuse: () => Error): Promise<() => void> {
    if (this.inUse < this.size && this.waiters.length === 0) {
      this.inUse++;
      return Promise.resolve(once(() => this.give()));
    }
    const left = deadlineMs - now();
    if (left <= 0) return Promise.reject(refuse());
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          this.inUse++;
          resolve(once(() => this.give()));
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(refuse());
      }, left);
      this.waiters.push(waiter);
    });
  }

  private give(): void {
    this.inUse--;
    this.pump();
  }

  private pump(): void {
    while (this.inUse < this.size && this.waiters.length > 0) this.waiters.shift()!.grant();
  }
}

/**
 * The helper other callers of a CRM (bulk calls, under "<operation>:batch") use: a slot of the
 * connector's budget, waiting up to the deadline (default: the connector timeout from now).
 */
export function acquireCrmSlot(
  rt: { limiter: CrmLimiter; connector: { timeoutMs: number } },
  operation: string,
  opts: { deadlineMs?: number; now?: () => number } = {},
): Promise<() => void> {
  if (!rt.limiter.limited) return FREE_SLOT;
  return rt.limiter.acquire(operation, opts.deadlineMs ?? (opts.now ?? Date.now)() + rt.connector.timeoutMs);
}
