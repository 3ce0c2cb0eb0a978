/**
 * Accepting durable writes: validate now (a bad write is a 4xx today, not a dead letter
 * next week), commit to the store, wake the worker. Also the views the API shows.
 */
import crypto from 'node:crypto';
import type { OperationName, RetryPolicy } from '../config/types';
import { GatewayError, isGatewayError } from '../errors';
import type { Gateway } from '../gateway';
import { buildRequest, type FileInput } from '../operations/request';
import { checkVariables, prepareCall } from '../operations/variables';
import type { Redaction } from '../util/redact';
import type { DeliveryStore } from './store';
import { DELIVERY_STATUSES, SETTLED_STATUSES, type Delivery, type DeliveryStatus, type FlowStep, type Resolution, type StepFacts } from './types';
import type { DeliveryWorker } from './worker';
import { bulkWindowEnd } from './bulk';

/** Ids a write may wait for from the delivery it depends on. */
const PRODUCED_IDS = new Set(['ACCOUNT_ID', 'RECORD_ID', 'ATTACHMENT_ID', 'ATTACHMENT_URL']);

export interface AcceptOptions {
  idempotencyKey?: string;
  dependsOn?: string;
  orderingKey?: string;
  /** Hold the write this long first (batching window). */
  delayMs?: number;
  /**
   * Session flows: accept a write even when its dependency is dead; it waits, and runs if the
   * dependency is replayed. (The direct API refuses it instead, so the caller notices.)
   */
  waitOnDeadDependency?: boolean;
  /** Session flows: deliver only if the dependency created its object (e.g. the "record created" comment). */
  onlyIfDependencyCreated?: boolean;
  /** Composite flow steps: what the step needs besides variables (kept beside them, never sent). */
  stepFacts?: StepFacts;
  /** Flow steps that are not CRM writes (the record pop): their own retry policy instead of the connector's. */
  policy?: RetryPolicy;
  /** Flow steps that carry a file (store_file): its bytes, kept until the step is delivered. */
  stepFile?: { data: Buffer; name: string; type: string; kind?: string };
  /**
   * A flow step re-making its follow-ups after a crash: the write already accepted under this
   * key stands even when the variables differ now (the session moved on meanwhile).
   */
  firstWins?: boolean;
  /**
   * Bulk batching (the endpoint has batch:): false sends the write as soon as it is due, for a
   * caller waiting for the outcome. Default: held to the end of the current batch window.
   */
  bulkWindow?: boolean;
}

