/**
 * Compiles an endpoint's `batch:` (the CRM's bulk endpoint): checks what the schema cannot
 * (which operations may batch, a URL without per-item variables, the result mapping that fits
 * the match mode) and reports each problem at its YAML path.
 */
import type { TemplateNode, TextPart } from '../template/compile';
import type { JsonPath } from '../util/json-path';
import type { PathSegment } from './yaml-source';
import type { BatchFile, CompiledBatch, OperationName } from './types';

/** Writes that change an existing object: sending them in bulk cannot create duplicates of it. */
export const BATCHABLE_OPERATIONS: ReadonlySet<OperationName> = new Set(['update_record', 'add_comment']);
export const MAX_BATCH_ITEMS = 1000;
export const DEFAULT_BATCH_WINDOW_SECONDS = 5;

/** What the connector compiler lends this module (its error reporting and template compilers). */
export interface BatchCompiler {
  error(p: PathSegment[], message: string): void;
  compileUrlText(value: string, p: PathSegment[]): TextPart[];
  compileTemplate(value: unknown, p: PathSegment[]): TemplateNode;
  path(src: unknown, p: PathSegment[], fallback?: JsonPath): JsonPath;
  /** The endpoint URL resolved against base_url (errors reported by the caller's rules). */
  absoluteUrl(url: string, p: PathSegment[]): string;
  line(p: PathSegment[]): number | undefined;
  /** Issues so far: batch: compiles to nothing when it added errors. */
  readonly issues: ReadonlyArray<{ severity?: string }>;
}

export function compileBatch(
  k: BatchCompiler,
  op: OperationName,
  b: BatchFile,
  p: PathSegment[],
  flowsWindowSeconds: number | undefined,
): CompiledBatch | undefined {
  if (!BATCHABLE_OPERATIONS.has(op)) {
    k.error(p, `batch is for ${[...BATCHABLE_OPERATIONS].join(' and ')}; ${op} is always sent alone`);
    return undefined;
  }
  const before = errorCount(k);
  const url = k.compileUrlText(k.absoluteUrl(b.url, [...p, 'url']), [...p, 'url']);
  if (url.some((x) => typeof x !== 'string'))
    k.error([...p, 'url'], 'the bulk URL is one for all items: it cannot hold a {VARIABLE} (put per-item values in item:)');
  const itemsLocation = String(b.items_location ?? '')
    .split('.')
    .filter(Boolean);
  if (itemsLocation.length === 0) k.error([...p, 'items_location'], 'items_location names where the items array goes in the body, e.g. inputs');
  const item = b.item && typeof b.item === 'object' ? k.compileTemplate(b.item, [...p, 'item']) : undefined;
  const r = b.results ?? ({} as BatchFile['results']);
  const rp = [...p, 'results'];
  let itemId: TemplateNode | undefined;
  if (r.match === 'id') {
    if (typeof r.item_id !== 'string') k.error([...rp, 'item_id'], 'match: id needs item_id, the item\'s id as a template (e.g. "{RECORD_ID}")');
    else itemId = k.compileTemplate(r.item_id, [...rp, 'item_id']);
  } else if (r.item_id !== undefined || r.errors_location !== undefined) {
    k.error([...rp, r.item_id !== undefined ? 'item_id' : 'errors_location'], 'item_id and errors_location need match: id (errors name the ids they concern)');
  }
  const window = b.window_seconds ?? flowsWindowSeconds ?? DEFAULT_BATCH_WINDOW_SECONDS;
  // The schema bounds batch.window_seconds itself; a window taken from flows.batching is clamped to the same 1–60 s.
  const windowSeconds = Math.min(60, Math.max(1, window));
  const pp = [...p, 'poll'];
  const poll =
    b.poll && typeof b.poll === 'object'
      ? {
          urlLocation: k.path(b.poll.url_location, [...pp, 'url_location']),
          statusLocation: k.path(b.poll.status_location, [...pp, 'status_location']),
          done: new Set((b.poll.done ?? []).map(String)),
          intervalMs: Math.round((b.poll.interval_seconds ?? 1) * 1000),
          timeoutMs: Math.round((b.poll.timeout_seconds ?? 60) * 1000),
        }
      : undefined;
  const compiled: CompiledBatch = {
    method: b.method ?? 'POST',
    url,
    itemsLocation,
    item,
    maxItems: b.max_items ?? 100,
    windowMs: Math.round(windowSeconds * 1000),
    ...(poll ? { poll } : {}),
    results: {
      location: k.path(r.location, [...rp, 'location']),
      match: r.match === 'id' ? 'id' : 'position',
      idLocation: k.path(r.id_location ?? 'id', [...rp, 'id_location'], ['id']),
      itemId,
      successLocation: r.success_location === undefined ? undefined : k.path(r.success_location, [...rp, 'success_location']),
      errorLocation: r.error_location === undefined ? undefined : k.path(r.error_location, [...rp, 'error_location']),
      errorsLocation: r.errors_location === undefined ? undefined : k.path(r.errors_location, [...rp, 'errors_location']),
      errorIdsLocation: k.path(r.error_ids_location ?? 'context.ids', [...rp, 'error_ids_location'], ['context', 'ids']),
      errorMessageLocation: k.path(r.error_message_location ?? 'message', [...rp, 'error_message_location'], ['message']),
    },
    line: k.line(p),
  };
  return errorCount(k) === before ? compiled : undefined;
}

function errorCount(k: BatchCompiler): number {
  return k.issues.filter((i) => i.severity !== 'warning').length;
}
