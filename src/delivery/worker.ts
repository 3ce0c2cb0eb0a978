/**
 * Delivers what the store holds: claims due deliveries in batches, runs each through the
 * same pipeline as synchronous calls (under the policy stored with the delivery), and
 * records the outcome fenced by the claim token. Keeps its leases alive while a call is in
 * flight. On stop: claims nothing more, lets in-flight work finish within the grace period,
 * then gives back what is left without counting an attempt.
 */
import type { Gateway } from '../gateway';
import type { OperationName } from '../config/types';
import { isCrmFailure, runOperation } from '../operations/run';
import { REQUEST_VARIABLE_SET } from '../template/variables';
import type { Logger } from '../util/logger';
import { decide, type AttemptOutcome } from './decide';
import { alreadyApplied } from './dedupe';
import { isRecoverableCreate, recoverCreate, UnknownOutcome } from './recover';
import type { DeliveryStore } from './store';
import { FLOW_STEPS, type Delivery, type DeliveryResult, type FlowStep } from './types';
import type { ConnectorRuntime } from '../operations/runtime';
import type { AttemptRecord } from '../operations/call';
import { isRateLimited, type RateLimitedError } from '../pacing/limiter';
import type { Completion } from './types';

/**
 * How long a delivery holds its claim waiting for a slot of the connector's rate limit; a longer
 * wait gives it back to the store (no attempt counted), so the worker's slots serve others.
 */
export const RATE_LIMIT_WAIT_MS = 1000;

export interface WorkerOptions {
  store: DeliveryStore;
  gateway: Gateway;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** Deliveries in flight at once in this process. */
  concurrency?: number;
  leaseMs?: number;
  /** Idle wait between claims when nothing was due (a new enqueue wakes the worker at once). */
  pollMs?: number;
  /** Enqueues the comment that follows an upload (set by the delivery service). */
  onFollowUp?: (parent: Delivery, operation: OperationName, variables: Record<string, unknown>) => Promise<string | void>;
  onSettled?: (d: Delivery, status: string) => void;
  /** Runs composite flow steps (resolve_account, resolve_record); set by the flow engine. */
  runStep?: StepRunner;
}

export type StepRunner = (
  d: Delivery,
  rt: ConnectorRuntime,
  variables: Record<string, unknown>,
  opts: StepOptions,
) => Promise<{ result: DeliveryResult; attempts: AttemptRecord[]; followUps?: Array<{ operation: OperationName; variables: Record<string, unknown> }> }>;
export interface StepOptions {
  logger: Logger;
  requestId: string;
  now: () => number;
  policy: Delivery['policy'];
  attempt: { attempt: number; elapsedMs: number };
}

export class DeliveryWorker {
  private running = false;
  private inflight = new Map<string, Promise<void>>();
  private wake?: () => void;
  private loopDone?: Promise<void>;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly claimBatch: number;

