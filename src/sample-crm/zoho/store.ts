/**
 * The Zoho CRM data model: module field specs, per-record validation with Zoho's error
 * codes, and the operations the routes need. Every write goes through `write()`, so seed
 * helpers and the HTTP API validate the same way.
 */
import { isRecord } from '../common/body';
import { isoSeconds, sha256Hex, type Clock } from '../common/clock';
import { conditionsOf, CriteriaError, evaluate, type Condition, type Criteria } from './criteria';
import {
  CASE_ORIGINS,
  CASE_PRIORITIES,
  CASE_STATUSES,
  CASE_TYPES,
  emptyZohoState,
  type ZohoAttachment,
  type ZohoCase,
  type ZohoContact,
  type ZohoLookup,
  type ZohoNote,
  type ZohoParentModule,
  type ZohoState,
  type ZohoUserRef,
} from './types';

/** The API user every write is made as (Owner, Created_By, Modified_By). */
export const ZOHO_SAMPLE_USER: Readonly<ZohoUserRef> = Object.freeze({
  name: 'Sample Agent',
  id: '5725767000000100001',
  email: 'agent@example.com',
});

/** One entry of a `{"data":[…]}` answer: Zoho reports success or failure per record. */
export interface ZohoRecordError {
  code: string;
  details: Record<string, unknown>;
  message: string;
  status: 'error';
}

/** A per-record failure (MANDATORY_NOT_FOUND, INVALID_DATA…). */
export class ZohoRecordInvalid extends Error {
  constructor(readonly entry: ZohoRecordError) {
    super(`${entry.code}: ${entry.message} ${JSON.stringify(entry.details)}`);
  }
}

export type FieldType = 'text' | 'textarea' | 'email' | 'phone' | 'picklist' | 'boolean' | 'lookup';

export interface FieldSpec {
  api: string;
  type: FieldType;
  maxLength?: number;
  mandatory?: boolean;
  /** Picklists: the allowed values (restricted picklists, as in the standard layouts). */
  values?: readonly string[];
  /** Default on create. */
  default?: unknown;
}

export type RecordModule = 'Contacts' | 'Cases';

interface ModuleSpec {
  name: RecordModule;
  fields: readonly FieldSpec[];
  /** Read-only fields that can be searched. */
  readOnly: readonly string[];
  /** The record's display name, used in lookups and Parent_Id. */
  displayName(record: Record<string, unknown>): string | null;
}

