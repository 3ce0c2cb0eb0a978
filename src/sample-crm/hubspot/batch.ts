/**
 * HubSpot's batch update, as the real API answers it:
 *
 *   POST /crm/v3/objects/{type}/batch/update   {"inputs": [{"id": "…", "properties": {…}}, …]}   (≤ 100 inputs)
 *
 * 200 {"status":"COMPLETE","results":[object…],"startedAt","completedAt"} when every input was
 * applied; 207 with "numErrors" and "errors": [{"status":"error","category":…,"message":…,
 * "context":{"ids":[…]}}] beside the results of the others when some failed (unknown id,
 * invalid property). A whole request that is malformed (no inputs, more than 100, an input
 * without id) is a 400 VALIDATION_ERROR and changes nothing.
 *
 * HubSpot does not promise the results in the order of the inputs; this sample answers them in
 * reverse order, so a connector that maps results by position (not by id) shows its mistake.
 *
 * Tests make given ids fail inside a batch with failInBatch(ids, times) (HubSpotHelpers).
 */
import express, { type Router } from 'express';
import { bodyOf, isRecord } from '../common/body';
import { HubSpotError, validation } from './errors';
import { objectTypeFrom } from './schema';
import { objectJson } from './serialize';
import { iso, type HubSpotStore } from './store';

export const MAX_BATCH_INPUTS = 100;

/** Ids whose next `times` batch updates fail (an injected per-item fault), per sample CRM. */
const failures = new WeakMap<HubSpotStore, Map<string, number>>();

export function failInBatch(store: HubSpotStore, ids: readonly string[], times = 1): void {
  let m = failures.get(store);
  if (!m) failures.set(store, (m = new Map()));
  for (const id of ids) m.set(String(id), times);
}

function injectedFailure(store: HubSpotStore, id: string): boolean {
  const m = failures.get(store);
  const left = m?.get(id);
  if (!left) return false;
  if (left <= 1) m!.delete(id);
  else m!.set(id, left - 1);
  return true;
}

export function hubspotBatchRouter(store: HubSpotStore): Router {
  const router = express.Router();
  router.post('/crm/v3/objects/:objectType/batch/update', (req, res) => {
    const def = objectTypeFrom(String(req.params.objectType));
    if (!def) throw validation(`Unable to infer object type from: ${String(req.params.objectType)}`);
    const body = bodyOf(req);
    const inputs = body.kind === 'json' && isRecord(body.value) ? body.value.inputs : undefined;
    if (!Array.isArray(inputs) || inputs.length === 0) throw validation("Invalid input JSON: Missing required creator property 'inputs'");
    if (inputs.length > MAX_BATCH_INPUTS) throw validation(`Batch input is limited to ${MAX_BATCH_INPUTS} inputs, got ${inputs.length}`);
    if (inputs.some((x) => !isRecord(x) || (typeof x.id !== 'string' && typeof x.id !== 'number')))
      throw validation("Invalid input JSON: every input needs an 'id'");
    const startedAt = iso(store.clock());
    const results: unknown[] = [];
    const errors: Array<Record<string, unknown>> = [];
    for (const input of inputs as Array<{ id: string | number; properties?: unknown }>) {
      const id = String(input.id);
      try {
        if (injectedFailure(store, id))
          throw new HubSpotError(400, 'VALIDATION_ERROR', `Property values were not valid for ${def.singular.toUpperCase()} ${id} (injected failure)`);
        results.push(objectJson(store, def, store.update(def.name, id, { properties: input.properties }), { all: true }));
      } catch (e) {
        if (!(e instanceof HubSpotError)) throw e;
        const notFound = e.status === 404;
        errors.push({
          status: 'error',
          category: notFound ? 'OBJECT_NOT_FOUND' : e.body.category,
          message: notFound
            ? `Could not get some ${def.singular.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`
            : e.message,
          context: { ids: [id] },
        });
      }
    }
    const completed = { status: 'COMPLETE', results: results.reverse(), startedAt, completedAt: iso(store.clock()) };
    if (errors.length === 0) res.json(completed);
    else res.status(207).json({ ...completed, numErrors: errors.length, errors });
  });
  return router;
}