export class DeliveryService {
  worker?: DeliveryWorker;
  private waiters = new Map<string, Array<() => void>>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly gateway: Gateway,
  ) {}

  /** The API view of a delivery, masked by this gateway's redactor. */
  view(d: Delivery, history?: Awaited<ReturnType<DeliveryStore['attempts']>>) {
    return deliveryView(d, history, this.gateway.redactor);
  }

  async accept(
    connectorId: string,
    op: OperationName,
    input: { variables?: unknown; file?: FileInput },
    o: AcceptOptions = {},
  ): Promise<{ delivery: Delivery; created: boolean }> {
    const rt = this.gateway.runtime(connectorId);
    const ep = rt.connector.endpoints.get(op);
    if (!ep?.usable) throw new GatewayError('operation_not_configured', `connector ${connectorId} has no usable ${op} endpoint`, { operation: op });
    const variables = { ...checkVariables(input.variables, rt.connector) };
    if (op === 'upload_file' && ep.upload?.encoding === 'base64' && input.file && variables.FILE_DATA === undefined)
      variables.FILE_DATA = input.file.data.toString('base64');
    const kind = input.file?.kind ?? variables.FILE_KIND;
    if (op === 'upload_file' && typeof kind === 'string' && !ep.upload!.fileKinds.has(kind as never)) {
      throw new GatewayError('file_kind_not_accepted', `connector ${connectorId} does not send ${kind} files to the CRM`, { field: 'variables.FILE_KIND' });
    }
    let dependency: Delivery | undefined;
    if (o.dependsOn) {
      dependency = await this.store.get(o.dependsOn);
      // Only a delivery of the same connector: another connector's is answered as unknown (its
      // id tells nothing), and its ids and ordering key are not borrowed.
      if (!dependency || dependency.connectorId !== connectorId)
        throw new GatewayError('validation_failed', `depends_on: no delivery ${o.dependsOn}`, {
          errors: [{ field: 'depends_on', message: 'unknown delivery' }],
        });
      if ((dependency.status === 'dead' || dependency.status === 'cancelled') && !o.waitOnDeadDependency) {
        throw new GatewayError(
          'validation_failed',
          `depends_on: delivery ${o.dependsOn} is ${dependency.status}; replay it first (POST /v1/deliveries/${o.dependsOn}/retry)`,
          { errors: [{ field: 'depends_on', message: dependency.status }] },
        );
      }
    }
    this.validate(connectorId, op, variables, input.file, dependency);
    const id = crypto.randomUUID();
    const recordKey = variables.RECORD_ID !== undefined && variables.RECORD_ID !== '' ? `${connectorId}:record:${String(variables.RECORD_ID)}` : undefined;
    const orderingKey = o.orderingKey ?? dependency?.orderingKey ?? recordKey ?? (op.startsWith('create_') ? `${connectorId}:delivery:${id}` : undefined);
    const r = await this.store.enqueue(
      {
        id,
        connectorId,
        operation: op,
        variables: op === 'upload_file' && ep.upload?.encoding !== 'base64' ? withoutFileData(variables) : variables,
        ...(o.onlyIfDependencyCreated ? { condition: { onlyIfDependencyCreated: true } } : {}),
        file:
          input.file && ep.upload?.encoding !== 'base64'
            ? { data: input.file.data, name: input.file.name, type: input.file.type, kind: input.file.kind }
            : undefined,
        idempotencyKey: o.idempotencyKey,
        orderingKey,
        dependsOn: o.dependsOn,
        policy: rt.connector.retry,
        notBefore:
          ep.batch && o.bulkWindow !== false
            ? bulkWindowEnd(this.gateway.now() + (o.delayMs ?? 0), ep.batch.windowMs)
            : o.delayMs
              ? this.gateway.now() + o.delayMs
              : undefined,
      },
      this.gateway.now(),
    );
    if (r.created) this.worker?.nudge();
    else if (
      !o.firstWins &&
      (r.delivery.operation !== op ||
        canonical(r.delivery.variables) !== canonical(op === 'upload_file' && ep.upload?.encoding !== 'base64' ? withoutFileData(variables) : variables))
    ) {
      // The same key for a different request is a client bug; answering with the other write would hide it.
      throw new GatewayError(
        'validation_failed',
        `Idempotency-Key ${o.idempotencyKey} was already used for a different request (delivery ${r.delivery.id}, ${r.delivery.operation})`,
        {
          errors: [{ field: 'Idempotency-Key', message: 'reused for a different request' }],
        },
      );
    }
    return r;
  }

  /** A composite flow step (resolve_account, resolve_record): validated by the flow engine itself. */
  async acceptStep(
    connectorId: string,
    step: FlowStep,
    variables: Record<string, unknown>,
    o: AcceptOptions,
  ): Promise<{ delivery: Delivery; created: boolean }> {
    const rt = this.gateway.runtime(connectorId);
    const r = await this.store.enqueue(
      {
        id: crypto.randomUUID(),
        connectorId,
        operation: step,
        variables,
        ...(o.stepFacts ? { step: o.stepFacts } : {}),
        idempotencyKey: o.idempotencyKey,
        orderingKey: o.orderingKey,
        dependsOn: o.dependsOn,
        policy: o.policy ?? rt.connector.retry,
        ...(o.stepFile ? { file: o.stepFile } : {}),
        ...(o.delayMs ? { notBefore: this.gateway.now() + o.delayMs } : {}),
      },
      this.gateway.now(),
    );
    if (r.created) this.worker?.nudge();
    return r;
  }

  /** Renders the request as the worker will (minus ids a dependency will provide). */
  private validate(
    connectorId: string,
    op: OperationName,
    variables: Record<string, unknown>,
    file: FileInput | undefined,
    dependency: Delivery | undefined,
  ): void {
    const rt = this.gateway.runtime(connectorId);
    const ep = rt.connector.endpoints.get(op)!;
    const placeholders = dependency ? Object.fromEntries([...PRODUCED_IDS].filter((k) => variables[k] === undefined).map((k) => [k, `pending-${k}`])) : {};
    try {
      const prepared = prepareCall({ ...placeholders, ...variables }, rt.connector, ep, this.gateway.now());
      buildRequest(rt.connector, ep, prepared, file);
    } catch (e) {
      if (isGatewayError(e)) throw e;
      throw new GatewayError('validation_failed', (e as Error).message);
    }
  }

  /** Returns the follow-up's delivery id, which the parent's result lists (the session view shows it). */
  async followUp(parent: Delivery, op: OperationName, variables: Record<string, unknown>): Promise<string> {
    return (await this.accept(parent.connectorId, op, { variables }, { idempotencyKey: `${parent.id}:${op}`, orderingKey: parent.orderingKey })).delivery.id;
  }

  /** Called by the worker when a delivery's attempt was recorded. */
  settled(id: string, _status: string): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    w.forEach((f) => f());
  }

  /**
   * Waits until the delivery is final or `timeoutMs` passes. Woken by this process's worker;
   * polls as well, since another replica may be the one delivering it.
   */
  async waitFor(id: string, timeoutMs: number, accepted: Delivery): Promise<Delivery> {
    const deadline = Date.now() + timeoutMs;
    let last = accepted;
    for (;;) {
      // The write is committed; a store hiccup while watching it must not turn into an error.
      const d = (await this.store.get(id).catch(() => undefined)) ?? last;
      last = d;
      if (SETTLED_STATUSES.has(d.status) || Date.now() >= deadline) return d;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(100, Math.max(1, deadline - Date.now())));
        const list = this.waiters.get(id) ?? [];
        list.push(done);
        this.waiters.set(id, list);
        function done() {
          clearTimeout(t);
          resolve();
        }
      });
    }
  }

  async get(id: string): Promise<Delivery> {
    const d = await this.store.get(id);
    if (!d) throw new GatewayError('not_found', `no delivery ${id}`);
    return d;
  }

  async list(
    q: { status?: unknown; connector?: unknown; limit?: unknown; before?: unknown; since?: unknown; until?: unknown },
    ids?: readonly string[],
  ): Promise<Delivery[]> {
    const repeated = Object.entries(q)
      .filter(([, v]) => v !== undefined && typeof v !== 'string')
      .map(([k]) => k);
    if (repeated.length)
      throw new GatewayError('validation_failed', `give each filter once: ${repeated.join(', ')}`, {
        errors: repeated.map((field) => ({ field, message: 'repeated' })),
      });
    return this.listChecked(q as { status?: string; connector?: string; limit?: string; before?: string; since?: string; until?: string }, ids);
  }

  private async listChecked(
    q: { status?: string; connector?: string; limit?: string; before?: string; since?: string; until?: string },
    ids?: readonly string[],
  ): Promise<Delivery[]> {
    if (q.status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(q.status)) {
      throw new GatewayError('validation_failed', `status must be one of ${DELIVERY_STATUSES.join(', ')}`, {
        errors: [{ field: 'status', message: 'unknown status' }],
      });
    }
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new GatewayError('validation_failed', 'limit must be an integer from 1 to 1000', { errors: [{ field: 'limit', message: 'out of range' }] });
    const before = q.before === undefined ? undefined : Number(q.before);
    if (before !== undefined && (q.before === '' || !Number.isInteger(before) || before < 1))
      throw new GatewayError('validation_failed', 'before must be a cursor from a previous page', { errors: [{ field: 'before', message: 'not a cursor' }] });
    const since = timeFilter('since', q.since);
    const until = timeFilter('until', q.until);
    return this.store.list({
      status: q.status as DeliveryStatus | undefined,
      connectorId: q.connector,
      limit,
      beforeSeq: before,
      createdSince: since,
      createdUntil: until,
      ids,
    });
  }

  async retry(id: string): Promise<Delivery> {
    const before = await this.get(id);
    if (before.status !== 'dead' && before.status !== 'cancelled')
      throw new GatewayError('conflict', `delivery ${id} is ${before.status}; only dead or cancelled deliveries can be replayed`);
    // Its variables and file are gone: replaying it would send an empty write.
    if (before.purgedAt !== undefined)
      throw new GatewayError(
        'conflict',
        `delivery ${id} cannot be replayed: retention removed its variables and file on ${new Date(before.purgedAt).toISOString()}`,
      );
    const d = (await this.store.retry(id, this.gateway.now()))!;
    this.worker?.nudge();
    return d;
  }

  async cancel(id: string): Promise<Delivery> {
    const before = await this.get(id);
    if (before.status !== 'pending') throw new GatewayError('conflict', `delivery ${id} is ${before.status}; only pending deliveries can be cancelled`);
    return (await this.store.cancel(id, this.gateway.now()))!;
  }

  /**
   * An operator settles an unknown_outcome delivery (POST /v1/deliveries/{id}/resolve):
   *   {"action": "retry_as_new"}: the object was not created; create it (no recovery search),
   *   {"action": "attach", "ids": {"RECORD_ID": …}}: it was, this is its id; delivered,
   *   {"action": "cancel"}: drop the write (and what depends on it).
   */
  async resolve(id: string, body: unknown): Promise<Delivery> {
    const resolution = parseResolution(body);
    const before = await this.get(id);
    if (before.status !== 'unknown_outcome')
      throw new GatewayError('conflict', `delivery ${id} is ${before.status}; only unknown_outcome deliveries are resolved`);
    const needed = CREATED_ID[before.operation];
    if (resolution.action === 'attach' && needed && resolution.ids[needed] === undefined) {
      throw new GatewayError('validation_failed', `ids.${needed}: attach ${before.operation} to the id of the object it created`, {
        errors: [{ field: `ids.${needed}`, message: 'required' }],
      });
    }
    const d = (await this.store.resolve(id, resolution, this.gateway.now()))!;
    if (d.status !== 'unknown_outcome') this.worker?.nudge();
    return d;
  }

  async history(id: string) {
    return this.store.attempts(id);
  }
}

