/**
 * POST /crm/v3/objects/{type}/search, as HubSpot documents it:
 *   - filterGroups are ORed, the filters inside a group ANDed (at most 5 groups, 6 filters per
 *     group, 18 filters in all);
 *   - operators EQ, NEQ, LT, LTE, GT, GTE, BETWEEN (value..highValue), IN / NOT_IN (values),
 *     HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN / NOT_CONTAINS_TOKEN (whole tokens; `*` is a
 *     wildcard, e.g. "*@example.com");
 *   - string comparison is case-insensitive; EQ is exact otherwise: a phone stored as
 *     "+12223334444" is not EQ "(222) 333-4444" (HubSpot does not normalise phones for EQ; search
 *     hs_searchable_calculated_phone_number, or CONTAINS_TOKEN with wildcards, for that);
 *   - `associations.contact` (or .ticket, .note) filters by an associated record's id;
 *   - `query` searches the type's default text properties (every word must prefix a token);
 *   - one sort, {propertyName, direction: ASCENDING|DESCENDING} or "prop" / "-prop"; default:
 *     oldest first;
 *   - limit 1–200 (default 10), `after` is the offset of the next page; no more than 10,000
 *     results can be paged through.
 */
import { isRecord } from '../common/body';
import { validation } from './errors';
import { objectTypeFrom, type ObjectTypeDef } from './schema';
import { parseDateTime, type HubSpotStore } from './store';
import type { HubSpotObject } from './types';

const OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;
type Operator = (typeof OPERATORS)[number];

export const MAX_FILTER_GROUPS = 5;
export const MAX_FILTERS_PER_GROUP = 6;
export const MAX_FILTERS = 18;
export const MAX_LIMIT = 200;
export const DEFAULT_LIMIT = 10;
export const MAX_RESULT_WINDOW = 10_000;

interface Filter {
  propertyName: string;
  operator: Operator;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface SearchOutcome {
  total: number;
  page: HubSpotObject[];
  /** Offset of the next page, when there is one. */
  nextAfter?: number;
  /** The `properties` the request asked for, if any. */
  properties?: string[];
}

type Kind = 'datetime' | 'number' | 'string';

function scalar(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw validation(`Invalid input JSON: ${where} must be a string, number or boolean`);
}

function parseFilter(raw: unknown, where: string): Filter {
  if (!isRecord(raw)) throw validation(`Invalid input JSON: ${where} must be an object`);
  const propertyName = raw.propertyName;
  if (typeof propertyName !== 'string' || propertyName === '') throw validation(`Invalid input JSON: ${where}.propertyName is required`);
  const operator = raw.operator ?? 'EQ';
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) {
    throw validation(
      `Invalid input JSON: ${where}.operator: Cannot deserialize value of type \`FilterOperatorEnum\` from String ${JSON.stringify(operator)}: not one of the values accepted for Enum class: [${OPERATORS.join(', ')}]`,
    );
  }
  const f: Filter = { propertyName, operator: operator as Operator };
  f.value = scalar(raw.value, `${where}.value`);
  f.highValue = scalar(raw.highValue, `${where}.highValue`);
  if (raw.values !== undefined) {
    if (!Array.isArray(raw.values)) throw validation(`Invalid input JSON: ${where}.values must be a list`);
    f.values = raw.values.map((v, i) => scalar(v, `${where}.values[${i}]`) ?? '');
  }
  const needsValue = !['IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY'].includes(f.operator);
  if (needsValue && f.value === undefined) throw validation(`Filter on ${propertyName} with operator ${f.operator} requires a value`);
  if (f.operator === 'BETWEEN' && f.highValue === undefined) throw validation(`Filter on ${propertyName} with operator BETWEEN requires a highValue`);
  if ((f.operator === 'IN' || f.operator === 'NOT_IN') && !f.values?.length)
    throw validation(`Filter on ${propertyName} with operator ${f.operator} requires values`);
  return f;
}