  constructor(private readonly o: WorkerOptions) {
    this.now = o.now ?? Date.now;
    this.concurrency = o.concurrency ?? 8;
    this.leaseMs = o.leaseMs ?? 60_000;
    this.pollMs = o.pollMs ?? 250;
    this.claimBatch = Math.max(1, Math.floor(this.concurrency / 4));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Something was enqueued: claim now instead of at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Without the background loop: claims and delivers everything due now, repeatedly, until
   * nothing is due. For tests on a fake clock and for benchmarks.
   */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.o.store.claim(this.concurrency, this.now(), this.leaseMs);
      if (claimed.length === 0) return total;
      total += claimed.length;
      await Promise.all(claimed.map((d) => this.deliver(d)));
    }
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loopDone;
    const all = Promise.all(this.inflight.values());
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const timedOut = await Promise.race([all.then(() => false), grace]);
    clearTimeout(timer);
    if (timedOut)
      this.o.logger.warn({ in_flight: this.inflight.size }, 'delivery worker: grace period over; leases of unfinished work expire and it is retried');
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const free = this.concurrency - this.inflight.size;
      // Batched claims: under load, claim when a quarter of the slots are free rather than one
      // at a time, so one claim transaction serves several deliveries. (Idle or light load:
      // few in flight, many free, so work is claimed at once.)
      if (free > 0 && free < this.claimBatch && this.inflight.size > 0) {
        await this.idle(this.pollMs);
        continue;
      }
      let claimed: Delivery[] = [];
      if (free > 0) {
        try {
          claimed = await this.o.store.claim(free, this.now(), this.leaseMs);
          failures = 0;
        } catch (e) {
          // Store unreachable (e.g. PostgreSQL failover): nothing is lost, try again shortly.
          failures++;
          this.o.logger.error({ err: e, failures }, 'delivery worker: claim failed');
          await this.idle(Math.min(5000, 100 * 2 ** failures));
          continue;
        }
      }
      for (const d of claimed) {
        const p = this.deliver(d).finally(() => {
          this.inflight.delete(d.id);
          this.nudge();
        });
        this.inflight.set(d.id, p);
      }
      if (claimed.length === 0 || this.inflight.size >= this.concurrency) await this.idle(this.pollMs);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      // Woken by a completion: let the other completions of this turn land first (one claim for all).
      this.wake = () => {
        this.wake = undefined;
        setImmediate(done);
      };
    });
  }

  private async deliver(d: Delivery): Promise<void> {
    const token = d.leaseToken!;
    const heartbeat = setInterval(
      () => {
        this.o.store.extendLease(d.id, token, this.now() + this.leaseMs).catch(() => undefined);
      },
      Math.max(1000, this.leaseMs / 3),
    );
    try {
      const outcome = await this.attempt(d);
      const completion =
        outcome.ok === false && isRateLimited(outcome.error)
          ? rateLimited(d, outcome.error, outcome.attempts, this.now())
          : decide(d, outcome, this.now(), this.o.random);
      const recorded = await this.recordWithRetry(d, token, completion);
      this.o.logger[completion.status === 'dead' || completion.status === 'unknown_outcome' ? 'warn' : 'info'](
        {
          delivery: d.id,
          connector: d.connectorId,
          operation: d.operation,
          attempt: d.attempts,
          status: completion.status,
          reason: completion.error?.message,
          next_attempt_at: completion.status === 'pending' ? new Date(completion.nextAttemptAt!).toISOString() : undefined,
          fenced_out: !recorded,
        },
        'delivery attempt',
      );
      if (recorded) {
        this.o.onSettled?.(d, completion.status);
        const labels = { connector: d.connectorId, operation: d.operation };
        if (completion.status === 'pending' && !completion.uncounted) this.o.gateway.metrics?.retries.inc(labels);
        if (completion.status === 'dead') this.o.gateway.metrics?.deadLetters.inc(labels);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** The result of a CRM call must not be lost to a store hiccup: retry recording briefly. */
  private async recordWithRetry(d: Delivery, token: string, completion: Parameters<DeliveryStore['complete']>[2]): Promise<boolean> {
    for (let i = 0; ; i++) {
      try {
        return await this.o.store.complete(d.id, token, completion, this.now());
      } catch (e) {
        if (i >= 20 || (!this.running && i >= 3)) {
          this.o.logger.error(
            { err: e, delivery: d.id },
            'delivery worker: could not record the outcome; the lease will expire and the delivery is retried (as ambiguous)',
          );
          return false;
        }
        await sleep(Math.min(2000, 50 * 2 ** i));
      }
    }
  }

  private async attempt(d: Delivery): Promise<AttemptOutcome> {
    const attempts: AttemptOutcome['attempts'] = [];
    let earlierTriesSettled = false;
    try {
      const rt = this.o.gateway.runtime(d.connectorId);
      // The dependency is read once: its ids fill in the variables, its outcome decides conditions.
      const dep = d.dependsOn ? await this.o.store.get(d.dependsOn) : undefined;
      const variables = withDependencyIds(d, dep);
      const file = d.fileMeta ? { ...d.fileMeta, kind: d.fileMeta.kind as never, data: (await this.o.store.file(d.id)) ?? Buffer.alloc(0) } : undefined;
      const opts = {
        logger: this.o.logger,
        observe: this.o.gateway.observe,
        requestId: d.id,
        now: this.now,
        policy: d.policy,
        attempt: { attempt: d.backoffAttempts + 1, elapsedMs: this.now() - (d.firstAttemptAt ?? this.now()) },
        slotWaitMs: RATE_LIMIT_WAIT_MS,
      };
      if ((FLOW_STEPS as readonly string[]).includes(d.operation)) {
        if (!this.o.runStep) throw new Error(`no flow engine to run step ${d.operation}`);
        const step = await this.o.runStep(d, rt, variables, opts);
        attempts.push(...step.attempts);
        // The follow-ups' delivery ids go into the result, so a dead one can be found (session view).
        const followUps: string[] = [];
        for (const f of step.followUps ?? []) {
          const id = await this.o.onFollowUp?.(d, f.operation, f.variables);
          if (id) followUps.push(id);
        }
        return { ok: true, result: followUps.length ? { ...step.result, follow_ups: followUps } : step.result, attempts };
      }
      const op = d.operation as Exclude<Delivery['operation'], FlowStep>;
      if (d.condition?.onlyIfDependencyCreated) {
        // An operator who attached an unknown_outcome create to its object said it was created.
        if (dep?.result?.outcome !== 'created' && dep?.result?.outcome !== 'attached')
          return {
            ok: true,
            result: { ids: {}, outcome: 'skipped', reason: `the record was ${dep?.result?.outcome ?? 'not created'}, not created` },
            attempts,
          };
      }
      // A session record that was not created (settings.skip_record_creation): nothing to write onto.
      if (variables.RECORD_ID === undefined && dep?.result?.outcome === 'not_created') {
        return {
          ok: true,
          result: { ids: {}, outcome: 'skipped', reason: 'no record: settings.skip_record_creation is on and no record could be reused' },
          attempts,
        };
      }
      // A write that may already be in the CRM is checked (dedupe) and sent alone, never merged.
      const merged = d.ambiguous ? undefined : await this.mergeBatch(d, rt, op, variables);
      if (merged) {
        const r = await runOperation(rt, op, { variables: merged.variables }, opts);
        attempts.push(...r.attempts);
        return { ok: true, result: { ids: r.ids, outcome: r.outcome, merged: merged.ids }, attempts, absorbed: merged.ids };
      }
      const ep = rt.connector.endpoints.get(op);
      if (d.ambiguous && ep?.dedupe && (await alreadyApplied(rt, ep, variables, opts, attempts))) {
        return { ok: true, result: { ids: {}, outcome: 'ok', recovered_by: 'dedupe' }, attempts };
      }
      // The create stamps its delivery id on the object, where the connector has a place for it.
      const sendVars = ep?.createdMarker ? { ...variables, CREATED_MARKER: d.id } : variables;
      if (d.ambiguous && isRecoverableCreate(op)) {
        // An earlier try may have created it: find out before creating again, never guess.
        const rec = await recoverCreate({ rt, op, variables: sendVars, marker: d.id, firstAttemptAt: d.firstAttemptAt, opts, attempts });
        if (rec.kind === 'found') return { ok: true, result: { ids: rec.ids, outcome: 'ok', recovered_by: rec.by }, attempts };
        if (rec.kind === 'unknown') return { ok: 'unknown', evidence: rec.evidence, attempts };
        earlierTriesSettled = true;
      }
      const followUps: string[] = [];
      const r = await runOperation(
        rt,
        op,
        { variables: sendVars, file },
        {
          ...opts,
          followUp: async (vars) => {
            const id = await this.o.onFollowUp?.(d, 'add_comment', vars);
            if (id) followUps.push(id);
          },
        },
      );
      attempts.push(...r.attempts);
      return { ok: true, result: { ids: r.ids, outcome: r.outcome, ...(followUps.length ? { follow_ups: followUps } : {}) }, attempts };
    } catch (error) {
      if (error instanceof UnknownOutcome)
        return { ok: 'unknown', evidence: error.evidence, attempts: [...attempts, ...error.attempts.filter((a) => !attempts.includes(a))] };
      // A failed search of this try recorded into `attempts` itself; a failed operation has its own list.
      if (isCrmFailure(error) && error.attempts !== attempts) attempts.push(...error.attempts);
      return { ok: false, error, attempts, earlierTriesSettled };
    }
  }

  /**
   * Batching: the writes of the same kind queued behind this one for the same record
   * (same ordering key, consecutive, same dependency) go out as one CRM call: comments joined,
   * updates merged (later values win). They are marked delivered with this one, atomically.
   */
  private async mergeBatch(
    d: Delivery,
    rt: ConnectorRuntime,
    op: OperationName,
    variables: Record<string, unknown>,
  ): Promise<{ variables: Record<string, unknown>; ids: string[] } | undefined> {
    const batching = rt.connector.flows.batching;
    if (!batching || !d.orderingKey || !(batching.operations as ReadonlySet<string>).has(op)) return undefined;
    const followers = await this.o.store.followers(d.orderingKey, d.seq, 50);
    const same: Delivery[] = [];
    for (const f of followers) {
      // A follower that may already be in the CRM (ambiguous) or runs only under a condition goes alone.
      if (f.operation !== op || f.connectorId !== d.connectorId || f.dependsOn !== d.dependsOn || f.fileMeta || f.ambiguous || f.condition) break;
      same.push(f);
    }
    if (same.length === 0) return undefined;
    const merged = { ...variables };
    for (const f of same) {
      if (op === 'add_comment') merged.COMMENT_BODY = [merged.COMMENT_BODY, f.variables.COMMENT_BODY].filter((x) => x !== undefined && x !== '').join('\n\n');
      else Object.assign(merged, f.variables);
    }
    return { variables: merged, ids: same.map((f) => f.id) };
  }
}

/** The ids a dependency produced fill in what this write was accepted without. */
function withDependencyIds(d: Delivery, dep: Delivery | undefined): Record<string, unknown> {
  if (!dep) return d.variables;
  const ids = Object.entries(dep.result?.ids ?? {}).filter(([k]) => REQUEST_VARIABLE_SET.has(k));
  return { ...Object.fromEntries(ids), ...d.variables };
}

/**
 * No slot of the CRM's rate limit soon: the delivery goes back to the store with a later
 * not-before time, no attempt counted and its ambiguity unchanged (the refused call was never
 * sent), and a `rate_limited` line in its history. Its ordering key stays blocked behind it, so
 * the session's order holds.
 */
export function rateLimited(d: Delivery, e: RateLimitedError, calls: AttemptRecord[], now: number): Completion {
  return {
    status: 'pending',
    nextAttemptAt: now + e.retryAfterMs,
    backoffAttempts: d.backoffAttempts,
    ambiguous: d.ambiguous,
    uncounted: true,
    error: { code: 'rate_limited', message: e.message },
    attempts: [
      ...calls.map((a) => ({
        n: 0,
        at: a.atMs ?? Date.parse(a.at),
        status: a.status,
        networkError: a.network_error,
        classification: a.classification,
        reason: a.reason,
        durationMs: a.duration_ms,
        request: a.request,
      })),
      { n: 0, at: now, classification: 'rate_limited', reason: `waiting for the CRM's rate limit (${e.retryAfterMs} ms)`, durationMs: 0 },
    ],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
