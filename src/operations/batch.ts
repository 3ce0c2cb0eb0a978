/**
 * Bulk batching, the pure parts: one delivery's variables → its item (and the id its result is
 * matched by), the items → the bulk request, and the CRM's answer → one result per item.
 * No I/O: the durable worker collects the writes and makes the call.
 */
import type { CompiledBatch, CompiledEndpoint, Connector } from '../config/types';
import { renderLongText } from '../template/long-text';
import { DROP, ESCAPERS, renderNode, renderUrl, stringify, type RenderScope } from '../template/render';
import type { Variables } from '../template/variables';
import { formatJsonPath, readPath, type JsonPath } from '../util/json-path';
import type { RenderedRequest } from './request';

export interface BatchItem {
  /** What goes into the items array. */
  value: unknown;
  /** match: id — the id the CRM's result for this item carries. */
  key?: string;
}

export type ItemResult =
  | { ok: true; data: unknown }
  /** ambiguous: the CRM's answer does not say what became of the item (it may have been applied). */
  | { ok: false; reason: string; ambiguous: boolean };

/** Renders one item from a delivery's prepared variables, like the endpoint's params would be. */
export function renderBatchItem(c: Connector, ep: CompiledEndpoint, batch: CompiledBatch, vars: Variables): BatchItem {
  const escape = c.settings.escapeValues === 'none' ? undefined : ESCAPERS[c.settings.escapeValues];
  const scope: RenderScope = { vars, html: c.settings.convertTextToHtml, missing: new Set(), renderLongText, escape };
  const node = batch.item ?? ep.params;
  const rendered = node ? renderNode(node, scope) : DROP;
  const value = rendered === DROP ? {} : rendered;
  if (!batch.results.itemId) return { value };
  const key = renderNode(batch.results.itemId, { ...scope, escape: undefined });
  return { value, ...(key === DROP ? {} : { key: stringify(key) }) };
}

/** One bulk request for the items, in order. Endpoint headers are rendered without variables (one request, many writes). */
export function buildBatchRequest(ep: CompiledEndpoint, batch: CompiledBatch, items: readonly BatchItem[]): RenderedRequest {
  const headers: Record<string, string> = { 'User-Agent': 'crm-gateway/0.1', Accept: 'application/json', 'Content-Type': 'application/json' };
  for (const [name, node] of ep.headers) {
    const v = renderNode(node, { vars: {}, html: false, missing: new Set() });
    if (v !== DROP) headers[name] = stringify(v);
  }
  const body: Record<string, unknown> = {};
  let at = body;
  batch.itemsLocation.forEach((key, i) => {
    if (i === batch.itemsLocation.length - 1) at[key] = items.map((x) => x.value);
    else at = (at[key] = {}) as Record<string, unknown>;
  });
  return { method: batch.method, url: renderUrl(batch.url, {}, `${ep.operation} batch url`), headers, body: { kind: 'json', value: body }, dropped: [] };
}

/**
 * The CRM's successful (2xx) answer → a result per item, in the items' order. An item the
 * answer names as failed fails; an item it does not mention is ambiguous (it may have been
 * applied), so its next try goes alone and looks first where the endpoint can (dedupe).
 */
