/**
 * On a timer, marks sessions that have waited for the customer's identity longer than their
 * connector's events.unidentified_after_seconds (FlowEngine.markUnidentified). Like retention:
 * every replica may run it (each mark is a versioned save), and it never keeps the process alive.
 */
import type { Logger } from '../util/logger';
import type { FlowEngine } from './engine';
import { storeErrorFields } from '../delivery/store-startup';

export class UnidentifiedSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: { flows: Pick<FlowEngine, 'markUnidentified'>; logger: Logger; everyMs?: number }) {}

  start(): void {
    if (this.timer) return;
    const every = this.o.everyMs ?? 60_000;
    const tick = () => {
      void this.sweep();
      this.timer = setTimeout(tick, every).unref();
    };
    this.timer = setTimeout(tick, every).unref();
  }

  sweep(): Promise<void> {
    this.running ??= this.o.flows
      .markUnidentified()
      .then((n) => {
        if (n)
          this.o.logger.warn(
            { sessions: n },
            'sessions still without customer identity marked unidentified; their writes are held until an event brings the phone, e-mail or SDK id',
          );
      })
      .catch((e: unknown) => this.o.logger.warn(storeErrorFields(e), 'unidentified sweep failed; retrying at the next sweep'))
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