/** `since` / `until` of a listing: an RFC 3339 date-time (e.g. 2026-12-05T10:00:00Z), as ms since epoch. */
function timeFilter(field: 'since' | 'until', v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new GatewayError('validation_failed', `${field} must be a date-time such as 2026-12-05T10:00:00Z`, {
      errors: [{ field, message: 'not a date-time' }],
    });
  }
  return ms;
}

const RESOLVE_ACTIONS = ['retry_as_new', 'attach', 'cancel'] as const;
/** The id an attached create (or flow step) must carry: what its dependents wait for. */
const CREATED_ID: Partial<Record<string, string>> = {
  create_account: 'ACCOUNT_ID',
  resolve_account: 'ACCOUNT_ID',
  create_record: 'RECORD_ID',
  resolve_record: 'RECORD_ID',
};

/** The resolve body, checked field by field (a 422 names the field). */
export function parseResolution(body: unknown): Resolution {
  const bad = (field: string, message: string): never => {
    throw new GatewayError('validation_failed', `${field}: ${message}`, { errors: [{ field, message }] });
  };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return bad('action', `send a JSON object with "action": one of ${RESOLVE_ACTIONS.join(', ')}`);
  const { action, ids, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) bad(extra[0], 'unknown field');
  if (!(RESOLVE_ACTIONS as readonly unknown[]).includes(action)) return bad('action', `must be one of ${RESOLVE_ACTIONS.join(', ')}`);
  if (action !== 'attach') {
    if (ids !== undefined) bad('ids', `only for action attach`);
    return { action: action as 'retry_as_new' | 'cancel' };
  }
  if (!ids || typeof ids !== 'object' || Array.isArray(ids) || Object.keys(ids).length === 0)
    return bad('ids', 'attach needs the ids of the object the write created, e.g. {"RECORD_ID": 123}');
  for (const [k, v] of Object.entries(ids as Record<string, unknown>)) {
    if (!PRODUCED_IDS.has(k)) bad(`ids.${k}`, `not an id a write produces (${[...PRODUCED_IDS].join(', ')})`);
    if (!((typeof v === 'string' && v.trim() !== '' && v.length <= 255) || (typeof v === 'number' && Number.isFinite(v))))
      bad(`ids.${k}`, 'must be a non-empty string or a number');
  }
  return { action: 'attach', ids: ids as Record<string, string | number> };
}

