/**
 * Runs parsed SOQL against the store: checks names and value types against the sObject
 * descriptions (INVALID_TYPE, INVALID_FIELD, INVALID_QUERY_FILTER_OPERATOR, with Salesforce's
 * messages), filters, sorts, applies LIMIT/OFFSET, and pages large results through query
 * locators (nextRecordsUrl), as the REST query resource does.
 */
import type { Clock } from '../common/clock';
import { canonicalId, KEY_PREFIXES, makeId } from './ids';
import { fieldOf, resolveType, SOBJECTS, type FieldDef, type SObjectType } from './schema';
import { parseSoql, soqlError, SoqlError, type FieldRef, type SoqlCondition, type SoqlQuery, type SoqlValue } from './soql';
import { recordJson, SalesforceApiError, type SalesforceStore } from './store';
import type { SalesforceRecord } from './types';

export const DEFAULT_BATCH_SIZE = 2000;
export const MIN_BATCH_SIZE = 200;
const MAX_OFFSET = 2000;
/** Query locators expire after 15 minutes without use. */
const LOCATOR_IDLE_MS = 15 * 60_000;

const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'picklist']);

type Row = Record<string, unknown>;

export interface QueryResult {
  type: SObjectType;
  /** Selected fields in order; empty for COUNT(). */
  fields: FieldDef[];
  count: boolean;
  records: SalesforceRecord[];
}

interface Compiled {
  type: SObjectType;
  fields: FieldDef[];
  count: boolean;
  where?: (row: Row) => boolean;
  compare?: (a: Row, b: Row) => number;
  limit?: number;
  offset?: number;
}

