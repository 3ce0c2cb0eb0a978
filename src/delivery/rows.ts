/** Row ↔ object mapping shared by both stores (SQLite gives JSON as text, PostgreSQL as objects, bigints as strings). */
import type { SessionSummary } from './store';
import type { AttemptRow, Delivery, DeliveryResult, NewDelivery } from './types';

type Row = Record<string, unknown>;

const json = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

export function deliveryFromRow(r: Row): Delivery {
  return {
    seq: Number(r.seq),
    id: String(r.id),
    connectorId: String(r.connector_id),
    operation: r.operation as Delivery['operation'],
    status: r.status as Delivery['status'],
    variables: json<Record<string, unknown>>(r.variables) ?? {},
    condition: json(r.run_condition),
    step: json(r.step_facts),
    fileMeta: json(r.file_meta),
    idempotencyKey: str(r.idempotency_key),
    orderingKey: str(r.ordering_key),
    dependsOn: str(r.depends_on),
    policy: json(r.policy)!,
    attempts: Number(r.attempts),
    backoffAttempts: Number(r.backoff_attempts),
    ambiguous: r.ambiguous === true || r.ambiguous === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    firstAttemptAt: num(r.first_attempt_at),
    nextAttemptAt: Number(r.next_attempt_at),
    leaseToken: str(r.lease_token),
    leaseExpiresAt: num(r.lease_expires_at),
    result: json(r.result),
    lastError: json(r.last_error),
    purgedAt: num(r.purged_at),
  };
}

export function sessionSummaryFromRow(r: Row): SessionSummary {
  return {
    sessionId: String(r.session_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    endedAt: num(r.ended_at),
    waitingFor: str(r.waiting_for),
    unidentifiedAt: num(r.unidentified_at),
  };
}

export function attemptFromRow(r: Row): AttemptRow {
  return {
    n: Number(r.n),
    at: Number(r.at),
    status: num(r.status),
    networkError: str(r.network_error),
    classification: String(r.classification),
    reason: String(r.reason),
    durationMs: Number(r.duration_ms),
    request: str(r.request),
  };
}

/** Columns written on enqueue, in one order for both stores. */
export const DELIVERY_COLUMNS = [
  'id',
  'connector_id',
  'operation',
  'status',
  'variables',
  'file',
  'file_meta',
  'idempotency_key',
  'ordering_key',
  'depends_on',
  'policy',
  'created_at',
  'updated_at',
  'next_attempt_at',
  'run_condition',
  'step_facts',
] as const;

/** Columns every read returns (the file bytes are read separately). */
export const SELECT_COLUMNS = [
  'seq',
  'id',
  'connector_id',
  'operation',
  'status',
  'variables',
  'run_condition',
  'step_facts',
  'file_meta',
  'idempotency_key',
  'ordering_key',
  'depends_on',
  'policy',
  'attempts',
  'backoff_attempts',
  'ambiguous',
  'created_at',
  'updated_at',
  'first_attempt_at',
  'next_attempt_at',
  'lease_token',
  'lease_expires_at',
  'result',
  'last_error',
  'purged_at',
].join(', ');

/** The result of an unknown_outcome delivery an operator attached to the object it did create. */
export function resolvedResult(ids: Record<string, string | number>): DeliveryResult {
  return { ids, outcome: 'attached', recovered_by: 'operator' };
}

/** The columns a new delivery is written with (status is always 'pending'), for both stores' INSERT. */
export const INSERT_COLUMNS =
  'id, connector_id, operation, status, variables, file, file_meta, idempotency_key, ordering_key, depends_on, policy, created_at, updated_at, next_attempt_at, run_condition, step_facts';

/** The values of INSERT_COLUMNS but status, in order: one list, so the two stores cannot write a new delivery differently. */
export function insertValues(d: NewDelivery, now: number): unknown[] {
  return [
    d.id,
    d.connectorId,
    d.operation,
    JSON.stringify(d.variables),
    d.file?.data ?? null,
    d.file ? JSON.stringify({ name: d.file.name, type: d.file.type, kind: d.file.kind }) : null,
    d.idempotencyKey ?? null,
    d.orderingKey ?? null,
    d.dependsOn ?? null,
    JSON.stringify(d.policy),
    now,
    now,
    d.notBefore ?? now,
    d.condition ? JSON.stringify(d.condition) : null,
    d.step ? JSON.stringify(d.step) : null,
  ];
}
