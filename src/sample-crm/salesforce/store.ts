/**
 * The records and every write rule: field names and types checked against the sObject
 * descriptions, required fields, restricted picklists, lengths, references that must point at
 * an existing record of the right type. Failures are thrown as SalesforceApiError carrying the
 * exact JSON array Salesforce answers with.
 */
import { createHash } from 'node:crypto';
import { isRecord } from '../common/body';
import type { Clock } from '../common/clock';
import { canonicalId, KEY_PREFIXES, keyPrefixOf, makeId } from './ids';
import { SOBJECTS, fieldOf, type FieldDef, type SObjectType } from './schema';
import type {
  SalesforceCase,
  SalesforceContact,
  SalesforceContentVersion,
  SalesforceErrorEntry,
  SalesforceRecord,
  SalesforceRecords,
  SalesforceState,
} from './types';

/** A Salesforce error answer: an HTTP status and the JSON array of errors. */
export class SalesforceApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: SalesforceErrorEntry[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.errorCode}: ${e.message}`).join('; '));
    this.name = 'SalesforceApiError';
  }
}

export const NOT_FOUND_ENTRY: SalesforceErrorEntry = { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' };

export function notFound(): SalesforceApiError {
  return new SalesforceApiError(404, [{ ...NOT_FOUND_ENTRY }]);
}

/** Salesforce's datetime format in API responses: "2024-05-01T10:00:00.000+0000". */
export function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+0000');
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** FileType as Salesforce reports it for common extensions. */
const FILE_TYPES: Record<string, string> = {
  mp3: 'MP3',
  wav: 'WAV',
  m4a: 'M4A',
  mp4: 'MP4',
  txt: 'TEXT',
  csv: 'CSV',
  json: 'JSON',
  html: 'HTML',
  pdf: 'PDF',
  png: 'PNG',
  jpg: 'JPG',
  jpeg: 'JPG',
  gif: 'GIF',
  zip: 'ZIP',
};

export interface CreateOptions {
  /** ms since epoch; default the clock. For seeding older records. */
  createdAt?: number;
}

type Row = Record<string, unknown>;

export class SalesforceStore {
  readonly orgId = makeId(KEY_PREFIXES.Organization, 1);
  /** The integration user every API write is attributed to. */
  readonly userId = makeId(KEY_PREFIXES.User, 1);
  private seq = 0;
  private caseNumber = 1000;

  constructor(
    readonly state: SalesforceState,
    private readonly clock: Clock,
  ) {}

  /** Empties every table in place (tests may hold references to the arrays). */
  reset(): void {
    for (const type of Object.keys(this.state) as SObjectType[]) this.state[type].length = 0;
    this.seq = 0;
    this.caseNumber = 1000;
  }

  table<T extends SObjectType>(type: T): SalesforceRecords[T][] {
    return this.state[type] as SalesforceRecords[T][];
  }

  /** The record with this (15- or 18-character, any case) id, deleted ones included. */
  find<T extends SObjectType>(type: T, rawId: string): SalesforceRecords[T] | undefined {
    const id = canonicalId(rawId);
    if (!id || keyPrefixOf(id) !== SOBJECTS[type].keyPrefix) return undefined;
    return this.table(type).find((r) => r.Id === id);
  }

  /** Like find, for API reads: 404 NOT_FOUND when unknown, 404 ENTITY_IS_DELETED when deleted. */
  get<T extends SObjectType>(type: T, rawId: string): SalesforceRecords[T] {
    const rec = this.find(type, rawId);
    if (!rec) throw notFound();
    if (rec.IsDeleted) throw new SalesforceApiError(404, [{ errorCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' }]);
    return rec;
  }

  /** Any live record by id, whatever its type. */
  findAny(rawId: string): SalesforceRecord | undefined {
    const id = canonicalId(rawId);
    if (!id) return undefined;
    for (const type of Object.keys(SOBJECTS) as SObjectType[]) {
      if (SOBJECTS[type].keyPrefix !== keyPrefixOf(id)) continue;
      return this.table(type).find((r) => r.Id === id && !r.IsDeleted);
    }
    return undefined;
  }

  create<T extends SObjectType>(type: T, body: unknown, opts: CreateOptions = {}): SalesforceRecords[T] {
    const values = this.checkWrite(type, body, 'create');
    const now = opts.createdAt ?? this.clock();
    const stamp = sfDateTime(now);
    const row: Row = {};
    for (const f of SOBJECTS[type].fields) row[f.name] = f.defaultValue ?? (f.type === 'boolean' ? false : null);
    Object.assign(row, values, {
      Id: makeId(SOBJECTS[type].keyPrefix, ++this.seq),
      IsDeleted: false,
      CreatedDate: stamp,
      CreatedById: this.userId,
      LastModifiedDate: stamp,
      LastModifiedById: this.userId,
      SystemModstamp: stamp,
    });
    if ('OwnerId' in row) row.OwnerId = this.userId;
    this.derive(type, row, now, true);
    const rec = row as unknown as SalesforceRecords[T];
    this.table(type).push(rec);
    return rec;
  }

  update(type: SObjectType, rawId: string, body: unknown): SalesforceRecord {
    const rec = this.get(type, rawId) as unknown as Row;
    const values = this.checkWrite(type, body, 'update');
    const statusBefore = rec.Status;
    Object.assign(rec, values);
    const now = this.clock();
    const stamp = sfDateTime(now);
    rec.LastModifiedDate = stamp;
    rec.LastModifiedById = this.userId;
    rec.SystemModstamp = stamp;
    this.derive(type, rec, now, rec.Status !== statusBefore);
    return rec as unknown as SalesforceRecord;
  }

  delete(type: SObjectType, rawId: string): void {
    const rec = this.get(type, rawId) as unknown as Row;
    rec.IsDeleted = true;
    rec.SystemModstamp = sfDateTime(this.clock());
    // Deleting a case deletes its comments, as in Salesforce.
    if (type === 'Case') for (const c of this.state.CaseComment) if (c.ParentId === rec.Id) c.IsDeleted = true;
  }

  /** Fields Salesforce computes: Name, CaseNumber, IsClosed/ClosedDate, file metadata. */
  private derive(type: SObjectType, row: Row, now: number, statusChanged: boolean): void {
    switch (type) {
      case 'Contact': {
        const c = row as unknown as SalesforceContact;
        c.Name = [c.Salutation, c.FirstName, c.LastName].filter((p) => p).join(' ');
        break;
      }
      case 'Case': {
        const c = row as unknown as SalesforceCase;
        if (!c.CaseNumber) c.CaseNumber = String(++this.caseNumber).padStart(8, '0');
        c.IsClosed = c.Status === 'Closed';
        if (statusChanged) c.ClosedDate = c.IsClosed ? sfDateTime(now) : null;
        break;
      }
      case 'ContentVersion': {
        const v = row as unknown as SalesforceContentVersion;
        if (v.ContentDocumentId) break;
        const data = v.VersionData;
        const base = v.PathOnClient.split(/[\\/]/).pop() ?? v.PathOnClient;
        const ext = /\.([A-Za-z0-9]+)$/.exec(base)?.[1]?.toLowerCase() ?? null;
        if (!v.Title) v.Title = ext ? base.slice(0, -(ext.length + 1)) : base;
        v.ContentDocumentId = makeId(KEY_PREFIXES.ContentDocument, this.seq);
        v.IsLatest = true;
        v.VersionNumber = '1';
        v.FileExtension = ext;
        v.FileType = ext ? (FILE_TYPES[ext] ?? 'UNKNOWN') : 'UNKNOWN';
        v.ContentSize = data.length;
        v.Checksum = createHash('md5').update(data).digest('hex');
        break;
      }
      case 'CaseComment':
        break;
    }
  }

  /** Body → canonical field values, or a SalesforceApiError with Salesforce's errors. */
  private checkWrite(type: SObjectType, body: unknown, mode: 'create' | 'update'): Row {
    if (body === undefined) {
      throw new SalesforceApiError(400, [
        { message: 'The HTTP entity body is required, but this request has no entity body.', errorCode: 'JSON_PARSER_ERROR' },
      ]);
    }
    if (!isRecord(body)) {
      const token = Array.isArray(body) ? 'START_ARRAY' : typeof body === 'string' ? 'VALUE_STRING' : 'VALUE_NUMBER_INT';
      throw new SalesforceApiError(400, [
        { message: `Cannot deserialize instance of ${type} from ${token} value or request may be missing a required field`, errorCode: 'JSON_PARSER_ERROR' },
      ]);
    }
    const values: Row = {};
    const given = new Set<string>();
    const readOnly: string[] = [];
    const errors: SalesforceErrorEntry[] = [];
    for (const [key, raw] of Object.entries(body)) {
      if (key === 'attributes') continue;
      const def = fieldOf(type, key);
      if (!def) {
        // Deserialization stops at the first unknown name: a single error, like Salesforce.
        throw new SalesforceApiError(400, [{ message: `No such column '${key}' on sobject of type ${type}`, errorCode: 'INVALID_FIELD' }]);
      }
      if (!(mode === 'create' ? def.createable : def.updateable)) {
        readOnly.push(def.name);
        continue;
      }
      given.add(def.name);
      const checked = this.checkValue(def, raw);
      if ('error' in checked) errors.push(checked.error);
      else values[def.name] = checked.value;
    }
    if (readOnly.length) {
      errors.unshift({
        message: `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
        fields: readOnly,
      });
    }
    const missing = SOBJECTS[type].fields.filter((f) => f.required && (given.has(f.name) ? values[f.name] === null : mode === 'create')).map((f) => f.name);
    if (missing.length) {
      errors.unshift({ message: `Required fields are missing: [${missing.join(', ')}]`, errorCode: 'REQUIRED_FIELD_MISSING', fields: missing });
    }
    if (errors.length) throw new SalesforceApiError(400, errors);
    // A non-nillable field set to null without being required falls back to its default.
    for (const f of SOBJECTS[type].fields) {
      if (values[f.name] === null && !f.nillable && !f.required) values[f.name] = f.defaultValue ?? (f.type === 'boolean' ? false : null);
    }
    return values;
  }

  private checkValue(def: FieldDef, raw: unknown): { value: unknown } | { error: SalesforceErrorEntry } {
    const fields = [def.name];
    if (raw === null || raw === '') return { value: null };
    if (typeof raw === 'object') {
      const token = Array.isArray(raw) ? 'START_ARRAY' : 'START_OBJECT';
      throw new SalesforceApiError(400, [
        {
          message: `Cannot deserialize instance of ${def.type === 'boolean' ? 'boolean' : 'string'} from ${token} value or request may be missing a required field`,
          errorCode: 'JSON_PARSER_ERROR',
        },
      ]);
    }
    switch (def.type) {
      case 'boolean': {
        if (typeof raw === 'boolean') return { value: raw };
        if (raw === 'true' || raw === 'false') return { value: raw === 'true' };
        throw new SalesforceApiError(400, [
          {
            message: `Cannot deserialize instance of boolean from VALUE_STRING value ${String(raw)} or request may be missing a required field`,
            errorCode: 'JSON_PARSER_ERROR',
          },
        ]);
      }
      case 'reference': {
        const text = String(raw);
        const id = canonicalId(text);
        if (!id) return { error: { message: `${def.label}: id value of incorrect type: ${text}`, errorCode: 'MALFORMED_ID', fields } };
        const allowed = (def.referenceTo ?? []).map((t) => SOBJECTS[t].keyPrefix);
        if (!allowed.includes(keyPrefixOf(id))) {
          return { error: { message: `${def.label}: id value of incorrect type: ${text}`, errorCode: 'FIELD_INTEGRITY_EXCEPTION', fields } };
        }
        if (!this.findAny(id)) return { error: { message: 'invalid cross reference id', errorCode: 'INVALID_CROSS_REFERENCE_KEY', fields } };
        return { value: id };
      }
      case 'base64': {
        const text = String(raw).replace(/\s+/g, '');
        if (!BASE64_RE.test(text) || text.length % 4 === 1) {
          throw new SalesforceApiError(400, [
            { message: `Cannot deserialize instance of base64 from VALUE_STRING value: ${def.name} is not valid base64`, errorCode: 'JSON_PARSER_ERROR' },
          ]);
        }
        return { value: Buffer.from(text, 'base64') };
      }
      default: {
        let text = String(raw);
        if (def.length !== undefined && text.length > def.length) {
          const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
          return { error: { message: `${def.label}: data value too large: ${shown} (max length=${def.length})`, errorCode: 'STRING_TOO_LONG', fields } };
        }
        if (def.type === 'email' && !EMAIL_RE.test(text)) {
          return { error: { message: `${def.label}: invalid email address: ${text}`, errorCode: 'INVALID_EMAIL_ADDRESS', fields } };
        }
        if (def.type === 'picklist' && def.restrictedPicklist) {
          const match = def.picklistValues?.find((v) => v.toLowerCase() === text.toLowerCase());
          if (!match) {
            return {
              error: {
                message: `${def.label}: bad value for restricted picklist field: ${text}`,
                errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                fields,
              },
            };
          }
          text = match;
        }
        return { value: text };
      }
    }
  }
}

/** The API view of a record: `attributes`, then the fields (all, or those asked for) in order. */
export function recordJson(type: SObjectType, rec: SalesforceRecord, version: string, fields?: readonly FieldDef[]): Record<string, unknown> {
  const row = rec as unknown as Row;
  const url = `/services/data/${version}/sobjects/${type}/${rec.Id}`;
  const out: Record<string, unknown> = { attributes: { type, url } };
  for (const f of fields ?? SOBJECTS[type].fields) {
    out[f.name] = f.type === 'base64' ? `${url}/${f.name}` : (row[f.name] ?? null);
  }
  return out;
}