/** The whole value and its tokens (split on whitespace and punctuation), lower-cased. */
function tokens(text: string): string[] {
  const t = text.toLowerCase();
  return [t, ...t.split(/\s+/), ...t.split(/[^\p{L}\p{N}]+/u)].filter((x) => x !== '');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function containsToken(text: string, pattern: string): boolean {
  const p = pattern.toLowerCase().trim();
  const all = tokens(text);
  if (!p.includes('*')) return all.includes(p);
  const re = new RegExp(`^${p.split('*').map(escapeRe).join('.*')}$`);
  return all.some((x) => re.test(x));
}

export class HubSpotSearch {
  constructor(private readonly store: HubSpotStore) {}

  run(def: ObjectTypeDef, body: unknown): SearchOutcome {
    const req = isRecord(body) ? body : {};
    const groups = this.filterGroups(req.filterGroups);
    const limit = this.limit(req.limit);
    const after = this.after(req.after);
    if (after + limit > MAX_RESULT_WINDOW) {
      throw validation(`The search API can page through at most ${MAX_RESULT_WINDOW} results (after + limit = ${after + limit})`);
    }
    const query = typeof req.query === 'string' && req.query.trim() !== '' ? req.query.trim() : undefined;
    let properties: string[] | undefined;
    if (req.properties !== undefined) {
      if (!Array.isArray(req.properties) || !req.properties.every((p) => typeof p === 'string'))
        throw validation('Invalid input JSON: properties must be a list of property names');
      properties = req.properties as string[];
    }
    for (const g of groups) for (const f of g) this.kindOf(def, f.propertyName); // unknown properties → 400 up front

    const matches = this.store
      .list(def.name)
      .filter((o) => !o.archived)
      .filter((o) => groups.length === 0 || groups.some((g) => g.every((f) => this.matches(def, o, f))))
      .filter((o) => query === undefined || this.matchesQuery(def, o, query));
    this.sort(def, matches, req.sorts);
    const page = matches.slice(after, after + limit);
    const next = after + limit < matches.length ? after + limit : undefined;
    return { total: matches.length, page, ...(next !== undefined ? { nextAfter: next } : {}), ...(properties ? { properties } : {}) };
  }

  private filterGroups(raw: unknown): Filter[][] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw validation('Invalid input JSON: filterGroups must be a list');
    if (raw.length > MAX_FILTER_GROUPS) throw validation(`Too many filter groups: ${raw.length}; at most ${MAX_FILTER_GROUPS} are allowed`);
    let total = 0;
    const groups = raw.map((g, i) => {
      const filters = isRecord(g) ? g.filters : undefined;
      if (!Array.isArray(filters)) throw validation(`Invalid input JSON: filterGroups[${i}].filters must be a list`);
      if (filters.length > MAX_FILTERS_PER_GROUP)
        throw validation(`Too many filters in filterGroups[${i}]: ${filters.length}; at most ${MAX_FILTERS_PER_GROUP} per group are allowed`);
      total += filters.length;
      return filters.map((f, j) => parseFilter(f, `filterGroups[${i}].filters[${j}]`));
    });
    if (total > MAX_FILTERS) throw validation(`Too many filters: ${total}; at most ${MAX_FILTERS} in all filter groups are allowed`);
    // A group without filters would match everything; HubSpot ignores it.
    return groups.filter((g) => g.length > 0);
  }

  private limit(raw: unknown): number {
    if (raw === undefined || raw === null) return DEFAULT_LIMIT;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw validation(`limit must be an integer between 1 and ${MAX_LIMIT}`);
    if (n > MAX_LIMIT) throw validation(`limit must be less than or equal to ${MAX_LIMIT}`);
    return n;
  }

  private after(raw: unknown): number {
    if (raw === undefined || raw === null || raw === '') return 0;
    const s = String(raw);
    if (!/^\d+$/.test(s)) throw validation(`Invalid input JSON: after must be the paging cursor of a previous answer, got ${JSON.stringify(raw)}`);
    return Number(s);
  }

  /** How a property compares; throws for a property the type does not have. */
  private kindOf(def: ObjectTypeDef, name: string): Kind | 'association' {
    if (name.startsWith('associations.')) {
      if (!objectTypeFrom(name.slice('associations.'.length))) throw validation(`Unknown association object type in ${name}`);
      return 'association';
    }
    if (name === 'hs_object_id') return 'number';
    const p = Object.hasOwn(def.properties, name) ? def.properties[name] : undefined;
    if (!p) throw validation(`Property "${name}" does not exist on ${def.name}`);
    return p.type === 'datetime' ? 'datetime' : p.type === 'number' ? 'number' : 'string';
  }

  /** The values to compare: [] when the property has none; several for associations. */
  private valuesOf(def: ObjectTypeDef, o: HubSpotObject, name: string): string[] {
    if (name.startsWith('associations.')) {
      const other = objectTypeFrom(name.slice('associations.'.length))!;
      return this.store.associatedIds(def.name, o.id, other.name);
    }
    if (name === 'hs_object_id') return [o.id];
    const v = o.properties[name];
    return v === undefined || v === '' ? [] : [v];
  }

  private matches(def: ObjectTypeDef, o: HubSpotObject, f: Filter): boolean {
    const kind = this.kindOf(def, f.propertyName);
    const have = this.valuesOf(def, o, f.propertyName);
    const cmpKind: Kind = kind === 'association' ? 'number' : kind;
    const eq = (a: string, b: string) => compare(cmpKind, a, b, f.propertyName) === 0;
    switch (f.operator) {
      case 'EQ':
        return have.some((v) => eq(v, f.value!));
      case 'NEQ':
        return !have.some((v) => eq(v, f.value!));
      case 'LT':
        return have.some((v) => compare(cmpKind, v, f.value!, f.propertyName) < 0);
      case 'LTE':
        return have.some((v) => compare(cmpKind, v, f.value!, f.propertyName) <= 0);
      case 'GT':
        return have.some((v) => compare(cmpKind, v, f.value!, f.propertyName) > 0);
      case 'GTE':
        return have.some((v) => compare(cmpKind, v, f.value!, f.propertyName) >= 0);
      case 'BETWEEN':
        return have.some((v) => compare(cmpKind, v, f.value!, f.propertyName) >= 0 && compare(cmpKind, v, f.highValue!, f.propertyName) <= 0);
      case 'IN':
        return have.some((v) => f.values!.some((x) => eq(v, x)));
      case 'NOT_IN':
        return !have.some((v) => f.values!.some((x) => eq(v, x)));
      case 'HAS_PROPERTY':
        return have.length > 0;
      case 'NOT_HAS_PROPERTY':
        return have.length === 0;
      case 'CONTAINS_TOKEN':
        return have.some((v) => containsToken(v, f.value!));
      case 'NOT_CONTAINS_TOKEN':
        return !have.some((v) => containsToken(v, f.value!));
    }
  }

  private matchesQuery(def: ObjectTypeDef, o: HubSpotObject, query: string): boolean {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const all = def.searchable.flatMap((p) => (o.properties[p] ? tokens(o.properties[p]) : []));
    return words.every((w) => all.some((t) => t.startsWith(w)));
  }

  private sort(def: ObjectTypeDef, items: HubSpotObject[], raw: unknown): void {
    let property = def.createdProperty;
    let descending = false;
    if (raw !== undefined && raw !== null) {
      if (!Array.isArray(raw)) throw validation('Invalid input JSON: sorts must be a list');
      const first: unknown = raw[0];
      if (typeof first === 'string') {
        descending = first.startsWith('-');
        property = first.replace(/^[-+]/, '');
      } else if (isRecord(first)) {
        if (typeof first.propertyName !== 'string') throw validation('Invalid input JSON: sorts[0].propertyName is required');
        property = first.propertyName;
        const direction = first.direction ?? 'ASCENDING';
        if (direction !== 'ASCENDING' && direction !== 'DESCENDING') throw validation(`Invalid input JSON: sorts[0].direction must be ASCENDING or DESCENDING`);
        descending = direction === 'DESCENDING';
      }
    }
    const kind = this.kindOf(def, property);
    const cmpKind: Kind = kind === 'association' ? 'number' : kind;
    items.sort((a, b) => {
      const va = this.valuesOf(def, a, property)[0];
      const vb = this.valuesOf(def, b, property)[0];
      let r: number;
      if (va === undefined || vb === undefined)
        r = va === vb ? 0 : va === undefined ? 1 : -1; // missing values last
      else r = (descending ? -1 : 1) * compare(cmpKind, va, vb, property);
      return r !== 0 ? r : Number(a.id) - Number(b.id);
    });
  }
}

function compare(kind: Kind, a: string, b: string, property: string): number {
  if (kind === 'datetime') {
    const x = parseDateTime(a);
    const y = parseDateTime(b);
    if (y === undefined) throw validation(`${b} is not a valid value for ${property}: use Unix milliseconds or an ISO 8601 date-time`);
    return (x ?? 0) - y;
  }
  if (kind === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isFinite(y)) throw validation(`${b} is not a valid value for ${property}: a number is expected`);
    return x - y;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