const text = (api: string, maxLength: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({ api, type: 'text', maxLength, ...extra });
const phone = (api: string): FieldSpec => ({ api, type: 'phone', maxLength: 30 });
const email = (api: string): FieldSpec => ({ api, type: 'email', maxLength: 100 });
const area = (api: string): FieldSpec => ({ api, type: 'textarea', maxLength: 32000 });
const pick = (api: string, values: readonly string[], extra: Partial<FieldSpec> = {}): FieldSpec => ({ api, type: 'picklist', values, ...extra });

export const MODULES: Readonly<Record<RecordModule, ModuleSpec>> = {
  Contacts: {
    name: 'Contacts',
    fields: [
      text('First_Name', 40),
      text('Last_Name', 80, { mandatory: true }),
      pick('Salutation', ['-None-', 'Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Prof.']),
      email('Email'),
      email('Secondary_Email'),
      phone('Phone'),
      phone('Mobile'),
      phone('Home_Phone'),
      phone('Other_Phone'),
      phone('Fax'),
      text('Title', 100),
      text('Department', 100),
      text('Lead_Source', 120),
      text('Mailing_Street', 250),
      text('Mailing_City', 100),
      text('Mailing_State', 100),
      text('Mailing_Zip', 30),
      text('Mailing_Country', 100),
      area('Description'),
      { api: 'Email_Opt_Out', type: 'boolean', default: false },
    ],
    readOnly: ['Full_Name'],
    displayName: (r) => (typeof r.Full_Name === 'string' ? r.Full_Name : null),
  },
  Cases: {
    name: 'Cases',
    fields: [
      text('Subject', 255, { mandatory: true }),
      pick('Status', CASE_STATUSES, { mandatory: true }),
      pick('Case_Origin', CASE_ORIGINS, { mandatory: true }),
      pick('Priority', CASE_PRIORITIES),
      pick('Type', CASE_TYPES),
      text('Case_Reason', 120),
      area('Description'),
      area('Internal_Comments'),
      area('Solution'),
      email('Email'),
      phone('Phone'),
      text('Reported_By', 120),
      // A custom field, as an admin adds it for the gateway: durable creates stamp their id here.
      text('Gateway_Marker', 120),
      { api: 'Contact_Name', type: 'lookup' },
    ],
    readOnly: ['Case_Number'],
    displayName: (r) => (typeof r.Subject === 'string' ? r.Subject : null),
  },
};

const SYSTEM_FIELDS = ['id', 'Created_Time', 'Modified_Time'];
const PHONE_NOISE = /[\s\-().]/g;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^[+0-9][0-9 ()\-.x#*]*$/i;

/** Phone comparisons ignore spaces, dashes, dots and parentheses (not the "+"). */
export function normalizePhone(s: string): string {
  return s.replace(PHONE_NOISE, '');
}

/** A Zoho-style record id: a 13-digit account prefix, a kind digit and a counter. */
const ID_PREFIX = '5725767000000';
const KIND_DIGIT = { Contacts: '4', Cases: '5', Notes: '6', Attachments: '7', Files: '8' } as const;
type IdKind = keyof typeof KIND_DIGIT;

export function zohoTime(ms: number): string {
  return isoSeconds(ms).replace(/Z$/, '+00:00');
}

function invalid(code: string, message: string, details: Record<string, unknown>): never {
  throw new ZohoRecordInvalid({ code, details, message, status: 'error' });
}

export interface WriteOptions {
  /** ms; default the clock. For seeding history. */
  createdAt?: number;
  /** API version of the request ("v2", "v3"…): v3+ errors also carry json_path. */
  version?: string;
  /** Index of the record in the request's data array (for json_path). */
  index?: number;
}

export interface IncomingFile {
  name: string;
  contentType: string;
  data: Buffer;
}

export class ZohoStore {
  private counters: Record<IdKind, number> = { Contacts: 0, Cases: 0, Notes: 0, Attachments: 0, Files: 0 };
  private caseNumber = 0;

  constructor(
    readonly state: ZohoState,
    private readonly clock: Clock,
  ) {}

  reset(): void {
    const empty = emptyZohoState();
    for (const key of Object.keys(empty) as (keyof ZohoState)[]) this.state[key].length = 0;
    this.counters = { Contacts: 0, Cases: 0, Notes: 0, Attachments: 0, Files: 0 };
    this.caseNumber = 0;
  }

  private nextId(kind: IdKind): string {
    this.counters[kind]++;
    return `${ID_PREFIX}${KIND_DIGIT[kind]}${String(this.counters[kind]).padStart(5, '0')}`;
  }

  list(module: RecordModule): Array<ZohoContact | ZohoCase> {
    return module === 'Contacts' ? this.state.contacts : this.state.cases;
  }

  get(module: RecordModule, id: string): ZohoContact | ZohoCase | undefined {
    return this.list(module).find((r) => r.id === id);
  }

  contact(id: string): ZohoContact | undefined {
    return this.state.contacts.find((c) => c.id === id);
  }

  case(id: string): ZohoCase | undefined {
    return this.state.cases.find((c) => c.id === id);
  }

  /** Create (no id) or update (existing record) one record of a module; throws ZohoRecordInvalid. */
  write(module: RecordModule, input: unknown, opts: WriteOptions = {}, existing?: ZohoContact | ZohoCase): ZohoContact | ZohoCase {
    const spec = MODULES[module];
    const jsonPath = (api: string) => (opts.version && opts.version !== 'v2' ? { json_path: `$.data[${opts.index ?? 0}].${api}` } : {});
    if (!isRecord(input)) invalid('INVALID_DATA', 'invalid data', { expected_data_type: 'jsonobject', ...jsonPath('') });
    const values: Record<string, unknown> = {};
    for (const field of spec.fields) {
      const given = Object.hasOwn(input, field.api) ? input[field.api] : undefined;
      const empty = given === undefined || given === null || (typeof given === 'string' && given.trim() === '');
      if (empty) {
        if (field.mandatory && (!existing || given !== undefined)) {
          invalid('MANDATORY_NOT_FOUND', 'required field not found', { api_name: field.api, ...jsonPath(field.api) });
        }
        if (given !== undefined) values[field.api] = field.type === 'boolean' ? false : null;
        else if (!existing) values[field.api] = field.default ?? null;
        continue;
      }
      values[field.api] = this.checkValue(field, given, jsonPath(field.api));
    }
    const now = opts.createdAt ?? this.clock();
    const time = zohoTime(now);
    let record: Record<string, unknown>;
    if (existing) {
      record = Object.assign(existing, values, { Modified_Time: time, Modified_By: { ...ZOHO_SAMPLE_USER } });
    } else {
      record = {
        id: this.nextId(module),
        Owner: { ...ZOHO_SAMPLE_USER },
        Created_By: { ...ZOHO_SAMPLE_USER },
        Modified_By: { ...ZOHO_SAMPLE_USER },
        Created_Time: time,
        Modified_Time: time,
        ...(module === 'Cases' ? { Case_Number: String(++this.caseNumber).padStart(5, '0') } : {}),
        ...values,
      };
      this.list(module).push(record as unknown as ZohoContact & ZohoCase);
    }
    if (module === 'Contacts') {
      record.Full_Name = [record.First_Name, record.Last_Name].filter((p) => typeof p === 'string' && p !== '').join(' ');
      // A contact's new name shows in the lookups and parents that point at it.
      for (const c of this.state.cases) {
        if (c.Contact_Name && c.Contact_Name.id === record.id) c.Contact_Name.name = record.Full_Name as string;
      }
    }
    return record as unknown as ZohoContact | ZohoCase;
  }

  private checkValue(field: FieldSpec, given: unknown, jsonPath: Record<string, unknown>): unknown {
    const bad = (details: Record<string, unknown> = {}, message = 'invalid data'): never =>
      invalid('INVALID_DATA', message, { api_name: field.api, ...details, ...jsonPath });
    switch (field.type) {
      case 'boolean':
        if (typeof given === 'boolean') return given;
        if (given === 'true' || given === 'false') return given === 'true';
        return bad({ expected_data_type: 'boolean' });
      case 'lookup': {
        const id = isRecord(given) ? given.id : given;
        if (typeof id !== 'string' && typeof id !== 'number') return bad({ expected_data_type: 'lookup' });
        const target = this.contact(String(id));
        if (!target) return bad({ id: String(id) }, 'the related id given seems to be invalid');
        return { name: target.Full_Name, id: target.id } satisfies ZohoLookup;
      }
      default: {
        if (typeof given !== 'string' && typeof given !== 'number') return bad({ expected_data_type: field.type === 'textarea' ? 'text' : field.type });
        const s = String(given).trim();
        if (field.maxLength !== undefined && s.length > field.maxLength) return bad({ maximum_length: field.maxLength });
        if (field.type === 'email' && !EMAIL_RE.test(s)) return bad({ expected_data_type: 'email' });
        if (field.type === 'phone' && !PHONE_RE.test(s)) return bad({ expected_data_type: 'phone' });
        if (field.type === 'picklist' && !field.values!.includes(s)) return bad({ expected_data_type: 'picklist' });
        return s;
      }
    }
  }

  delete(module: RecordModule, id: string): boolean {
    const list = this.list(module);
    const i = list.findIndex((r) => r.id === id);
    if (i < 0) return false;
    list.splice(i, 1);
    this.state.notes.splice(0, this.state.notes.length, ...this.state.notes.filter((n) => n.Parent_Id.id !== id));
    this.state.attachments.splice(0, this.state.attachments.length, ...this.state.attachments.filter((a) => a.Parent_Id.id !== id));
    return true;
  }

  // ---- search ---------------------------------------------------------------------------------

  private fieldSpec(module: RecordModule, api: string): FieldSpec | undefined {
    return MODULES[module].fields.find((f) => f.api.toLowerCase() === api.toLowerCase());
  }

  /** Throws CriteriaError for fields the module does not have. */
  search(module: RecordModule, criteria: Criteria): Array<ZohoContact | ZohoCase> {
    const spec = MODULES[module];
    const known = (api: string) => this.fieldSpec(module, api) ?? [...SYSTEM_FIELDS, ...spec.readOnly].find((f) => f.toLowerCase() === api.toLowerCase());
    for (const cond of conditionsOf(criteria)) {
      const f = known(cond.field);
      if (!f) throw new CriteriaError({ reason: 'invalid field found', api_name: cond.field });
      if (cond.subfield && (typeof f === 'string' || f.type !== 'lookup' || !['id', 'name'].includes(cond.subfield))) {
        throw new CriteriaError({ reason: 'invalid field found', api_name: `${cond.field}.${cond.subfield}` });
      }
    }
    return this.list(module).filter((r) => evaluate(criteria, (c) => this.matches(module, r as unknown as Record<string, unknown>, c)));
  }

  private matches(module: RecordModule, record: Record<string, unknown>, cond: Condition): boolean {
    const spec = this.fieldSpec(module, cond.field);
    const key = spec?.api ?? Object.keys(record).find((k) => k.toLowerCase() === cond.field.toLowerCase()) ?? cond.field;
    const raw = record[key];
    let candidates: string[];
    if (spec?.type === 'lookup') {
      const l = raw as ZohoLookup | null;
      candidates = !l ? [] : cond.subfield === 'id' ? [l.id] : cond.subfield === 'name' ? [l.name ?? ''] : [l.id, l.name ?? ''];
    } else {
      candidates = raw === null || raw === undefined ? [] : [String(raw)];
    }
    const norm = (s: string) => (spec?.type === 'phone' ? normalizePhone(s) : s).toLowerCase();
    const hit = (value: string) => candidates.some((c) => (cond.operator === 'starts_with' ? norm(c).startsWith(norm(value)) : norm(c) === norm(value)));
    switch (cond.operator) {
      case 'equals':
      case 'starts_with':
        return hit(cond.values[0]);
      case 'not_equal':
        return !hit(cond.values[0]);
      case 'in':
        return cond.values.some(hit);
    }
  }

  /** `email=`: every email field, case-insensitive. */
  searchEmail(module: RecordModule, value: string): Array<ZohoContact | ZohoCase> {
    const fields = MODULES[module].fields.filter((f) => f.type === 'email').map((f) => f.api);
    const v = value.trim().toLowerCase();
    return this.list(module).filter((r) => fields.some((f) => String((r as unknown as Record<string, unknown>)[f] ?? '').toLowerCase() === v));
  }

  /** `phone=`: every phone field, ignoring formatting. */
  searchPhone(module: RecordModule, value: string): Array<ZohoContact | ZohoCase> {
    const fields = MODULES[module].fields.filter((f) => f.type === 'phone').map((f) => f.api);
    const v = normalizePhone(value);
    return this.list(module).filter((r) =>
      fields.some((f) => {
        const x = (r as unknown as Record<string, unknown>)[f];
        return typeof x === 'string' && normalizePhone(x) === v;
      }),
    );
  }

  /** `word=`: any text-like field containing the word, case-insensitive. */
  searchWord(module: RecordModule, value: string): Array<ZohoContact | ZohoCase> {
    const fields = MODULES[module].fields.filter((f) => f.type !== 'boolean' && f.type !== 'lookup').map((f) => f.api);
    const v = value.trim().toLowerCase();
    return this.list(module).filter((r) =>
      fields.some((f) => {
        const x = (r as unknown as Record<string, unknown>)[f];
        return typeof x === 'string' && x.toLowerCase().includes(v);
      }),
    );
  }

  // ---- notes & attachments --------------------------------------------------------------------

  parentRef(module: ZohoParentModule, id: string): ZohoLookup | undefined {
    const parent = this.get(module, id);
    return parent ? { name: MODULES[module].displayName(parent as unknown as Record<string, unknown>), id: parent.id } : undefined;
  }

  addNote(module: ZohoParentModule, parentId: string, input: unknown, opts: WriteOptions = {}): ZohoNote {
    const jsonPath = (api: string) => (opts.version && opts.version !== 'v2' ? { json_path: `$.data[${opts.index ?? 0}].${api}` } : {});
    if (!isRecord(input)) invalid('INVALID_DATA', 'invalid data', { expected_data_type: 'jsonobject', ...jsonPath('') });
    const parent = this.parentRef(module, parentId);
    if (!parent) invalid('INVALID_DATA', 'the related id given seems to be invalid', { api_name: 'Parent_Id', id: parentId, ...jsonPath('Parent_Id') });
    const content = input.Note_Content;
    if (content === undefined || content === null || (typeof content === 'string' && content.trim() === '')) {
      invalid('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'Note_Content', ...jsonPath('Note_Content') });
    }
    if (typeof content !== 'string' && typeof content !== 'number') {
      invalid('INVALID_DATA', 'invalid data', { api_name: 'Note_Content', expected_data_type: 'text', ...jsonPath('Note_Content') });
    }
    const title = input.Note_Title;
    if (title !== undefined && title !== null && typeof title !== 'string' && typeof title !== 'number') {
      invalid('INVALID_DATA', 'invalid data', { api_name: 'Note_Title', expected_data_type: 'text', ...jsonPath('Note_Title') });
    }
    const titleText = title === undefined || title === null || String(title).trim() === '' ? null : String(title);
    if (titleText !== null && titleText.length > 120) {
      invalid('INVALID_DATA', 'invalid data', { api_name: 'Note_Title', maximum_length: 120, ...jsonPath('Note_Title') });
    }
    const time = zohoTime(opts.createdAt ?? this.clock());
    const note: ZohoNote = {
      id: this.nextId('Notes'),
      Owner: { ...ZOHO_SAMPLE_USER },
      Created_By: { ...ZOHO_SAMPLE_USER },
      Modified_By: { ...ZOHO_SAMPLE_USER },
      Created_Time: time,
      Modified_Time: time,
      Note_Title: titleText,
      Note_Content: String(content),
      Parent_Id: parent,
      $se_module: module,
    };
    this.state.notes.push(note);
    return note;
  }

  notesOf(parentId: string): ZohoNote[] {
    return this.state.notes.filter((n) => n.Parent_Id.id === parentId);
  }

  addAttachment(module: ZohoParentModule, parentId: string, file: IncomingFile | { linkUrl: string; title?: string }, opts: WriteOptions = {}): ZohoAttachment {
    const parent = this.parentRef(module, parentId);
    if (!parent) invalid('INVALID_DATA', 'the related id given seems to be invalid', { api_name: 'Parent_Id', id: parentId });
    const time = zohoTime(opts.createdAt ?? this.clock());
    const isLink = 'linkUrl' in file;
    const data = isLink ? Buffer.alloc(0) : file.data;
    const attachment: ZohoAttachment = {
      id: this.nextId('Attachments'),
      Owner: { ...ZOHO_SAMPLE_USER },
      Created_By: { ...ZOHO_SAMPLE_USER },
      Modified_By: { ...ZOHO_SAMPLE_USER },
      Created_Time: time,
      Modified_Time: time,
      File_Name: isLink ? (file.title ?? file.linkUrl) : file.name,
      Size: String(data.length),
      $file_id: isLink ? '' : `${this.nextId('Files')}${sha256Hex(data).slice(0, 12)}`,
      $type: isLink ? 'Link URL' : 'Attachment',
      $link_url: isLink ? file.linkUrl : null,
      $se_module: module,
      Parent_Id: parent,
      content: data,
      content_type: isLink ? 'text/uri-list' : file.contentType,
      sha256: sha256Hex(data),
    };
    this.state.attachments.push(attachment);
    return attachment;
  }

  attachmentsOf(parentId: string): ZohoAttachment[] {
    return this.state.attachments.filter((a) => a.Parent_Id.id === parentId);
  }
}