function noSuchColumn(q: SoqlQuery, ref: FieldRef, type: SObjectType): SoqlError {
  if (ref.name.includes('.')) {
    return soqlError(
      q.source,
      ref.pos,
      `Didn't understand relationship '${ref.name.split('.')[0]}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      'INVALID_FIELD',
    );
  }
  return soqlError(
    q.source,
    ref.pos,
    `No such column '${ref.name}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    'INVALID_FIELD',
  );
}

function resolveField(q: SoqlQuery, ref: FieldRef, type: SObjectType): FieldDef {
  const def = ref.name.includes('.') ? undefined : fieldOf(type, ref.name);
  if (!def) throw noSuchColumn(q, ref, type);
  return def;
}

function filterError(q: SoqlQuery, v: SoqlValue, message: string): SoqlError {
  return soqlError(q.source, v.pos, message, 'INVALID_QUERY_FILTER_OPERATOR');
}

/** A literal checked against the field's type, reduced to what rows are compared with. */
function literal(q: SoqlQuery, def: FieldDef, v: SoqlValue): string | number | boolean | null {
  if (v.kind === 'null') return null;
  switch (def.type) {
    case 'boolean':
      if (v.kind !== 'boolean')
        throw filterError(q, v, `value of filter criterion for field '${def.name}' must be of type boolean and should not be enclosed in quotes`);
      return v.value;
    case 'datetime':
      if (v.kind !== 'datetime')
        throw filterError(q, v, `value of filter criterion for field '${def.name}' must be of type dateTime and should not be enclosed in quotes`);
      return v.value;
    case 'int':
      if (v.kind !== 'number')
        throw filterError(q, v, `value of filter criterion for field '${def.name}' must be of type integer and should not be enclosed in quotes`);
      return v.value;
    case 'id':
    case 'reference': {
      if (v.kind !== 'string') throw filterError(q, v, `value of filter criterion for field '${def.name}' must be of type id and should be enclosed in quotes`);
      const id = canonicalId(v.value);
      if (!id) throw filterError(q, v, `invalid ID field: ${v.value}`);
      return id;
    }
    default:
      if (v.kind !== 'string')
        throw filterError(q, v, `value of filter criterion for field '${def.name}' must be of type string and should be enclosed in quotes`);
      return v.value;
  }
}

/** LIKE pattern → RegExp: % any run, _ one character, \% and \_ literal; case-insensitive. */
function likeRegExp(raw: string): RegExp {
  let re = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[++i];
      const decoded = ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next;
      re += decoded.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** Comparable form of a stored value: text lower-cased, datetimes as ms. */
function comparable(def: FieldDef, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (def.type === 'datetime') return Date.parse(String(value).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (TEXT_TYPES.has(def.type)) return String(value).toLowerCase();
  return value as string | number | boolean;
}

function compileCondition(q: SoqlQuery, type: SObjectType, c: SoqlCondition): (row: Row) => boolean {
  switch (c.kind) {
    case 'and': {
      const items = c.items.map((i) => compileCondition(q, type, i));
      return (row) => items.every((f) => f(row));
    }
    case 'or': {
      const items = c.items.map((i) => compileCondition(q, type, i));
      return (row) => items.some((f) => f(row));
    }
    case 'not': {
      const inner = compileCondition(q, type, c.item);
      return (row) => !inner(row);
    }
    case 'in': {
      const def = filterable(q, type, c.field);
      const values = c.values.map((v) => {
        const lit = literal(q, def, v);
        return typeof lit === 'string' && TEXT_TYPES.has(def.type) ? lit.toLowerCase() : lit;
      });
      return (row) => {
        const v = comparable(def, row[def.name]);
        const hit = v !== null && values.includes(v);
        return c.negated ? v === null || !hit : hit;
      };
    }
    case 'cmp': {
      const def = filterable(q, type, c.field);
      if (c.op === 'like') {
        if (!TEXT_TYPES.has(def.type)) throw filterError(q, c.value, `invalid operator on ${def.type} field`);
        if (c.value.kind !== 'string')
          throw filterError(q, c.value, `value of filter criterion for field '${def.name}' must be of type string and should be enclosed in quotes`);
        const re = likeRegExp(c.value.raw);
        return (row) => {
          const v = row[def.name];
          return v !== null && v !== undefined && re.test(String(v));
        };
      }
      if (def.type === 'boolean' && c.op !== '=' && c.op !== '!=') throw filterError(q, c.value, 'invalid operator on boolean field');
      const lit = literal(q, def, c.value);
      const want = typeof lit === 'string' && TEXT_TYPES.has(def.type) ? lit.toLowerCase() : lit;
      const op = c.op;
      return (row) => {
        const v = comparable(def, row[def.name]);
        if (op === '=') return v === want;
        if (op === '!=') return v !== want;
        if (v === null || want === null) return false;
        switch (op) {
          case '<':
            return v < want;
          case '<=':
            return v <= want;
          case '>':
            return v > want;
          default:
            return v >= want;
        }
      };
    }
  }
}

function filterable(q: SoqlQuery, type: SObjectType, ref: FieldRef): FieldDef {
  const def = resolveField(q, ref, type);
  if (!def.filterable) throw soqlError(q.source, ref.pos, `field '${def.name}' can not be filtered in a query call`, 'INVALID_FIELD');
  return def;
}

function compile(q: SoqlQuery): Compiled {
  const type = resolveType(q.from.name);
  if (!type) {
    throw soqlError(
      q.source,
      q.from.pos,
      `sObject type '${q.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      'INVALID_TYPE',
    );
  }
  const fields: FieldDef[] = [];
  if (q.select !== 'count') {
    for (const ref of q.select) {
      const def = resolveField(q, ref, type);
      if (fields.includes(def)) throw soqlError(q.source, ref.pos, `duplicate field selected: ${def.name}`);
      fields.push(def);
    }
  }
  const order = q.orderBy.map((o) => {
    const def = resolveField(q, o.field, type);
    if (!def.sortable) throw soqlError(q.source, o.field.pos, `field '${def.name}' can not be sorted in a query call`, 'INVALID_FIELD');
    return { def, ...o };
  });
  if (q.offset !== undefined && q.offset > MAX_OFFSET) {
    throw new SoqlError('NUMBER_OUTSIDE_VALID_RANGE', `Maximum SOQL offset allowed is ${MAX_OFFSET}`);
  }
  const compare =
    order.length === 0
      ? undefined
      : (a: Row, b: Row): number => {
          for (const o of order) {
            const x = comparable(o.def, a[o.def.name]);
            const y = comparable(o.def, b[o.def.name]);
            if (x === y) continue;
            if (x === null) return o.nulls === 'first' ? -1 : 1;
            if (y === null) return o.nulls === 'first' ? 1 : -1;
            const cmp = x < y ? -1 : 1;
            return o.direction === 'asc' ? cmp : -cmp;
          }
          return 0;
        };
  return {
    type,
    fields,
    count: q.select === 'count',
    where: q.where ? compileCondition(q, type, q.where) : undefined,
    compare,
    limit: q.limit,
    offset: q.offset,
  };
}

/** Parses, checks and runs one query. Throws SoqlError with Salesforce's code and message. */
export function runSoql(store: SalesforceStore, source: string, opts: { includeDeleted?: boolean } = {}): QueryResult {
  const c = compile(parseSoql(source));
  let rows = (store.table(c.type) as unknown as Row[]).filter((r) => (opts.includeDeleted || !r.IsDeleted) && (!c.where || c.where(r)));
  if (c.compare) rows = [...rows].sort(c.compare);
  if (c.offset) rows = rows.slice(c.offset);
  if (c.limit !== undefined) rows = rows.slice(0, c.limit);
  return { type: c.type, fields: c.fields, count: c.count, records: rows as unknown as SalesforceRecord[] };
}

interface Cursor {
  type: SObjectType;
  fields: FieldDef[];
  records: SalesforceRecord[];
  totalSize: number;
  lastUsedMs: number;
}

export interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

/** Query results in batches, with query locators for the rest ("01g…-2000"). */
export class QueryPager {
  private cursors = new Map<string, Cursor>();
  private seq = 0;

  constructor(
    private readonly store: SalesforceStore,
    private readonly clock: Clock,
  ) {}

  reset(): void {
    this.cursors.clear();
    this.seq = 0;
  }

  /** The first page of a query. */
  first(source: string, version: string, batchSize: number, includeDeleted: boolean): QueryPage {
    let result: QueryResult;
    try {
      result = runSoql(this.store, source, { includeDeleted });
    } catch (err) {
      if (err instanceof SoqlError) throw new SalesforceApiError(400, [{ message: err.message, errorCode: err.errorCode }]);
      throw err;
    }
    if (result.count) return { totalSize: result.records.length, done: true, records: [] };
    const cursor: Cursor = {
      type: result.type,
      fields: result.fields,
      records: result.records,
      totalSize: result.records.length,
      lastUsedMs: this.clock(),
    };
    return this.page(cursor, undefined, 0, version, batchSize);
  }

  /** A later page: GET …/query/{locator}, where the locator is "<cursor id>-<offset>". */
  next(locator: string, version: string, batchSize: number): QueryPage {
    const m = /^(.+)-(\d+)$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1]) : undefined;
    if (!m || !cursor || this.clock() - cursor.lastUsedMs > LOCATOR_IDLE_MS) {
      if (m) this.cursors.delete(m[1]);
      throw new SalesforceApiError(400, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
    }
    cursor.lastUsedMs = this.clock();
    return this.page(cursor, m[1], Number(m[2]), version, batchSize);
  }

  private page(cursor: Cursor, id: string | undefined, offset: number, version: string, batchSize: number): QueryPage {
    const slice = cursor.records.slice(offset, offset + batchSize);
    const records = slice.map((r) => recordJson(cursor.type, r, version, cursor.fields));
    const end = offset + slice.length;
    if (end >= cursor.totalSize) {
      if (id) this.cursors.delete(id);
      return { totalSize: cursor.totalSize, done: true, records };
    }
    const cursorId = id ?? makeId(KEY_PREFIXES.QueryLocator, ++this.seq);
    this.cursors.set(cursorId, cursor);
    return { totalSize: cursor.totalSize, done: false, nextRecordsUrl: `/services/data/${version}/query/${cursorId}-${end}`, records };
  }
}

/** Batch size from `Sforce-Query-Options: batchSize=N` (200–2000; Salesforce treats it as a hint). */
export function batchSizeFrom(header: string | undefined): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(header ?? '');
  if (!m) return DEFAULT_BATCH_SIZE;
  return Math.min(DEFAULT_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Number(m[1])));
}

export { SOBJECTS };
