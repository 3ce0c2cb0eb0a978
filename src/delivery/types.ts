/**
 * A delivery is one CRM write (or durable step) that must not be lost: committed to the
 * store before the API answers, then delivered by a worker under the retry policy that was
 * in force when it was accepted (stored with the row, so a config reload does not change
 * writes already in flight).
 */
import type { OperationName, RetryPolicy } from '../config/types';

/**
 * unknown_outcome: a create may or may not have reached the CRM, and nothing proves which
 * (no created marker to search by, and no match that can only be this write's). Nothing runs
 * it until an operator resolves it (retry as new, attach to an id, cancel); writes that
 * depend on it wait.
 */
export const DELIVERY_STATUSES = ['pending', 'running', 'delivered', 'dead', 'cancelled', 'unknown_outcome'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'dead', 'cancelled']);
/** Statuses a caller waiting for the outcome stops at: final, or waiting for an operator. */
export const SETTLED_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'dead', 'cancelled', 'unknown_outcome']);

/** Composite steps of session flows, run by the flow engine rather than as one endpoint call. */
export const FLOW_STEPS = ['resolve_account', 'resolve_record', 'record_pop', 'outcome_email', 'store_file', 'metadata_file'] as const;
export type FlowStep = (typeof FLOW_STEPS)[number];
export type DeliveryOperation = OperationName | FlowStep;

export interface FileRef {
  name: string;
  type: string;
  kind?: string;
}

/** When a write runs only if its dependency ended a certain way (never sent to the CRM). */
export interface DeliveryCondition {
  /** Session flows: the "record created" comment is skipped when the record was reused. */
  onlyIfDependencyCreated?: boolean;
}

/** What a composite flow step needs besides CRM variables (session id, direction, previous session end). */
export type StepFacts = Record<string, unknown>;

export interface NewDelivery {
  id: string;
  connectorId: string;
  operation: DeliveryOperation;
  variables: Record<string, unknown>;
  condition?: DeliveryCondition;
  step?: StepFacts;
  file?: { data: Buffer } & FileRef;
  idempotencyKey?: string;
  /** Writes with the same key are delivered one after another, in acceptance order. */
  orderingKey?: string;
  /** Id of a delivery whose result ids (ACCOUNT_ID, RECORD_ID…) this one needs. */
  dependsOn?: string;
  policy: RetryPolicy;
  /** Not before this time (batching windows); default now. */
  notBefore?: number;
}

export interface DeliveryError {
  code: string;
  message: string;
  crm_status?: number;
  /** unknown_outcome: what recovery searched and found, for the operator who resolves it. */
  evidence?: RecoveryEvidence;
}

export interface RecoveryEvidence {
  /** The rule applied: by the created marker, or by the fields sent (no marker). */
  rule: string;
  /** The search that was run (method and path, no query: it carries personal data). */
  searched?: string;
  marker?: string;
  /** When the first try started: an object created before it cannot be this write's. */
  first_attempt_at?: string;
  /** What the search returned: ids, when each was created, and whether its fields match. */
  found: Array<{ id: string | number; created_at?: string; fields_match?: boolean; marker_match?: boolean }>;
}

/** How an operator settles an unknown_outcome delivery. */
export type Resolution = { action: 'retry_as_new' } | { action: 'attach'; ids: Record<string, string | number> } | { action: 'cancel' };

export interface DeliveryResult {
  ids: Record<string, string | number>;
  outcome: string;
  /** Set when an ambiguous create was found to have happened already (no duplicate sent). */
  recovered_by?: string;
  /** Batching: the deliveries whose content went out in this one's CRM call. */
  merged?: string[];
  /** Set on a delivery that went out inside another's CRM call. */
  merged_into?: string;
  [extra: string]: unknown;
}

export interface Delivery {
  seq: number;
  id: string;
  connectorId: string;
  operation: DeliveryOperation;
  status: DeliveryStatus;
  variables: Record<string, unknown>;
  condition?: DeliveryCondition;
  step?: StepFacts;
  fileMeta?: FileRef;
  idempotencyKey?: string;
  orderingKey?: string;
  dependsOn?: string;
  policy: RetryPolicy;
  /** Every try, including ones that did not count towards backoff (Retry-After). */
  attempts: number;
  /** Tries that count for backoff and max_attempts. */
  backoffAttempts: number;
  /** The previous try may have reached the CRM without us learning the outcome. */
  ambiguous: boolean;
  createdAt: number;
  updatedAt: number;
  firstAttemptAt?: number;
  nextAttemptAt: number;
  leaseToken?: string;
  leaseExpiresAt?: number;
  result?: DeliveryResult;
  lastError?: DeliveryError;
  /** When retention removed its variables and file (finished deliveries only). */
  purgedAt?: number;
}

export interface AttemptRow {
  n: number;
  at: number;
  status?: number;
  networkError?: string;
  classification: string;
  reason: string;
  durationMs: number;
  request?: string;
}

export interface Completion {
  status: 'delivered' | 'dead' | 'pending' | 'unknown_outcome';
  nextAttemptAt?: number;
  backoffAttempts: number;
  ambiguous: boolean;
  result?: DeliveryResult;
  error?: DeliveryError;
  attempts: AttemptRow[];
  /** Batching: pending deliveries delivered inside this one's CRM call (marked delivered atomically). */
  absorbed?: string[];
  /** Given back before the CRM call (its rate limit): the claim does not count as an attempt. */
  uncounted?: boolean;
}

export interface ListFilter {
  status?: DeliveryStatus;
  connectorId?: string;
  limit?: number;
  /** Return rows with seq below this (newest first paging). */
  beforeSeq?: number;
  /** Accepted at or after this time (ms since epoch). */
  createdSince?: number;
  /** Accepted before this time (ms since epoch). */
  createdUntil?: number;
  /** Only these deliveries (a session's steps). */
  ids?: readonly string[];
}

export interface StoreCounts {
  pending: number;
  running: number;
  delivered: number;
  dead: number;
  cancelled: number;
  unknown_outcome: number;
}
