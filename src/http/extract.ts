/**
 * Pulls the target object and its id out of a CRM response (response data location,
 * id location). For finds, an empty result is "not found", and the find guard
 * (match-guard.ts) drops matches that are not the caller and chooses among several only
 * when it can order them; otherwise the find fails visibly with ambiguous_match. For writes,
 * `expect` says what success must hold: creates need the new object's id; updates and
 * comments (id_optional) accept 200 [], a list of messages, an empty body or 204.
 * Every failure caused by a YAML setting names the setting and the endpoint's YAML line.
 */
import type { CompiledEndpoint } from '../config/types';
import { GatewayError } from '../errors';
import { formatJsonPath, readPath, type JsonPath } from '../util/json-path';
import { guardMatches, isCaller, sortKey } from './match-guard';

export type Extracted = { found: false; dropped?: number } | { found: true; data: unknown; id?: string | number; matches: number; dropped?: number };

/** The searched values as the caller gave them, and the region for national phone numbers. */
export interface GuardContext {
  values: Readonly<Record<string, unknown>>;
  region?: string;
}

export function extract(ep: CompiledEndpoint, body: unknown, guard: GuardContext = { values: {} }): Extracted {
  return ep.isFind ? extractMatch(ep, body, guard) : extractWritten(ep, body);
}

function extractMatch(ep: CompiledEndpoint, body: unknown, guard: GuardContext): Extracted {
  if (body === undefined || body === '' || body === null) return { found: false };
  let data: unknown = body;
  if (ep.responseDataLocation.length) {
    const r = readPath(body, ep.responseDataLocation);
    // A find whose list is simply absent is ambiguous: not found, or the wrong location.
    if (!r.found) throw locationError(ep, 'response_data_location', ep.responseDataLocationSource, r.failedAt, body);
    data = r.value;
  }
  if (data === null || data === undefined) return { found: false };
  let matches = 1;
  let dropped = 0;
  if (Array.isArray(data)) {
    const chosen = guardMatches(data, { rules: ep.match, values: guard.values, region: guard.region, sortBy: ep.sortBy, onSeveral: ep.onSeveralMatches });
    dropped = chosen.dropped;
    if (chosen.kind === 'none') return { found: false, ...(dropped ? { dropped } : {}) };
    if (chosen.kind === 'ambiguous') throw ambiguousMatch(ep, chosen.matches, dropped, chosen.why);
    data = chosen.item;
    matches = chosen.matches;
  } else if (!isCaller(data, { rules: ep.match, values: guard.values, region: guard.region })) {
    return { found: false, dropped: 1 };
  }
  const id = idOf(data, ep.idLocation);
  if (id === undefined) throw idMissing(ep, data);
  return { found: true, data, id, matches, ...(dropped ? { dropped } : {}) };
}

function extractWritten(ep: CompiledEndpoint, body: unknown): Extracted {
  const optional = ep.expect !== 'id';
  const nothing = { found: true, data: null, matches: 0 } as const;
  if (ep.expect === 'no_body') return nothing;
  if (body === undefined || body === '' || body === null) {
    if (optional) return nothing;
    throw new GatewayError(
      'crm_response_invalid',
      `${ep.operation}: the CRM answered success with no body, so there is no id to read. ${fixHint(ep, 'response_data_location and id_location', "the new object's id must come back in the answer")}`,
      { operation: ep.operation, setting: 'response_data_location', yaml_line: ep.line },
    );
  }
  let data: unknown = body;
  if (ep.responseDataLocation.length) {
    const r = readPath(body, ep.responseDataLocation);
    if (!r.found) {
      if (optional) return nothing;
      throw locationError(ep, 'response_data_location', ep.responseDataLocationSource, r.failedAt, body);
    }
    data = r.value;
  }
  if (Array.isArray(data)) {
    if (data.length === 0) {
      if (optional) return nothing;
      throw new GatewayError(
        'crm_response_invalid',
        `${ep.operation}: response_data_location "${ep.responseDataLocationSource}" is an empty list. ${fixHint(ep, 'response_data_location', 'point it at the created object')}`,
        { operation: ep.operation, setting: 'response_data_location', yaml_line: ep.line },
      );
    }
    data = firstByRecency(data, ep.sortBy);
  }
  if (data === null || data === undefined) {
    if (optional) return nothing;
    throw locationError(ep, 'response_data_location', ep.responseDataLocationSource, ep.responseDataLocationSource, data);
  }
  const id = idOf(data, ep.idLocation);
  if (id === undefined && !optional) throw idMissing(ep, data);
  return { found: true, data, id, matches: 1 };
}

