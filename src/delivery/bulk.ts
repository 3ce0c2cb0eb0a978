/**
 * Bulk batching, the call: the due writes of one connector and operation (one per session or
 * record at a time, the store's ordering rule) go to the CRM's bulk endpoint as one request,
 * through the same auth, pacing and classification as every CRM call (callRequest), and the
 * answer becomes one attempt outcome per delivery: its own history line, delivered or retried
 * on its own. An item the CRM refused is retried alone (through the endpoint itself, where the
 * CRM's own status for it is classified); an item the answer does not mention may have been
 * applied, so it is retried alone as ambiguous (dedupe looks first).
 */
import type { CompiledBatch, CompiledEndpoint, OperationName } from '../config/types';
import { GatewayError } from '../errors';
import { buildBatchRequest, jobProgress, mapBatchResults, renderBatchItem, type BatchItem } from '../operations/batch';
import { callRequest, type AttemptRecord } from '../operations/call';
import { failure, ID_VARIABLE } from '../operations/run';
import type { ConnectorRuntime } from '../operations/runtime';
import { prepareCall } from '../operations/variables';
import type { Logger } from '../util/logger';
import { readPath } from '../util/json-path';
import type { AttemptOutcome } from './decide';
import type { Delivery } from './types';

/** The code of an item the CRM refused inside a bulk call: its next try goes alone. */
export const BATCH_ITEM_FAILED = 'batch_item_failed';

/** Writes accepted during a window all become due at its end (windows aligned on the clock, so every replica agrees). */
export function bulkWindowEnd(t: number, windowMs: number): number {
  return Math.ceil(t / windowMs) * windowMs;
}

/** Whether a due delivery may go out inside a bulk call (else it goes alone, as before). */
export function bulkEndpoint(rt: ConnectorRuntime | undefined, d: Delivery): (CompiledEndpoint & { batch: CompiledBatch }) | undefined {
  if (!rt || d.ambiguous || d.fileMeta || d.condition || d.lastError?.code === BATCH_ITEM_FAILED) return undefined;
  if (d.operation !== 'update_record' && d.operation !== 'add_comment') return undefined;
  const ep = rt.connector.endpoints.get(d.operation);
  return ep?.batch ? (ep as CompiledEndpoint & { batch: CompiledBatch }) : undefined;
}

export interface BulkEntry {
  d: Delivery;
  /** The variables to send (the dependency's ids filled in; per-record batching merged). */
  variables: Record<string, unknown>;
  /** Per-record batching: followers whose content went out in this item. */
  absorbed?: string[];
}

/**
 * One entry's verdict: an attempt outcome, or 'alone' (it cannot share this call). itemFailed:
 * the CRM refused this item (its last_error says batch_item_failed, so the next try goes alone).
 */
export type BulkVerdict = { outcome: AttemptOutcome; ambiguous: boolean; itemFailed?: boolean } | 'alone';

export interface BulkOptions {
  logger: Logger;
  now: () => number;
  observe?: (connector: string, operation: string, outcome: string, ms: number) => void;
  /** How long the bulk call may wait for a rate-limit slot before every item goes back to the queue uncounted. */
  slotWaitMs?: number;
}

