/**
 * One endpoint call: render → auth → send → (401: refresh once, resend once) → classify.
 * Records an attempt line for the caller and a log line per CRM call.
 */
import type { CompiledEndpoint, RetryPolicy } from '../config/types';
import { classify, type Classification } from '../http/classify';
import { send, type CrmResponse } from '../http/send';
import type { Logger } from '../util/logger';
import type { Redaction } from '../util/redact';
import { buildRequest, previewRequest, type FileInput, type RenderedRequest } from './request';
import type { ConnectorRuntime } from './runtime';

export interface AttemptRecord {
  operation: string;
  request: string;
  status?: number;
  network_error?: string;
  classification: Classification['kind'];
  reason: string;
  duration_ms: number;
  /** ISO 8601, for the API view. */
  at: string;
  /**
   * The same time in ms since epoch, for the durable worker. Not enumerable: not part of the
   * API view (JSON), and absent on copies.
   */
  readonly atMs?: number;
}

export interface CallResult {
  request: RenderedRequest;
  response: CrmResponse;
  classification: Classification;
  /** The masking of the gateway that made the call, for the problem built from it. */
  redactor: Redaction;
}

export interface CallOptions {
  logger: Logger;
  requestId?: string;
  attempts: AttemptRecord[];
  now?: () => number;
  /** For durable deliveries: which try this is and how long since the first, for backoff and deadline. */
  attempt?: { attempt: number; elapsedMs: number };
  /** The policy stored with a durable delivery (a config reload does not change writes in flight). */
  policy?: RetryPolicy;
  /**
   * Rate limit: the longest the first call of this operation may wait for a slot (durable
   * deliveries wait briefly, then go back to the queue); later calls, and sync calls, wait up
   * to the connector timeout.
   */
  slotWaitMs?: number;
  /** Metrics hook: one call per CRM request. */
  observe?: (connector: string, operation: string, outcome: string, ms: number) => void;
}

export async function callEndpoint(
  rt: ConnectorRuntime,
  ep: CompiledEndpoint,
  vars: Record<string, unknown>,
  file: FileInput | undefined,
  opts: CallOptions,
): Promise<CallResult> {
  return callRequest(rt, ep, buildRequest(rt.connector, ep, vars, file), opts);
}

/** A request built elsewhere (a bulk batch's): the same auth, 401 refresh and classification as every call. */
export async function callRequest(rt: ConnectorRuntime, ep: CompiledEndpoint, request: RenderedRequest, opts: CallOptions): Promise<CallResult> {
  let sent = await sendWithAuth(rt, request, opts, ep);
  if (sent.response.status === 401 && (await rt.auth.onUnauthorized())) {
    // The token may have been revoked or expired early: one refresh, one resend.
    sent = await sendWithAuth(rt, request, opts, ep);
  }
  return { request, ...sent, redactor: rt.redactor };
}

async function sendWithAuth(
  rt: ConnectorRuntime,
  request: RenderedRequest,
  opts: CallOptions,
  ep: CompiledEndpoint,
): Promise<{ response: CrmResponse; classification: Classification }> {
  const headers = { ...request.headers };
  if (opts.requestId) headers['X-Request-Id'] = opts.requestId;
  // The slot comes first (a wait can be long; the token applied after it is the fresh one).
  // Unpaced connectors skip this without an await.
  let slot: (() => void) | undefined;
  let waitedMs = 0;
  if (rt.limiter.limited) {
    const asked = opts.now?.() ?? Date.now();
    const maxWait = opts.slotWaitMs !== undefined && opts.attempts.length === 0 ? opts.slotWaitMs : rt.connector.timeoutMs;
    slot = await rt.limiter.acquire(ep.operation, asked + maxWait);
    waitedMs = (opts.now?.() ?? Date.now()) - asked;
  }
  let response: CrmResponse;
  let sentAt: number;
  try {
    await rt.auth.apply(headers);
    // An attempt's time is when the request went out: an object the CRM created during a try
    // that then timed out was created after this, and recovery compares creation times with it.
    sentAt = opts.now?.() ?? Date.now();
    response = await send(rt.http, request, headers);
  } finally {
    slot?.();
  }
  if (slot) rt.limiter.observe(ep.operation, response.status, response.headers);
  const now = opts.now?.() ?? Date.now();
  const classification = classify(response, opts.policy ?? rt.connector.retry, {
    attempt: opts.attempt?.attempt ?? 1,
    elapsedMs: opts.attempt?.elapsedMs ?? 0,
    notFoundStatuses: ep.notFoundStatuses,
    now,
  });
  const line = `${request.method} ${rt.redactor.redact(stripQuery(request.url))}`;
  opts.attempts.push(
    withTime(
      {
        operation: ep.operation,
        request: line,
        ...(response.status !== undefined ? { status: response.status } : { network_error: response.networkError }),
        classification: classification.kind,
        reason: rt.redactor.redact(waitedMs >= 1 ? `${classification.reason} (waited ${Math.round(waitedMs)} ms for the rate limit)` : classification.reason),
        duration_ms: Math.round(response.durationMs * 10) / 10,
        at: new Date(sentAt).toISOString(),
      },
      sentAt,
    ),
  );
  opts.observe?.(rt.connector.id, ep.operation, classification.kind, response.durationMs);
  opts.logger.info(
    {
      connector: rt.connector.id,
      operation: ep.operation,
      request: line,
      status: response.status,
      network_error: response.networkError,
      classification: classification.kind,
      reason: classification.reason,
      duration_ms: Math.round(response.durationMs),
      request_id: opts.requestId,
    },
    'crm call',
  );
  return { response, classification };
}

function withTime(a: AttemptRecord, atMs: number): AttemptRecord {
  return Object.defineProperty(a, 'atMs', { value: atMs, enumerable: false });
}

/** Query strings carry personal data (phone, email searches); attempt lines keep the path only. */
function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : `${url.slice(0, i)}?…`;
}

export { previewRequest };
