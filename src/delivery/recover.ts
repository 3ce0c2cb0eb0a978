/**
 * After a try of a create that may have reached the CRM (no answer came back), find out
 * whether it did, without ever taking another object for ours:
 *   - with a created marker: search by the marker this write stamped on its object; the
 *     object that carries it is ours, no object carrying it means it was not created;
 *   - without one: only an object created since the first try whose fields equal what was
 *     sent counts as ours; no object created since then means it was not created;
 *   - anything else (several candidates, a candidate that differs, objects whose creation time
 *     cannot be read, no search at all) is unknown: the delivery waits for an operator.
 * A search that fails throws (the CrmFailure of the find): the try is retried, still ambiguous.
 */
import { FIND_FOR_CREATE, type CompiledEndpoint } from '../config/types';
import { callEndpoint, type AttemptRecord, type CallOptions } from '../operations/call';
import { GatewayError } from '../errors';
import { sortKey } from '../http/match-guard';
import { failure, ID_VARIABLE, isCrmFailure, searchHasNoValues } from '../operations/run';
import type { ConnectorRuntime } from '../operations/runtime';
import { prepareCall } from '../operations/variables';
import { renderLongText } from '../template/long-text';
import { deriveVariables } from '../template/derived';
import { DROP, renderNode } from '../template/render';
import { readPath, type JsonPath } from '../util/json-path';
import type { RecoveryEvidence } from './types';

/** Thrown by a composite step (resolve_record) whose recovery could not conclude: the delivery becomes unknown_outcome. */
export class UnknownOutcome extends Error {
  constructor(
    readonly evidence: RecoveryEvidence,
    readonly attempts: AttemptRecord[],
  ) {
    super(`unknown outcome: ${evidence.rule}`);
    this.name = 'UnknownOutcome';
  }
}

export type Recovery =
  | { kind: 'found'; ids: Record<string, string | number>; by: string }
  | { kind: 'absent'; by: string }
  | { kind: 'unknown'; evidence: RecoveryEvidence };

/**
 * The CRM's clock and ours differ, and CRMs store creation times in whole seconds: an object
 * created this long before our first try may still be ours.
 */
const CLOCK_TOLERANCE_MS = 2000;

export function isRecoverableCreate(op: string): op is 'create_account' | 'create_record' {
  return op in FIND_FOR_CREATE;
}

export interface RecoverInput {
  rt: ConnectorRuntime;
  op: 'create_account' | 'create_record';
  /** The variables the create is sent with (CREATED_MARKER included when the endpoint has a marker). */
  variables: Record<string, unknown>;
  marker: string;
  /** When the first try started (ms): an object created before it is not this write's. */
  firstAttemptAt?: number;
  opts: Omit<CallOptions, 'attempts'>;
  attempts: AttemptRecord[];
}

export async function recoverCreate(i: RecoverInput): Promise<Recovery> {
  try {
    return await recover(i);
  } catch (e) {
    // The CRM's failure to answer a search: the try is retried, still ambiguous.
    if (isCrmFailure(e) || !(e instanceof GatewayError)) throw e;
    // The search cannot even be made (a variable it needs is missing or invalid): nothing can
    // show what the earlier try did, which is for an operator to settle, not a dead write.
    return { kind: 'unknown', evidence: { rule: `the search that would show whether the create reached the CRM cannot be made: ${e.message}`, found: [] } };
  }
}

async function recover(i: RecoverInput): Promise<Recovery> {
  const c = i.rt.connector;
  const create = c.endpoints.get(i.op)!;
  if (create.createdMarker) return byMarker(i, create.createdMarker);
  const findOp = FIND_FOR_CREATE[i.op]!;
  const find = c.endpoints.get(findOp);
  if (!find?.usable) {
    return {
      kind: 'unknown',
      evidence: { rule: `no created_marker on ${i.op} and no ${findOp} endpoint: nothing can show whether the create reached the CRM`, found: [] },
    };
  }
  return byFields(i, create, find);
}

async function byMarker(i: RecoverInput, m: NonNullable<CompiledEndpoint['createdMarker']>): Promise<Recovery> {
  const items = await search(i, m.find, { ...i.variables, CREATED_MARKER: i.marker });
  const carrying = items.filter((item) => scalar(readPath(item, m.location)) === i.marker);
  const by = 'created_marker';
  if (carrying.length === 0) return { kind: 'absent', by };
  const ids = carrying.map((item) => idOf(item, m.find.idLocation));
  if (carrying.length === 1 && ids[0] !== undefined) return { kind: 'found', ids: { [ID_VARIABLE[i.op]!]: ids[0] }, by };
  return {
    kind: 'unknown',
    evidence: {
      rule:
        carrying.length > 1
          ? `${carrying.length} objects carry this write's created marker (duplicates already exist in the CRM)`
          : `the object carrying the created marker has no id at ${m.find.idLocationSource}`,
      searched: describe(m.find),
      marker: i.marker,
      found: carrying.map((_, n) => ({ id: ids[n] ?? '?', marker_match: true })),
    },
  };
}

