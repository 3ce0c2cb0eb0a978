/**
 * The durable store, one interface for SQLite (default, embedded) and PostgreSQL (many
 * replicas). Both pass the same test suite (test/delivery/store-contract.ts). "Now" is
 * always a parameter, so a week of retries runs in a test in seconds.
 */
import type { SealedTokenStore } from '../auth/token-store';
import type { AttemptRow, Completion, Delivery, ListFilter, NewDelivery, Resolution, StoreCounts } from './types';

/** What a session waits for, kept beside its state (columns) for the unidentified sweep and /metrics. */
export interface SessionWaiting {
  for: 'customer_identity' | 'agent';
  since: number;
  /** Set by the sweep once events.unidentified_after_seconds passed without identity. */
  unidentifiedAt?: number;
}

export interface SessionMeta {
  customerKey?: string;
  endedAt?: number;
  /** null: waits for nothing (clears the columns); absent: unchanged. */
  waiting?: SessionWaiting | null;
}

/** A session as listed (GET /v1/connectors/{id}/sessions): its columns, not its state. */
export interface SessionSummary {
  sessionId: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  waitingFor?: string;
  unidentifiedAt?: number;
}

export interface WaitingCount {
  connectorId: string;
  waitingFor: string;
  sessions: number;
  unidentified: number;
}

export interface DeliveryStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs pending migrations; safe when several processes start at once. */
  migrate(): Promise<void>;
  /**
   * Commits a new delivery. With an idempotency key already used by the connector, returns
   * the existing delivery and `created: false`.
   */
  enqueue(d: NewDelivery, now: number): Promise<{ delivery: Delivery; created: boolean }>;
  /**
   * Claims up to `limit` due deliveries for one worker: pending and due, or running with an
   * expired lease (a crashed worker: marked ambiguous). Respects ordering keys (only the
   * oldest unfinished write of a key) and dependencies (only after the dependency delivered).
   */
  claim(limit: number, now: number, leaseMs: number): Promise<Delivery[]>;
  /**
   * Bulk batching: claims up to `limit` more due pending writes of one connector and operation,
   * under the same ordering and dependency rules as claim (so at most one per ordering key),
   * leaving out what must go alone (ambiguous, with a file or a condition). No reclaims.
   */
  claimBatchable(only: { connectorId: string; operation: string }, limit: number, now: number, leaseMs: number): Promise<Delivery[]>;
  /** Extends a lease still held; false when the lease was lost. */
  extendLease(id: string, token: string, until: number): Promise<boolean>;
  /**
   * Records an attempt's outcome, fenced by the claim token: a worker whose lease expired
   * and was taken over cannot overwrite the newer attempt. False when fenced out.
   * When the delivery dies, deliveries that depend on it die too.
   */
  complete(id: string, token: string, c: Completion, now: number): Promise<boolean>;
  /** Pending deliveries queued behind `afterSeq` under the same ordering key, in order (batching). */
  followers(orderingKey: string, afterSeq: number, limit: number): Promise<Delivery[]>;
  /** Gives a claimed delivery back without counting an attempt (graceful shutdown). */
  release(id: string, token: string, now: number): Promise<void>;
  get(id: string): Promise<Delivery | undefined>;
  attempts(id: string): Promise<AttemptRow[]>;
  file(id: string): Promise<Buffer | undefined>;
  list(filter: ListFilter): Promise<Delivery[]>;
  /** dead/cancelled → pending with a fresh deadline (and dependents that died of it). */
  retry(id: string, now: number): Promise<Delivery | undefined>;
  /** pending → cancelled; running or final → unchanged (returned as is). */
  cancel(id: string, now: number): Promise<Delivery | undefined>;
  /**
   * An operator settles an unknown_outcome delivery: retry_as_new → pending (no longer
   * ambiguous: the next try creates), attach → delivered with the given ids, cancel →
   * cancelled (and its dependents die). Any other status: unchanged (returned as is).
   */
  resolve(id: string, resolution: Resolution, now: number): Promise<Delivery | undefined>;
  counts(): Promise<StoreCounts>;
  /** Session flows: the state of one platform session, with a version for optimistic updates. */
  loadSession(connectorId: string, sessionId: string): Promise<{ state: Record<string, unknown>; version: number } | undefined>;
  /** Writes the state if the stored version is still `version` (0 = new); false on a concurrent update. */
  saveSession(connectorId: string, sessionId: string, state: Record<string, unknown>, version: number, meta: SessionMeta, now: number): Promise<boolean>;
  /** Session ids of a connector waiting for the customer's identity since before `since` and not yet marked unidentified, oldest first. */
  overdueIdentity(connectorId: string, since: number, limit: number): Promise<string[]>;
  /** Sessions that wait, by connector and what for; `unidentified`: how many of them are marked so. */
  waitingCounts(): Promise<WaitingCount[]>;
  /** A connector's most recently updated sessions, newest first (read from columns, by the updated_at index). */
  recentSessions(connectorId: string, limit: number): Promise<SessionSummary[]>;
  /** When the customer's most recent other session ended, for the callback window. */
  lastSessionEnd(connectorId: string, customerKey: string, exceptSessionId: string): Promise<number | undefined>;
  /**
   * Reconciliation of a platform source (e.g. "zoom"): up to when everything it lists was
   * handled, and when a run last ended. Undefined before the first run.
   */
  loadWatermark(connectorId: string, source: string): Promise<{ watermark: number; lastRunAt: number } | undefined>;
  /** Never moves the watermark back (a run over an older range keeps the later one). */
  saveWatermark(connectorId: string, source: string, watermark: number, lastRunAt: number): Promise<void>;
  /**
   * A scheduled run starts: sets last_run_at to `now` if it is still before `lastRunBefore`. True
   * for exactly one of several replicas whose schedules fall due together.
   */
  claimRun(connectorId: string, source: string, lastRunBefore: number, now: number): Promise<boolean>;
  /** Reachability, for /readyz. */
  ping(): Promise<void>;
  /** OAuth tokens, sealed at rest; `withRefreshLock` spans every process on this store. */
  tokens: SealedTokenStore;
  /**
   * Retention: finished deliveries (delivered, dead, cancelled) last updated before `before`
   * lose their variables and file (`purgedAt` = now; id, status, times, result and the redacted
   * attempt history stay), and sessions last updated before `before` are deleted. At most
   * `limit` of each per call; the caller repeats while a call purged `limit`.
   */
  purgeFinished(before: number, now: number, limit: number): Promise<{ deliveries: number; sessions: number }>;
  close(): Promise<void>;
}