/** JSON with sorted keys, to compare two variable sets. */
function canonical(v: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(v)
      .sort()
      .map((k) => [k, v[k]]),
  );
}

function withoutFileData(v: Record<string, unknown>): Record<string, unknown> {
  const { FILE_DATA: _f, ...rest } = v;
  return rest;
}

/** The API view: ISO times, snake_case, secrets redacted, the file summarised. */
export function deliveryView(d: Delivery, history: Awaited<ReturnType<DeliveryStore['attempts']>> | undefined, redactor: Redaction) {
  const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
  const variables = { ...d.variables };
  if (typeof variables.FILE_DATA === 'string') variables.FILE_DATA = `<base64, ${variables.FILE_DATA.length} characters>`;
  return redactor.redactDeep({
    id: d.id,
    connector: d.connectorId,
    operation: d.operation,
    status: d.status,
    attempts: d.attempts,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    first_attempt_at: iso(d.firstAttemptAt),
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : undefined,
    deadline_at: iso((d.firstAttemptAt ?? d.createdAt) + d.policy.deadlineMs),
    idempotency_key: d.idempotencyKey,
    ordering_key: d.orderingKey,
    depends_on: d.dependsOn,
    variables,
    condition: d.condition,
    step: d.step,
    file: d.fileMeta,
    result: d.result,
    last_error: d.lastError,
    purged_at: iso(d.purgedAt),
    retry_policy: { profile: d.policy.profile, retryable_statuses: d.policy.retryableStatuses, deadline_hours: d.policy.deadlineMs / 3_600_000 },
    cursor: d.seq,
    ...(history
      ? {
          history: history.map((a) => ({
            n: a.n,
            at: new Date(a.at).toISOString(),
            request: a.request,
            status: a.status,
            network_error: a.networkError,
            classification: a.classification,
            reason: a.reason,
            duration_ms: a.durationMs,
          })),
        }
      : {}),
  });
}