async function byFields(i: RecoverInput, create: CompiledEndpoint, findEndpoint: CompiledEndpoint): Promise<Recovery> {
  const { find, items, searched } = await searchInOrder(i, findEndpoint);
  if (!searched) {
    return {
      kind: 'unknown',
      evidence: {
        rule: `no created_marker, and none of ${findEndpoint.operation}'s searches has a value to search by: nothing can show whether the create reached the CRM`,
        found: [],
      },
    };
  }
  const sent = sentFields(i, create);
  const since = i.firstAttemptAt === undefined ? undefined : i.firstAttemptAt - CLOCK_TOLERANCE_MS;
  const seen = items.map((item) => {
    const created = createdAt(item, find.sortBy);
    return { item, id: idOf(item, find.idLocation), created, fieldsMatch: fieldsMatch(item, sent) };
  });
  const evidence = (rule: string): Recovery => ({
    kind: 'unknown',
    evidence: {
      rule,
      searched: describe(find),
      ...(i.firstAttemptAt !== undefined ? { first_attempt_at: new Date(i.firstAttemptAt).toISOString() } : {}),
      found: seen.map((s) => ({
        id: s.id ?? '?',
        ...(s.created !== undefined ? { created_at: new Date(s.created).toISOString() } : {}),
        fields_match: s.fieldsMatch,
      })),
    },
  });
  const rule = "no created_marker: only an object created since the first try whose fields equal what was sent can be this write's";
  if (since === undefined) return evidence(`${rule}; the first try's time is not known`);
  if (seen.some((s) => s.created === undefined))
    return evidence(`${rule}; the search results carry no creation time (sort_by ${find.sortBy.join('.') || '-'})`);
  const recent = seen.filter((s) => s.created! >= since);
  if (recent.length === 0) return { kind: 'absent', by: `${find.operation} (nothing created since the first try)` };
  const ours = recent.filter((s) => s.fieldsMatch);
  if (ours.length === 1 && ours[0].id !== undefined) return { kind: 'found', ids: { [ID_VARIABLE[i.op]!]: ours[0].id }, by: find.operation };
  return evidence(`${rule}; ${recent.length} created since, ${ours.length} with equal fields`);
}

/**
 * A find with fallback searches is searched as the operation would be: in order, skipping a
 * search whose variables are all empty, until one returns something (its results are judged).
 */
async function searchInOrder(i: RecoverInput, find: CompiledEndpoint): Promise<{ find: CompiledEndpoint; items: unknown[]; searched: boolean }> {
  if (find.searches.length === 0) return { find, items: await search(i, find, i.variables), searched: true };
  const given = deriveVariables(i.variables);
  let first: CompiledEndpoint | undefined;
  for (const { endpoint } of find.searches) {
    if (searchHasNoValues(endpoint, given)) continue;
    first ??= endpoint;
    const items = await search(i, endpoint, i.variables);
    if (items.length) return { find: endpoint, items, searched: true };
  }
  return { find: first ?? find, items: [], searched: first !== undefined };
}

/** Every object at the search's response data location. */
async function search(i: RecoverInput, ep: CompiledEndpoint, vars: Record<string, unknown>): Promise<unknown[]> {
  const c = i.rt.connector;
  const prepared = prepareCall(vars, c, ep, i.opts.now?.() ?? Date.now());
  const call = await callEndpoint(i.rt, ep, prepared, undefined, { ...i.opts, attempts: i.attempts });
  if (call.classification.kind === 'not_found') return [];
  if (call.classification.kind !== 'ok') throw failure(ep, call, i.attempts);
  const at = readPath(call.response.body, ep.responseDataLocation);
  if (!at.found || at.value === null || at.value === undefined) return [];
  return Array.isArray(at.value) ? at.value : [at.value];
}

/** The scalar params the create sends (relative to its container), by path. */
function sentFields(i: RecoverInput, create: CompiledEndpoint): Array<[JsonPath, string]> {
  if (!create.params) return [];
  const c = i.rt.connector;
  const prepared = prepareCall(i.variables, c, create, i.opts.now?.() ?? Date.now());
  const rendered = renderNode(create.params, { vars: prepared, html: c.settings.convertTextToHtml, missing: new Set(), renderLongText });
  const out: Array<[JsonPath, string]> = [];
  const walk = (v: unknown, path: JsonPath) => {
    if (v === DROP || v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach((x, n) => walk(x, [...path, String(n)]));
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    else if (String(v).trim() !== '') out.push([path, String(v).trim()]);
  };
  walk(rendered, []);
  return out;
}

/** Every sent field the object shows equals what was sent, and at least one was compared. */
function fieldsMatch(item: unknown, sent: Array<[JsonPath, string]>): boolean {
  let compared = 0;
  for (const [path, value] of sent) {
    const v = scalar(readPath(item, path));
    if (v === undefined) continue;
    compared++;
    if (v.trim() !== value) return false;
  }
  return compared > 0;
}

function createdAt(item: unknown, path: JsonPath): number | undefined {
  const r = readPath(item, path);
  return r.found ? sortKey(r.value) : undefined;
}

function idOf(item: unknown, path: JsonPath): string | number | undefined {
  const r = readPath(item, path);
  return r.found && (typeof r.value === 'string' || typeof r.value === 'number') ? r.value : undefined;
}

function scalar(r: ReturnType<typeof readPath>): string | undefined {
  return r.found && (typeof r.value === 'string' || typeof r.value === 'number' || typeof r.value === 'boolean') ? String(r.value) : undefined;
}

/** Method and path of a search, without its query (which carries personal data). */
function describe(ep: CompiledEndpoint): string {
  return `${ep.method} ${ep.urlSource.split('?')[0]} (${ep.operation})`;
}
