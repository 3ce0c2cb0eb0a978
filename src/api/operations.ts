/**
 * POST /v1/connectors/{id}/operations/{operation}, without the web framework: the express route
 * and the fast lane (fast-lane.ts) both hand a parsed request to handleOperation() and write
 * the answer it returns, so the two paths cannot drift apart.
 */
import Ajv2020 from 'ajv/dist/2020';
import operationRequestSchema from '../../schemas/operation-request.schema.json';
import { FILE_KINDS, OPERATIONS, type FileKind } from '../config/types';
import type { DeliveryService } from '../delivery/service';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import type { FileInput } from '../operations/request';
import { isOperationName, runOperation } from '../operations/run';
import { checkHeaderVariables } from './header-values';
import { checkUrlVariables } from './url-values';
import { checkVariableNames, checkWellFormed } from './input-bounds';

export interface OperationRequest {
  connectorId: string;
  operation: string;
  /** `?async=` and `?dry_run=` when given exactly once. */
  async?: string;
  dryRun?: string;
  idempotencyKey?: string;
  prefer?: string;
  /**
   * The JSON body, or the multipart fields reassembled as `{variables, depends_on, ordering_key}`;
   * read after the connector and operation are known to exist (their 404s come first).
   */
  body: () => unknown;
  /** The multipart `file` part. */
  upload?: { data: Buffer; name: string; type: string };
  requestId: string;
}

export interface OperationAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const validateOperationRequest = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(operationRequestSchema);

const isTrue = (v: string | undefined) => v === 'true' || v === '1';

export async function handleOperation(gw: Gateway, deliveries: DeliveryService | undefined, r: OperationRequest): Promise<OperationAnswer> {
  const rt = gw.runtime(r.connectorId);
  const op = r.operation;
  if (!isOperationName(op))
    throw new GatewayError('operation_not_found', `unknown operation "${op}"; operations are ${OPERATIONS.join(', ')}`, { operation: op });
  const { variables, file, dependsOn, orderingKey: callerKey } = operationInput(r.body(), r.upload);
  const ep = rt.connector.endpoints.get(op);
  if (ep) {
    checkHeaderVariables(rt.connector, ep, variables, 'variables.');
    checkUrlVariables(rt.connector, ep, variables, 'variables.');
  }
  // Ordering keys live in the connector's namespace: a key naming another connector's key
  // (or a session's) cannot hold that connector's writes.
  const orderingKey = callerKey === undefined ? undefined : `${rt.connector.id}:${callerKey}`;
  const async = isTrue(r.async) || /\brespond-async\b/.test(r.prefer ?? '');
  const dryRun = isTrue(r.dryRun);
  const idempotencyKey = r.idempotencyKey;
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw new GatewayError('validation_failed', 'Idempotency-Key must be 1-255 visible ASCII characters', {
      errors: [{ field: 'Idempotency-Key', message: 'invalid' }],
    });
  }
  if ((async || idempotencyKey || dependsOn || orderingKey) && !dryRun) {
    if (!deliveries) throw new GatewayError('bad_request', 'durable delivery is not enabled on this gateway');
    const { delivery, created } = await deliveries
      .accept(rt.connector.id, op, { variables, file }, { idempotencyKey, dependsOn, orderingKey, bulkWindow: async })
      .catch(storeFailure);
    const headers = { Location: `/v1/deliveries/${delivery.id}` };
    if (!async) {
      // A synchronous write with an Idempotency-Key: durable first, then wait briefly for the outcome.
      const settled = await deliveries.waitFor(delivery.id, rt.connector.timeoutMs * 2 + 1000, delivery);
      return {
        status: settled.status === 'pending' || settled.status === 'running' ? 202 : 200,
        headers,
        body: { ...deliveries.view(settled), replayed: !created },
      };
    }
    return { status: created ? 202 : 200, headers, body: { ...deliveries.view(delivery), replayed: !created } };
  }
  const result = await runOperation(
    rt,
    op,
    { variables, file },
    {
      dryRun,
      logger: gw.logger,
      observe: gw.observe,
      requestId: r.requestId,
      now: gw.now,
    },
  );
  return { status: 200, headers: {}, body: result };
}

