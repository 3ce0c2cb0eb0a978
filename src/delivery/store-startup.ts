/**
 * Opening the delivery store while its database may be down. The gateway listens at once
 * (/readyz says why it is not ready) and tries the database again with backoff, one log line per
 * attempt, until it answers and its migrations ran; then the parts that need the store start.
 */
import type { Logger } from '../util/logger';

/** What a log line or /readyz says about a database error: the message and its code, nothing else. */
export interface StoreErrorSummary {
  message: string;
  code?: string;
}

const MAX_MESSAGE = 300;

/**
 * One short line for a database error. The error objects themselves are not fit to log: the pg
 * pool attaches the whole client (`err.client`, connection parameters and buffers, ~7 KB) to an
 * idle client's error, and a refused connection to a host with several addresses is an
 * AggregateError whose own message is empty (the reasons are in `errors`).
 */
export function summarizeStoreError(e: unknown): StoreErrorSummary {
  if (e instanceof AggregateError && e.errors.length && !e.message) return summarizeStoreError(e.errors[0]);
  const err = e as { message?: unknown; code?: unknown } | undefined;
  const raw = typeof err?.message === 'string' && err.message ? err.message : String(e);
  // One line: multi-line messages (a server's DETAIL) are joined.
  const message = raw.replace(/\s*\n\s*/g, ' ').slice(0, MAX_MESSAGE);
  const code = typeof err?.code === 'string' || typeof err?.code === 'number' ? String(err.code) : undefined;
  return code ? { message, code } : { message };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/** SQLSTATEs of a database that is away, not of a bad query: connection exceptions, shutdown, no such database, too many connections, refused login. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|3D000|53300|28000|28P01)$/;
const CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** True when the error says the database could not be reached (as opposed to a query it refused). */
export function isStoreUnavailable(e: unknown): boolean {
  if (e instanceof AggregateError && e.errors.length) return e.errors.some(isStoreUnavailable);
  const { message, code } = summarizeStoreError(e);
  return (code !== undefined && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) || CONNECTION_LOST.test(message);
}

/** The fields a log line carries for a database error: `code` and `error` (the message). */
export function storeErrorFields(e: unknown): { code?: string; error: string } {
  const s = summarizeStoreError(e);
  return { code: s.code, error: s.message };
}

/** Wait before start-up attempt `attempt + 1` (attempt counts from 1): 0.5 s doubling, at most 10 s. */
export function startupBackoffMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.max(0, attempt - 1));
}

export interface StoreStartupOptions {
  /** Makes the store ready (migrations, then what start-up does with the store); throws while the database is not. */
  open: () => Promise<void>;
  logger: Logger;
  /** Waits between attempts; tests shorten it. */
  backoffMs?: (attempt: number) => number;
}

/**
 * Opens the store, retrying until it succeeds. `reason` says why the store is not ready yet
 * (undefined once it is), for /readyz.
 */
export class StoreStartup {
  reason: string | undefined = 'starting: the delivery store is being opened';
  attempts = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(private readonly o: StoreStartupOptions) {}

  /** One attempt that fails start-up when it fails (SQLite: a local file has no outage to wait out). */
  async open(): Promise<void> {
    this.attempts++;
    await this.o.open();
    this.reason = undefined;
  }

  /** One attempt; true when the store is ready. Logs the failure in one line. */
  async tryOnce(): Promise<boolean> {
    this.attempts++;
    try {
      await this.o.open();
      this.reason = undefined;
      if (this.attempts > 1) this.o.logger.info({ attempts: this.attempts }, 'database reachable: migrations done, starting delivery');
      return true;
    } catch (e) {
      const s = summarizeStoreError(e);
      const retryInMs = (this.o.backoffMs ?? startupBackoffMs)(this.attempts);
      this.reason = `database not ready: ${s.message}${s.code ? ` (${s.code})` : ''}; attempt ${this.attempts}, next in ${round1(retryInMs / 1000)} s`;
      this.o.logger.warn(
        { attempt: this.attempts, code: s.code, error: s.message, retry_in_ms: retryInMs },
        'database not ready at start-up; the gateway listens, /readyz answers 503, retrying',
      );
      return false;
    }
  }

  /** Retries after the first failed attempt until ready (resolves) or stopped (rejects). */
  async untilReady(): Promise<void> {
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, (this.o.backoffMs ?? startupBackoffMs)(this.attempts));
      });
      if (this.stopped) break;
      if (await this.tryOnce()) return;
    }
    throw new Error('gateway stopped before the delivery store was ready');
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
