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
import { decide, toRow, type AttemptOutcome } from './decide';
import { alreadyApplied } from './dedupe';
import { isRecoverableCreate, recoverCreate, UnknownOutcome } from './recover';
import type { DeliveryStore } from './store';
import { FLOW_STEPS, type Delivery, type DeliveryResult, type FlowStep } from './types';
import type { ConnectorRuntime } from '../operations/runtime';
import type { AttemptRecord } from '../operations/call';
import { BATCH_ITEM_FAILED, bulkEndpoint, sendBulk, type BulkEntry } from './bulk';
import { storeErrorFields, summarizeStoreError, type StoreErrorSummary } from './store-startup';
import { isRateLimited, type RateLimitedError } from '../pacing/limiter';
import type { Completion } from './types';

/**
 * How long a delivery holds its claim waiting for a slot of the connector's rate limit; a longer
 * wait gives it back to the store (no attempt counted), so the worker's slots serve others.
 */
export const RATE_LIMIT_WAIT_MS = 1000;

/** An endpoint that takes bulk calls. */
type BulkEndpoint = NonNullable<ReturnType<typeof bulkEndpoint>>;
/** Writes that go out together: one write alone, or a bulk unit with its endpoint. */
interface Unit {
  ds: Delivery[];
  bulk?: BulkEndpoint;
}

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
  /** Until when each delivery in flight surely holds its lease (see keepLeases). */
  private readonly leaseUntil = new Map<string, number>();
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
      const units = this.plan(claimed);
      for (const unit of units) if (unit.bulk) await this.fill(unit.ds, unit.bulk);
      await Promise.all(units.map((unit) => this.run(unit)));
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
          // One short line per try: the error object of a lost connection is kilobytes (pg's client).
          this.o.logger.error({ ...storeErrorFields(e), failures }, 'delivery worker: claim failed; the store is retried shortly');
          await this.idle(Math.min(5000, 100 * 2 ** failures));
          continue;
        }
      }
      for (const unit of this.plan(claimed)) {
        // Filled before the next claim, so that claim does not split the same due writes into more calls.
        // (Only bulk units wait for anything: other writes start without an extra await.)
        if (unit.bulk) await this.fill(unit.ds, unit.bulk);
        // A bulk call is one slot, however many writes it carries.
        const key = unit.bulk ? `bulk:${unit.ds[0].id}` : unit.ds[0].id;
        const p = this.run(unit).finally(() => {
          this.inflight.delete(key);
          this.nudge();
        });
        this.inflight.set(key, p);
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

  /**
   * Bulk batching: the claimed writes whose endpoint has batch: are grouped by connector and
   * operation (one unit each, with its endpoint, filled up by fill()); every other write is a
   * unit of its own. Whether a write may be batched is worked out here, once.
   */
  private plan(claimed: Delivery[]): Unit[] {
    const units: Unit[] = [];
    const groups = new Map<string, Unit>();
    for (const d of claimed) {
      const bulk = this.bulkOf(d);
      if (!bulk) {
        units.push({ ds: [d] });
        continue;
      }
      const key = `${d.connectorId}\u0000${d.operation}`;
      let group = groups.get(key);
      if (!group || group.ds.length >= bulk.batch.maxItems) {
        group = { ds: [], bulk };
        groups.set(key, group);
        units.push(group);
      }
      group.ds.push(d);
    }
    return units;
  }

  private run(unit: Unit): Promise<void> {
    if (!unit.bulk) return this.deliver(unit.ds[0]);
    // Whatever was not recorded keeps its claim until the lease expires, then is retried (as ambiguous).
    return this.deliverBulk(unit.ds, unit.bulk).catch((e) =>
      this.o.logger.error(
        { err: e, deliveries: unit.ds.map((d) => d.id) },
        'delivery worker: a bulk call failed unexpectedly; its writes are retried when their leases expire',
      ),
    );
  }

  /** The endpoint when this write may go in a bulk call (the operation is checked first: most writes are not batchable). */
  private bulkOf(d: Delivery) {
    if (d.operation !== 'update_record' && d.operation !== 'add_comment') return undefined;
    return bulkEndpoint(this.runtimeOf(d), d);
  }

  private runtimeOf(d: Delivery): ConnectorRuntime | undefined {
    try {
      return this.o.gateway.runtime(d.connectorId);
    } catch {
      return undefined; // connector gone: the write goes alone and fails there, as before
    }
  }

  /**
   * Keeps every claimed delivery's lease alive while its call is in flight, and remembers until
   * when each lease is surely ours (the claim's lease, pushed on by each heartbeat that landed):
   * recording an outcome is retried only that long.
   */
  private keepLeases(ds: readonly Delivery[]): NodeJS.Timeout {
    for (const d of ds) if (!this.leaseUntil.has(d.id)) this.leaseUntil.set(d.id, this.now() + this.leaseMs);
    return setInterval(
      () => {
        for (const d of ds) {
          const until = this.now() + this.leaseMs;
          this.o.store.extendLease(d.id, d.leaseToken!, until).then(
            (ok) => {
              if (ok && this.leaseUntil.has(d.id)) this.leaseUntil.set(d.id, until);
            },
            () => undefined,
          );
        }
      },
      Math.max(1000, this.leaseMs / 3),
    );
  }

  private releaseLeases(heartbeat: NodeJS.Timeout, ds: readonly Delivery[]): void {
    clearInterval(heartbeat);
    for (const d of ds) this.leaseUntil.delete(d.id);
  }

  private async deliver(d: Delivery): Promise<void> {
    const heartbeat = this.keepLeases([d]);
    try {
      await this.settle(d, await this.attempt(d));
    } finally {
      this.releaseLeases(heartbeat, [d]);
    }
  }

  /**
   * A bulk unit is filled up with the other due writes of its connector and operation (the store
   * claims only the head of each ordering key, so one write per session or record).
   */
  private async fill(ds: Delivery[], bulk: BulkEndpoint): Promise<void> {
    if (ds.length >= bulk.batch.maxItems) return;
    try {
      const more = await this.o.store.claimBatchable(
        { connectorId: ds[0].connectorId, operation: ds[0].operation },
        bulk.batch.maxItems - ds.length,
        this.now(),
        this.leaseMs,
      );
      ds.push(...more);
    } catch (e) {
      this.o.logger.error({ ...storeErrorFields(e) }, 'delivery worker: could not claim more writes for a bulk call; sending what it has');
    }
  }

  /** One bulk call for writes of one connector and operation; each write keeps its own lease and is recorded on its own. */
  private async deliverBulk(ds: Delivery[], ep: BulkEndpoint): Promise<void> {
    const rt = this.runtimeOf(ds[0])!;
    const op = ds[0].operation as 'update_record' | 'add_comment';
    const heartbeat = this.keepLeases(ds);
    const alone: Array<Promise<void>> = [];
    try {
      const entries: BulkEntry[] = [];
      for (const d of ds) {
        // Claimed by claimBatchable but retried alone (an item the CRM refused before).
        if (!bulkEndpoint(rt, d)) {
          alone.push(this.deliver(d));
          continue;
        }
        try {
          const dep = d.dependsOn ? await this.o.store.get(d.dependsOn) : undefined;
          const variables = withDependencyIds(d, dep);
          // No record to write onto (settings.skip_record_creation): the single path says so.
          if (variables.RECORD_ID === undefined && dep?.result?.outcome === 'not_created') {
            alone.push(this.deliver(d));
            continue;
          }
          const merged = await this.mergeBatch(d, rt, op, variables);
          entries.push({ d, variables: merged?.variables ?? variables, ...(merged ? { absorbed: merged.ids } : {}) });
        } catch (error) {
          // The store could not be read for this write: it waits (backoff), the others go.
          alone.push(this.settle(d, { ok: false, error, attempts: [] }));
        }
      }
      if (entries.length === 0) return;
      const verdicts = await sendBulk(rt, ep, entries, {
        logger: this.o.logger,
        now: this.now,
        observe: this.o.gateway.observe,
        slotWaitMs: RATE_LIMIT_WAIT_MS,
      });
      await Promise.all(
        entries.map((e, i) => {
          const v = verdicts[i];
          if (v === 'alone') return this.deliver(e.d);
          return this.settle(e.d, v.outcome, v);
        }),
      );
    } finally {
      this.releaseLeases(heartbeat, ds);
      await Promise.all(alone);
    }
  }

  /** Records an attempt's outcome on the delivery (fenced by its claim), logs it, counts it. */
  private async settle(d: Delivery, outcome: AttemptOutcome, bulk?: { ambiguous: boolean; itemFailed?: boolean }): Promise<void> {
    const token = d.leaseToken!;
    const completion =
      outcome.ok === false && isRateLimited(outcome.error)
        ? rateLimited(d, outcome.error, outcome.attempts, this.now())
        : decide(d, outcome, this.now(), this.o.random);
    if (bulk && completion.status !== 'delivered') {
      // The CRM's answer did not say what became of this item: the next try looks first (dedupe).
      if (bulk.ambiguous) completion.ambiguous = true;
      // The CRM refused this item: the next try goes alone, where its own status is classified.
      if (bulk.itemFailed && completion.error) completion.error = { ...completion.error, code: BATCH_ITEM_FAILED };
    }
    const lease = { until: this.leaseUntil.get(d.id) ?? this.now() + this.leaseMs };
    const saved = await this.recordWithRetry(d, token, completion, lease);
    const recorded = saved === true;
    const fields = {
      delivery: d.id,
      connector: d.connectorId,
      operation: d.operation,
      attempt: d.attempts,
      reason: completion.error?.message,
    };
    if (typeof saved === 'object') {
      // The CRM call's outcome is not in the store: saying "delivered" here would be a lie the
      // store contradicts. The delivery is still running there; its lease expires and it is
      // tried again as ambiguous (checked against the CRM before anything is sent again).
      this.o.logger.error(
        { ...fields, status: 'not_recorded', attempt_outcome: completion.status, code: saved.code, error: saved.message, tries: saved.tries },
        `delivery attempt: its outcome (${completion.status}) could not be saved to the store; the lease expires and the delivery is retried (as ambiguous)`,
      );
      return;
    }
    this.o.logger[completion.status === 'dead' || completion.status === 'unknown_outcome' ? 'warn' : 'info'](
      {
        ...fields,
        status: recorded ? completion.status : 'fenced_out',
        attempt_outcome: recorded ? undefined : completion.status,
        next_attempt_at: recorded && completion.status === 'pending' ? new Date(completion.nextAttemptAt!).toISOString() : undefined,
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
  }

  /**
   * The result of a CRM call must not be lost to a store hiccup: recording is retried while the
   * lease is still ours (afterwards another worker may have taken the delivery over), at least
   * three times. True: recorded; false: fenced out (the store says the lease is no longer ours);
   * an error summary: not saved.
   */
  private async recordWithRetry(
    d: Delivery,
    token: string,
    completion: Parameters<DeliveryStore['complete']>[2],
    lease: { until: number },
  ): Promise<boolean | (StoreErrorSummary & { tries: number })> {
    for (let i = 0; ; i++) {
      try {
        return await this.o.store.complete(d.id, token, completion, this.now());
      } catch (e) {
        const wait = Math.min(2000, 50 * 2 ** i);
        if (i >= 2 && (this.now() + wait >= lease.until || !this.running || i >= 40)) return { ...summarizeStoreError(e), tries: i + 1 };
        await sleep(wait);
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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
      ...calls.map(toRow),
      { n: 0, at: now, classification: 'rate_limited', reason: `waiting for the CRM's rate limit (${e.retryAfterMs} ms)`, durationMs: 0 },
    ],
  };
}