/** The store could not commit the write: nothing was accepted, the caller should retry. */
function storeFailure(e: unknown): never {
  if (e instanceof GatewayError) throw e;
  if ((e as { code?: string }).code === 'ESTORESYNC') {
    // Committed but not provably on disk: it may be delivered. Only a retry with the same key is safe.
    throw new GatewayError(
      'store_unavailable',
      `${(e as Error).message}; the write may have been stored: retry it with the same Idempotency-Key`,
      {},
      { cause: e },
    );
  }
  throw new GatewayError('store_unavailable', 'the delivery store did not accept the write; nothing was stored, retry the request', {}, { cause: e });
}

/** `{variables, depends_on?, ordering_key?}` checked against schemas/operation-request.schema.json, plus the file. */
export function operationInput(
  raw: unknown,
  upload?: OperationRequest['upload'],
): { variables: Record<string, unknown>; file?: FileInput; dependsOn?: string; orderingKey?: string } {
  const body = raw ?? {};
  // Counted before the schema check or any per-name work ("did you mean" suggestions).
  if (typeof body === 'object') checkVariableNames((body as { variables?: unknown }).variables);
  if (!validateOperationRequest(body)) {
    const errors = (validateOperationRequest.errors ?? []).map((e) => ({
      field: (e.instancePath.slice(1).replace(/\//g, '.') || (e.params as { additionalProperty?: string }).additionalProperty) ?? '(body)',
      message: e.message ?? e.keyword,
    }));
    throw new GatewayError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
  checkWellFormed(body, '');
  const { depends_on: dependsOn, ordering_key: orderingKey } = body as { depends_on?: string; ordering_key?: string };
  const variables = { ...((body as { variables?: Record<string, unknown> }).variables ?? {}) };
  // The gateway stamps a durable create's own id there; a caller who could set it could make
  // its object pass for another write's in recovery.
  if (variables.CREATED_MARKER !== undefined) {
    throw new GatewayError('validation_failed', 'variables.CREATED_MARKER: set by the gateway on durable creates, not by callers', {
      errors: [{ field: 'variables.CREATED_MARKER', message: 'reserved for the gateway' }],
    });
  }
  let file: FileInput | undefined;
  const kind = typeof variables.FILE_KIND === 'string' ? variables.FILE_KIND : undefined;
  if (kind !== undefined && !(FILE_KINDS as readonly string[]).includes(kind)) {
    throw new GatewayError('validation_failed', `variables.FILE_KIND: must be one of ${FILE_KINDS.join(', ')}`, {
      errors: [{ field: 'variables.FILE_KIND', message: 'unknown file kind' }],
    });
  }
  if (upload) {
    file = {
      data: upload.data,
      name: String(variables.FILE_NAME ?? upload.name),
      type: String(variables.FILE_TYPE ?? upload.type),
      kind: kind as FileKind | undefined,
    };
    variables.FILE_NAME ??= file.name;
    variables.FILE_TYPE ??= file.type;
  } else if (typeof variables.FILE_DATA === 'string') {
    const data = variables.FILE_DATA;
    // The lookahead makes the run atomic: no backtracking between it and the trailing space (linear).
    if (!/^(?=([A-Za-z0-9+/\r\n]*))\1={0,2}\s*$/.test(data))
      throw new GatewayError('validation_failed', 'variables.FILE_DATA: must be base64', { errors: [{ field: 'variables.FILE_DATA', message: 'not base64' }] });
    file = {
      data: Buffer.from(data, 'base64'),
      name: String(variables.FILE_NAME ?? 'file'),
      type: String(variables.FILE_TYPE ?? 'application/octet-stream'),
      kind: kind as FileKind | undefined,
    };
  }
  return { variables, file, dependsOn, orderingKey };
}
