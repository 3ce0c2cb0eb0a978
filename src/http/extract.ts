/**
 * Pulls the target object and its id out of a CRM response (response data location,
 * id location). For finds, an empty result is "not found" and several matches resolve to
 * the most recently created one (002). A location that does not exist in a response is
 * a configuration problem, reported with the path that failed and what was there instead.
 */
import type { CompiledEndpoint } from '../config/types';
import { GatewayError } from '../errors';
import { formatJsonPath, readPath, type JsonPath } from '../util/json-path';

export type Extracted = { found: false } | { found: true; data: unknown; id?: string | number; matches: number };

const ID_REQUIRED = new Set(['find_account', 'find_account_by_id', 'create_account', 'find_record', 'create_record']);

export function extract(ep: CompiledEndpoint, body: unknown): Extracted {
  if (ep.isFind && (body === undefined || body === '')) return { found: false };
  let data: unknown = body;
  if (ep.responseDataLocation.length) {
    const r = readPath(body, ep.responseDataLocation);
    if (!r.found) {
      // A find whose list is simply absent is ambiguous; a write without its object is not.
      throw locationError(ep, 'response_data_location', ep.responseDataLocationSource, r.failedAt, body);
    }
    data = r.value;
  }
  let matches = 1;
  if (Array.isArray(data)) {
    matches = data.length;
    if (data.length === 0) {
      if (ep.isFind) return { found: false };
      throw new GatewayError('crm_response_invalid', `${ep.operation}: response_data_location "${ep.responseDataLocationSource}" is an empty list`, { operation: ep.operation, yaml_line: ep.line });
    }
    data = mostRecent(data, ep.sortBy);
  }
  if (data === null || data === undefined) {
    if (ep.isFind) return { found: false };
    if (!ID_REQUIRED.has(ep.operation)) return { found: true, data: null, matches: 0 };
  }
  const idResult = readPath(data, ep.idLocation);
  const id = idResult.found && (typeof idResult.value === 'string' || typeof idResult.value === 'number') && idResult.value !== '' ? idResult.value : undefined;
  if (id === undefined && ID_REQUIRED.has(ep.operation)) {
    throw locationError(ep, 'id_location', ep.idLocationSource, idResult.found ? ep.idLocationSource : idResult.failedAt, data, 'in the object at response_data_location');
  }
  return { found: true, data, id, matches };
}

/** The element with the greatest sort value (dates compared as dates); the first when none has one. */
export function mostRecent(items: unknown[], sortBy: JsonPath): unknown {
  let best = items[0];
  let bestKey: number | undefined;
  for (const item of items) {
    const r = readPath(item, sortBy);
    if (!r.found) continue;
    const key = sortKey(r.value);
    if (key !== undefined && (bestKey === undefined || key > bestKey)) { best = item; bestKey = key; }
  }
  return best;
}

function sortKey(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const asNumber = Number(v);
    if (v.trim() !== '' && !Number.isNaN(asNumber)) return asNumber;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** Whole or not at all: a prefix cut from an echoed secret would slip past masking (which matches whole secrets). */
function shortOrLength(json: string): string {
  return json.length <= 80 ? json : `${json.length} characters of JSON`;
}

function locationError(ep: CompiledEndpoint, setting: string, source: string, failedAt: string, value: unknown, where = 'in the response'): GatewayError {
  const found = value && typeof value === 'object' ? `keys there: ${Object.keys(value).slice(0, 12).join(', ') || '(none)'}` : `the response is ${value === undefined ? 'empty' : shortOrLength(JSON.stringify(value))}`;
  return new GatewayError(
    'crm_response_invalid',
    `${ep.operation}: ${setting} "${source || formatJsonPath([])}" not found ${where} (failed at "${failedAt}"; ${found}). Fix endpoints.${ep.operation}.${setting}${ep.line ? ` near line ${ep.line}` : ''}`,
    { operation: ep.operation, setting, yaml_line: ep.line },
  );
}