function idOf(data: unknown, at: JsonPath): string | number | undefined {
  const r = readPath(data, at);
  return r.found && (typeof r.value === 'string' || typeof r.value === 'number') && r.value !== '' ? r.value : undefined;
}

/** A write answered with a list: the most recent element when they carry the sort field, else the first. */
function firstByRecency(items: unknown[], sortBy: JsonPath): unknown {
  let best = items[0];
  let bestKey: number | undefined;
  for (const item of items) {
    const r = readPath(item, sortBy);
    const key = r.found ? sortKey(r.value) : undefined;
    if (key !== undefined && (bestKey === undefined || key > bestKey)) {
      best = item;
      bestKey = key;
    }
  }
  return best;
}

function where(ep: CompiledEndpoint): string {
  return `endpoints.${ep.operation}${ep.line ? ` near line ${ep.line}` : ''}`;
}

/** Whole or not at all: a prefix cut from an echoed secret would slip past masking (which matches whole secrets). */
function shortOrLength(json: string): string {
  return json.length <= 80 ? json : `${json.length} characters of JSON`;
}

function fixHint(ep: CompiledEndpoint, setting: string, why: string): string {
  return `Fix ${setting} of ${where(ep)} (${why})${ep.operation.startsWith('create_') ? '' : ', or set expect: id_optional'}`;
}

function idMissing(ep: CompiledEndpoint, data: unknown): GatewayError {
  const r = readPath(data, ep.idLocation);
  return locationError(ep, 'id_location', ep.idLocationSource, r.found ? ep.idLocationSource : r.failedAt, data, 'in the object at response_data_location');
}

function ambiguousMatch(ep: CompiledEndpoint, matches: number, dropped: number, why: string): GatewayError {
  const droppedText = dropped ? ` (after dropping ${dropped} that are not the caller)` : '';
  return new GatewayError(
    'ambiguous_match',
    `${ep.operation}: ${matches} matches${droppedText} and ${why}; the gateway does not guess which one is meant. Fix ${where(ep)}: add match: (the fields a match must share with the searched values, e.g. {phone: PHONE_NUMBER}), sort_by: (a date every match carries), or on_several_matches: first`,
    { operation: ep.operation, matches, ...(dropped ? { dropped_matches: dropped } : {}), setting: 'on_several_matches', yaml_line: ep.line },
  );
}

function locationError(
  ep: CompiledEndpoint,
  setting: 'response_data_location' | 'id_location',
  source: string,
  failedAt: string,
  value: unknown,
  place = 'in the response',
): GatewayError {
  // The setting's own line when the file sets it; else the endpoint's (the default applies there).
  const line = ep.settingLines?.[setting] ?? ep.line;
  const found =
    value && typeof value === 'object'
      ? `keys there: ${Object.keys(value).slice(0, 12).join(', ') || '(none)'}`
      : `the response is ${value === undefined ? 'empty' : shortOrLength(JSON.stringify(value))}`;
  return new GatewayError(
    'crm_response_invalid',
    `${ep.operation}: ${setting} "${source || formatJsonPath([])}" not found ${place} (failed at "${failedAt}"; ${found}). Fix endpoints.${ep.operation}.${setting}${line ? ` near line ${line}` : ''}`,
    { operation: ep.operation, setting, yaml_line: line },
  );
}
