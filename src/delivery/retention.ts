/**
 * Retention (README, "Data retention"): on a timer, finished deliveries older than
 * RETENTION_DAYS lose their variables and file, and session state not touched for as long is
 * deleted. Ids, status, times, results and the redacted attempt history stay. 0 keeps all.
 * Every replica may run it: each purge is idempotent and takes rows no one else holds.
 */
import type { Logger } from '../util/logger';
import type { DeliveryStore } from './store';
import { storeErrorFields } from './store-startup';

const DAY_MS = 86_400_000;
/** Rows per statement: short statements, so deliveries are never held up behind a purge. */
const BATCH = 500;

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
    this.timer = setTimeout(
      function tick(this: RetentionSweeper) {
        this.sweep();
        this.timer = setTimeout(tick.bind(this), every).unref();
      }.bind(this),
      Math.min(every, 60_000),
    ).unref();
  }

  sweep(): Promise<void> {
    this.running ??= purgeOnce(this.o.store, this.o.days, (this.o.now ?? Date.now)())
      .then((r) => {
        if (r.deliveries || r.sessions)
          this.o.logger.info(
            { purged_deliveries: r.deliveries, purged_sessions: r.sessions, retention_days: this.o.days },
            'retention: purged finished deliveries and old sessions',
          );
      })
      .catch((e: unknown) => this.o.logger.warn(storeErrorFields(e), 'retention purge failed; retrying at the next sweep'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
