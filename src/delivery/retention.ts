/**
 * Retention (README, "Data retention"): on a timer, finished deliveries older than
 * RETENTION_DAYS lose their variables and file, and session state not touched for as long is
 * deleted. Ids, status, times, results and the redacted attempt history stay. 0 keeps all.
 * Every replica may run it: each purge is idempotent and takes rows no one else holds.
 */
import type { Logger } from '../util/logger';
import type { DeliveryStore } from './store';

const DAY_MS = 86_400_000;
export const DEFAULT_RETENTION_DAYS = 30;
/** Rows per statement: short statements, so deliveries are never held up behind a purge. */
const BATCH = 500;

/** RETENTION_DAYS: a whole number of days, 0 = keep forever; a start-up error otherwise. */
export function retentionDays(env: NodeJS.ProcessEnv): number {
  const raw = env.RETENTION_DAYS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETENTION_DAYS;
  if (!/^\d+$/.test(raw.trim())) throw new Error(`RETENTION_DAYS must be a whole number of days (0 = keep forever), got "${raw}"`);
  return Number(raw.trim());
}

/** One pass: purges everything due, in short batches. */
export async function purgeOnce(store: DeliveryStore, days: number, now: number): Promise<{ deliveries: number; sessions: number }> {
  const total = { deliveries: 0, sessions: 0 };
  if (days <= 0) return total;
  for (;;) {
    const r = await store.purgeFinished(now - days * DAY_MS, now, BATCH);
    total.deliveries += r.deliveries;
    total.sessions += r.sessions;
    if (r.deliveries < BATCH && r.sessions < BATCH) return total;
  }
}

export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: { store: DeliveryStore; days: number; logger: Logger; now?: () => number; everyMs?: number }) {}

  start(): void {
    if (this.o.days <= 0 || this.timer) return;
    // Soon after start (not during it), then hourly; never keeps the process alive.
    const every = this.o.everyMs ?? 3_600_000;
    this.timer = setTimeout(function tick(this: RetentionSweeper) {
      this.sweep();
      this.timer = setTimeout(tick.bind(this), every).unref();
    }.bind(this), Math.min(every, 60_000)).unref();
  }

  sweep(): Promise<void> {
    this.running ??= purgeOnce(this.o.store, this.o.days, (this.o.now ?? Date.now)())
      .then((r) => { if (r.deliveries || r.sessions) this.o.logger.info({ purged_deliveries: r.deliveries, purged_sessions: r.sessions, retention_days: this.o.days }, 'retention: purged finished deliveries and old sessions'); })
      .catch((e: unknown) => this.o.logger.warn({ err: e }, 'retention purge failed; retrying at the next sweep'))
      .finally(() => { this.running = undefined; });
    return this.running;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