export async function sendBulk(
  rt: ConnectorRuntime,
  ep: CompiledEndpoint & { batch: CompiledBatch },
  entries: readonly BulkEntry[],
  o: BulkOptions,
): Promise<BulkVerdict[]> {
  const verdicts: BulkVerdict[] = new Array(entries.length);
  const items: Array<{ i: number; item: BatchItem }> = [];
  const keys = new Set<string>();
  for (const [i, e] of entries.entries()) {
    try {
      const item = renderBatchItem(rt.connector, ep, ep.batch, prepareCall(e.variables, rt.connector, ep, o.now()));
      // Two writes to the same object cannot share a call matched by id: the second waits for its own.
      if (item.key !== undefined && keys.has(item.key)) verdicts[i] = 'alone';
      else {
        if (item.key !== undefined) keys.add(item.key);
        items.push({ i, item });
      }
    } catch (error) {
      // Bad input for this write alone (a missing variable, an unusable phone number): it fails, the others go.
      verdicts[i] = { outcome: { ok: false, error, attempts: [] }, ambiguous: false };
    }
  }
  if (items.length === 0) return verdicts;
  const first = entries[items[0].i].d;
  const attempts: AttemptRecord[] = [];
  try {
    const request = buildBatchRequest(
      ep,
      ep.batch,
      items.map((x) => x.item),
    );
    const callOptions = {
      logger: o.logger,
      requestId: `bulk-${first.id}`,
      attempts,
      now: o.now,
      policy: first.policy,
      attempt: { attempt: first.backoffAttempts + 1, elapsedMs: o.now() - (first.firstAttemptAt ?? o.now()) },
      observe: o.observe,
      slotWaitMs: o.slotWaitMs,
    };
    const call = await callRequest(rt, ep, request, callOptions);
    // The first CRM call of this try and the last (a 401's resend, or a job's final poll), the last with this item's verdict.
    const lines = (classification: AttemptRecord['classification'], reason: string) => {
      const last = attempts.at(-1)!;
      return [
        ...(attempts.length > 1 ? [itemLine(attempts[0], ep.operation, attempts[0].classification, attempts[0].reason)] : []),
        itemLine(last, ep.operation, classification, reason),
      ];
    };
    const sent = attempts.at(-1)!;
    if (call.classification.kind !== 'ok') {
      // The whole call failed: every item is retried (each under its own attempts and backoff).
      const error = failure(ep, call, attempts);
      for (const { i } of items) verdicts[i] = { outcome: { ok: false, error, attempts: lines(sent.classification, sent.reason) }, ambiguous: false };
      return verdicts;
    }
    let answer = call.response.body;
    if (ep.batch.poll) {
      const job = await followJob(rt, ep, ep.batch.poll, request.url, answer, callOptions);
      if ('problem' in job) {
        // The CRM took the items but what became of each is not known: each is retried alone, looking first.
        const last = attempts.at(-1)!;
        for (const { i } of items)
          verdicts[i] = {
            outcome: {
              ok: false,
              error: new GatewayError('crm_request_failed', `${ep.operation}: ${job.problem}`),
              attempts: lines(last.classification === 'ok' ? 'retry' : last.classification, `${last.reason}; ${job.problem}`),
            },
            ambiguous: true,
          };
        return verdicts;
      }
      answer = job.body;
    }
    const done = attempts.at(-1)!;
    const results = mapBatchResults(
      ep.batch.results,
      answer,
      items.map((x) => x.item),
    );
    const idVar = ID_VARIABLE[ep.operation];
    items.forEach(({ i }, n) => {
      const r = results[n];
      const where = `item ${n + 1} of ${items.length} in one bulk call`;
      if (r.ok) {
        const id = idVar ? readPath(r.data, ep.idLocation) : undefined;
        const ids = idVar && id?.found && (typeof id.value === 'string' || typeof id.value === 'number') ? { [idVar]: id.value } : {};
        const absorbed = entries[i].absorbed;
        verdicts[i] = {
          outcome: {
            ok: true,
            result: { ids, outcome: 'ok', bulk: { items: items.length }, ...(absorbed?.length ? { merged: absorbed } : {}) },
            attempts: lines('ok', `${done.reason}; ${where}`),
            ...(absorbed?.length ? { absorbed } : {}),
          },
          ambiguous: false,
        };
      } else {
        verdicts[i] = {
          outcome: {
            ok: false,
            error: new GatewayError('crm_request_failed', `${ep.operation}: ${rt.redactor.redact(r.reason)} (${where}); retried alone`),
            attempts: lines('retry', rt.redactor.redact(`${done.reason}; ${where}: ${r.reason}`)),
          },
          ambiguous: r.ambiguous,
          itemFailed: true,
        };
      }
    });
  } catch (error) {
    // Nothing was sent (not authorized yet, a request that could not be built): every item waits.
    for (const { i } of items) verdicts[i] ??= { outcome: { ok: false, error, attempts: [...attempts] }, ambiguous: false };
  }
  return verdicts;
}

/**
 * An asynchronous bulk job: polls its URL (GET, same auth and classification) until its status
 * is done, answering the last poll's body; or why it could not be followed to the end. A poll
 * the CRM asks to repeat (429, 5xx, no answer) is repeated after the interval, within the timeout.
 */
async function followJob(
  rt: ConnectorRuntime,
  ep: CompiledEndpoint,
  poll: NonNullable<CompiledBatch['poll']>,
  bulkUrl: string,
  first: unknown,
  callOptions: Parameters<typeof callRequest>[3],
): Promise<{ body: unknown } | { problem: string }> {
  const now = callOptions.now ?? Date.now;
  const deadline = now() + poll.timeoutMs;
  const pollEndpoint: CompiledEndpoint = { ...ep, method: 'GET', notFoundStatuses: new Set() };
  let body = first;
  let url: string | undefined;
  for (;;) {
    const p = jobProgress(poll, body, bulkUrl);
    if (p.done) return { body };
    url = p.url ?? url;
    if (!url) return { problem: p.problem ?? 'the CRM did not say where to follow the job' };
    if (now() >= deadline) return { problem: `the bulk job was still ${p.status ?? 'running'} after ${poll.timeoutMs / 1000} s` };
    await new Promise((r) => setTimeout(r, poll.intervalMs));
    const r = await callRequest(
      rt,
      pollEndpoint,
      { method: 'GET', url, headers: { 'User-Agent': 'crm-gateway/0.1', Accept: 'application/json' }, body: { kind: 'none' }, dropped: [] },
      callOptions,
    );
    if (r.classification.kind === 'ok') body = r.response.body;
    else if (r.classification.kind !== 'retry') return { problem: `polling the bulk job failed: ${r.classification.reason}` };
  }
}

/** The bulk call's attempt line, as this item's own history entry. */
function itemLine(sent: AttemptRecord, op: OperationName, classification: AttemptRecord['classification'], reason: string): AttemptRecord {
  const line: AttemptRecord = { ...sent, operation: `${op}:batch`, classification, reason };
  return Object.defineProperty(line, 'atMs', { value: sent.atMs, enumerable: false });
}