export function mapBatchResults(spec: CompiledBatch['results'], body: unknown, items: readonly BatchItem[]): ItemResult[] {
  const results = listAt(body, spec.location);
  const errors = spec.errorsLocation ? (listAt(body, spec.errorsLocation) ?? []) : [];
  if (!results && errors.length === 0) {
    const reason = `the CRM's bulk answer has no result list at ${formatJsonPath(spec.location)}`;
    return items.map(() => ({ ok: false, reason, ambiguous: true }));
  }
  const list = results ?? [];
  if (spec.match === 'position') {
    // results[i] is item i's only when there is exactly one result per item: a CRM that leaves
    // failed items out of the list (or adds any) shifts every later one onto the wrong write.
    // Then no item's fate is known: each is retried alone, its dedupe check first.
    if (list.length !== items.length) {
      const reason = `the CRM's bulk answer has ${list.length} result${list.length === 1 ? '' : 's'} for ${items.length} items, so with results.match: position which is whose cannot be known (match: id can tell)`;
      return items.map(() => ({ ok: false, reason, ambiguous: true }));
    }
    return items.map((_, i) => itemVerdict(spec, list[i]));
  }
  const failedById = new Map<string, string>();
  for (const e of errors) {
    const ids = readPath(e, spec.errorIdsLocation);
    const message = messageOf(e, spec.errorMessageLocation);
    for (const id of ids.found ? (Array.isArray(ids.value) ? ids.value : [ids.value]) : []) failedById.set(String(id), message);
  }
  const byId = new Map<string, unknown>();
  for (const r of list) {
    const id = readPath(r, spec.idLocation);
    if (id.found) byId.set(String(id.value), r);
  }
  return items.map((item) => {
    const failed = item.key === undefined ? undefined : failedById.get(item.key);
    if (failed !== undefined) return { ok: false, reason: `the CRM refused this item: ${failed}`, ambiguous: false };
    if (item.key !== undefined && byId.has(item.key)) return itemVerdict(spec, byId.get(item.key));
    return { ok: false, reason: `the CRM's bulk answer has no result for id ${item.key ?? '(none)'}`, ambiguous: true };
  });
}

function itemVerdict(spec: CompiledBatch['results'], result: unknown): ItemResult {
  if (spec.errorLocation) {
    const e = readPath(result, spec.errorLocation);
    if (e.found && e.value !== null && e.value !== '' && e.value !== false) {
      const m = readPath(result, spec.errorMessageLocation);
      const detail = m.found ? messageOf(result, spec.errorMessageLocation) : typeof e.value === 'string' ? e.value : JSON.stringify(e.value);
      return { ok: false, reason: `the CRM refused this item: ${detail}`, ambiguous: false };
    }
  }
  if (spec.successLocation) {
    const s = readPath(result, spec.successLocation);
    if (s.found && s.value === false)
      return { ok: false, reason: `the CRM refused this item: ${messageOf(result, spec.errorMessageLocation)}`, ambiguous: false };
  }
  return { ok: true, data: result };
}

function listAt(body: unknown, path: JsonPath): unknown[] | undefined {
  const r = readPath(body, path);
  return r.found && Array.isArray(r.value) ? r.value : undefined;
}

function messageOf(v: unknown, path: JsonPath): string {
  const m = readPath(v, path);
  const text = !m.found ? JSON.stringify(v) : typeof m.value === 'string' ? m.value : JSON.stringify(m.value);
  return (text ?? 'no message').slice(0, 500);
}

export interface JobProgress {
  /** The job reached one of poll.done. */
  done: boolean;
  status?: string;
  /** Where to poll next; undefined when the answer does not say (or names another origin). */
  url?: string;
  /** Why the job cannot be followed, when it cannot. */
  problem?: string;
}

/**
 * An asynchronous bulk job's answer (the bulk call's, or a poll's) → done or not, and the URL
 * to poll. The URL must be on the bulk URL's origin: the CRM's answer does not get to send the
 * connector's credentials elsewhere.
 */
export function jobProgress(poll: NonNullable<CompiledBatch['poll']>, body: unknown, bulkUrl: string): JobProgress {
  const st = readPath(body, poll.statusLocation);
  const status = st.found && (typeof st.value === 'string' || typeof st.value === 'number') ? String(st.value) : undefined;
  const done = status !== undefined && poll.done.has(status);
  const u = readPath(body, poll.urlLocation);
  if (!u.found || typeof u.value !== 'string') return { done, status, problem: `the CRM's answer has no job URL at ${formatJsonPath(poll.urlLocation)}` };
  let url: URL;
  try {
    url = new URL(u.value, bulkUrl);
  } catch {
    return { done, status, problem: "the job URL in the CRM's answer is not a URL" };
  }
  if (url.origin !== new URL(bulkUrl).origin) return { done, status, problem: `the job URL is on ${url.origin}, not on the bulk URL's origin` };
  return { done, status, url: url.toString() };
}
