/**
 * State transitions of the HubSpot-like CRM: object create/update/archive with HubSpot's
 * property validation, associations, and the file manager. Routes and seed helpers both go
 * through here, so a seeded record is exactly what the API would have created.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { isRecord } from '../common/body';
import { IdSequences, type Clock } from '../common/clock';
import { HubSpotError, invalidProperties, notFound, validation, type PropertyProblem } from './errors';
import { associationType, CLOSED_STAGE, OBJECT_TYPES, TICKET_PIPELINE, type ObjectTypeDef, type PropertyDef } from './schema';
import {
  emptyHubSpotState,
  type AssociationCategory,
  type FileAccess,
  type FileType,
  type HubSpotAssociation,
  type HubSpotFile,
  type HubSpotFolder,
  type HubSpotObject,
  type HubSpotObjectType,
  type HubSpotState,
} from './types';

type IdKind = HubSpotObjectType | 'files' | 'folders';

/**
 * Kinds start far apart so a connector that mixes up a contact id and a ticket id gets a 404
 * instead of a silent hit.
 */
const ID_BASES: Record<IdKind, number> = {
  contacts: 51,
  tickets: 2_000_001,
  notes: 40_000_001,
  files: 150_000_001,
  folders: 170_000_001,
};

const ASSOCIATION_CATEGORIES: readonly AssociationCategory[] = ['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED'];
export const FILE_ACCESS_LEVELS: readonly FileAccess[] = [
  'PUBLIC_INDEXABLE',
  'PUBLIC_NOT_INDEXABLE',
  'HIDDEN_INDEXABLE',
  'HIDDEN_NOT_INDEXABLE',
  'HIDDEN_PRIVATE',
  'PRIVATE',
  'HIDDEN_SENSITIVE',
  'SENSITIVE',
];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface WriteOptions {
  /** ms since epoch; seeds may backdate records. */
  createdAt?: number;
}

export interface AssociationInput {
  toId: string;
  category: AssociationCategory;
  typeId: number;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Unix ms (digits) or an ISO 8601 date(-time) → ms; undefined when neither. */
export function parseDateTime(v: string): number | undefined {
  if (/^-?\d+$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** HubSpot's computed searchable phone: the national number as digits. */
export function searchablePhone(phone: string): string {
  const parsed = parsePhoneNumberFromString(phone, 'US');
  if (parsed?.nationalNumber) return String(parsed.nationalNumber);
  return phone.replace(/\D+/g, '');
}

/** A property value as HubSpot stores it, or why it is not acceptable. */
function normalize(name: string, def: PropertyDef, raw: unknown): { value: string | null } | { problem: PropertyProblem } {
  if (raw === null || raw === undefined) return { value: null };
  if (typeof raw === 'object') {
    return {
      problem: {
        name,
        error: 'INVALID_PROPERTY_VALUE',
        message: `${JSON.stringify(raw)} is not a valid value for ${name}: property values are strings, numbers or booleans`,
      },
    };
  }
  const text = String(raw);
  if (text.trim() === '') return { value: null }; // HubSpot: "" clears a property
  switch (def.type) {
    case 'email': {
      const email = text.trim().toLowerCase();
      if (!EMAIL_RE.test(email)) return { problem: { name, error: 'INVALID_EMAIL', message: `Email address ${text} is invalid` } };
      return { value: email };
    }
    case 'enumeration':
      if (!def.options!.includes(text)) {
        return { problem: { name, error: 'INVALID_OPTION', message: `${text} was not one of the allowed options: [${def.options!.join(', ')}]` } };
      }
      return { value: text };
    case 'datetime': {
      const ms = parseDateTime(text.trim());
      if (ms === undefined)
        return { problem: { name, error: 'INVALID_DATE', message: `${text} was not a valid long (Unix milliseconds) or ISO 8601 date-time` } };
      return { value: iso(ms) };
    }
    case 'number':
      if (!Number.isFinite(Number(text))) return { problem: { name, error: 'INVALID_LONG', message: `${text} was not a valid number` } };
      return { value: String(Number(text)) };
    default:
      return { value: text };
  }
}

export class HubSpotStore {
  private readonly ids = new IdSequences<IdKind>(ID_BASES);

  constructor(
    readonly state: HubSpotState,
    readonly clock: Clock,
  ) {}

  /** In place: tests may hold references to the state and its lists. */
  reset(): void {
    const empty = emptyHubSpotState();
    for (const key of Object.keys(empty) as Array<keyof HubSpotState>) {
      const current = this.state[key];
      if (Array.isArray(current)) current.length = 0;
      else Object.assign(this.state, { [key]: empty[key] });
    }
    this.ids.reset();
  }

  list(type: HubSpotObjectType): HubSpotObject[] {
    return this.state[type];
  }

  /** A live object (archived ones only with `archived`). */
  get(type: HubSpotObjectType, id: string, archived = false): HubSpotObject | undefined {
    return this.state[type].find((o) => o.id === id && o.archived === archived);
  }

  require(type: HubSpotObjectType, id: string): HubSpotObject {
    const o = this.get(type, id);
    if (!o) throw notFound();
    return o;
  }

  /** GET …/contacts/{email}?idProperty=email */
  byUniqueProperty(type: HubSpotObjectType, property: string, value: string): HubSpotObject | undefined {
    if (property === 'hs_object_id') return this.get(type, value);
    if (type !== 'contacts' || property !== 'email') {
      throw validation(`${property} is not a unique identifier property for ${type}; use hs_object_id${type === 'contacts' ? ' or email' : ''}`);
    }
    const wanted = value.trim().toLowerCase();
    return this.state.contacts.find((c) => !c.archived && c.properties.email === wanted);
  }

  /** Validates every property of a write and reports all problems at once (HubSpot does). */
  private validate(def: ObjectTypeDef, input: unknown, creating: boolean): Record<string, string | null> {
    if (input !== undefined && !isRecord(input)) {
      throw validation(`Invalid input JSON: "properties" must be an object of property name to value`);
    }
    const problems: PropertyProblem[] = [];
    const out: Record<string, string | null> = {};
    for (const [name, raw] of Object.entries(input ?? {})) {
      const pdef = Object.hasOwn(def.properties, name) ? def.properties[name] : undefined;
      if (!pdef) {
        problems.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
        continue;
      }
      if (pdef.readOnly) {
        problems.push({ name, error: 'READ_ONLY_VALUE', message: `${name} is a read only property; its value cannot be set.` });
        continue;
      }
      const r = normalize(name, pdef, raw);
      if ('problem' in r) problems.push(r.problem);
      else out[name] = r.value;
    }
    if (problems.length) throw invalidProperties(problems);
    if (creating) {
      const missing = def.required.filter((name) => out[name] === undefined || out[name] === null);
      if (missing.length) {
        throw validation(`Error creating ${def.singular.toUpperCase()}. Some required properties were not set.`, { context: { properties: missing } });
      }
    }
    return out;
  }

  private checkUniqueEmail(email: string | null | undefined, self?: string): void {
    if (!email) return;
    const other = this.state.contacts.find((c) => !c.archived && c.id !== self && c.properties.email === email);
    if (other) throw new HubSpotError(409, 'CONFLICT', `Contact already exists. Existing ID: ${other.id}`);
  }

  /** Associations of a create request: {to:{id}, types:[{associationCategory, associationTypeId}]}. */
  parseAssociations(def: ObjectTypeDef, input: unknown): Array<AssociationInput & { toType: HubSpotObjectType }> {
    if (input === undefined || input === null) return [];
    if (!Array.isArray(input)) throw validation('Invalid input JSON: "associations" must be a list');
    const out: Array<AssociationInput & { toType: HubSpotObjectType }> = [];
    const missing: string[] = [];
    input.forEach((a, i) => {
      const to = isRecord(a) && isRecord(a.to) ? a.to.id : undefined;
      if (typeof to !== 'string' && typeof to !== 'number') throw validation(`Invalid input JSON: associations[${i}].to.id is required`);
      const types = isRecord(a) ? a.types : undefined;
      if (!Array.isArray(types) || types.length === 0) throw validation(`Invalid input JSON: associations[${i}].types must list at least one association type`);
      for (const t of types) {
        const category = isRecord(t) ? t.associationCategory : undefined;
        const typeId = isRecord(t) ? t.associationTypeId : undefined;
        if (typeof category !== 'string' || !ASSOCIATION_CATEGORIES.includes(category as AssociationCategory)) {
          throw validation(`Invalid input JSON: associations[${i}].types: associationCategory must be one of ${ASSOCIATION_CATEGORIES.join(', ')}`);
        }
        if (typeof typeId !== 'number' || !Number.isInteger(typeId))
          throw validation(`Invalid input JSON: associations[${i}].types: associationTypeId must be an integer`);
        const at = category === 'HUBSPOT_DEFINED' ? associationType(typeId) : undefined;
        if (!at || at.from !== def.name) {
          throw validation(`${typeId} is not a valid ${category} association type from ${def.singular}`, { context: { associationTypeId: [String(typeId)] } });
        }
        const toId = String(to);
        if (!this.get(at.to, toId)) missing.push(`${OBJECT_TYPES[at.to].singular} ${toId}`);
        out.push({ toId, toType: at.to, category: category as AssociationCategory, typeId });
      }
    });
    if (missing.length)
      throw validation(`One or more associations are invalid: no ${missing.join(', no ')} exists`, { context: { ids: missing.map((m) => m.split(' ')[1]) } });
    return out;
  }

  create(type: HubSpotObjectType, input: { properties?: unknown; associations?: unknown }, opts: WriteOptions = {}): HubSpotObject {
    const def = OBJECT_TYPES[type];
    if (input.properties === undefined) throw validation(`Invalid input JSON: Missing required creator property 'properties'`);
    const props = this.validate(def, input.properties, true);
    const associations = this.parseAssociations(def, input.associations);
    if (type === 'contacts') this.checkUniqueEmail(props.email);

    const now = opts.createdAt ?? this.clock();
    const id = String(this.ids.take(type));
    const obj: HubSpotObject = { id, properties: {}, createdAt: now, updatedAt: now, archived: false, archivedAt: null };
    this.applyProperties(def, obj, props);
    if (type === 'tickets' && !obj.properties.hs_pipeline) obj.properties.hs_pipeline = TICKET_PIPELINE;
    if (!obj.properties[def.createdProperty]) obj.properties[def.createdProperty] = iso(now);
    else obj.createdAt = Date.parse(obj.properties[def.createdProperty]);
    this.touch(def, obj, now);
    this.state[type].push(obj);
    for (const a of associations) this.associate(type, id, a.toType, a.toId, a.typeId, a.category);
    return obj;
  }

  update(type: HubSpotObjectType, id: string, input: { properties?: unknown }): HubSpotObject {
    const def = OBJECT_TYPES[type];
    const obj = this.require(type, id);
    if (input.properties === undefined) throw validation(`Invalid input JSON: Missing required creator property 'properties'`);
    const props = this.validate(def, input.properties, false);
    if (type === 'contacts' && props.email !== undefined) this.checkUniqueEmail(props.email, id);
    this.applyProperties(def, obj, props);
    this.touch(def, obj, this.clock());
    return obj;
  }

  archive(type: HubSpotObjectType, id: string): void {
    const obj = this.get(type, id);
    if (!obj) return; // HubSpot answers 204 for an unknown id too
    obj.archived = true;
    obj.archivedAt = this.clock();
  }

  private applyProperties(def: ObjectTypeDef, obj: HubSpotObject, props: Record<string, string | null>): void {
    for (const [k, v] of Object.entries(props)) {
      if (v === null) delete obj.properties[k];
      else obj.properties[k] = v;
    }
    if (def.name === 'contacts') {
      if (obj.properties.phone) obj.properties.hs_searchable_calculated_phone_number = searchablePhone(obj.properties.phone);
      else delete obj.properties.hs_searchable_calculated_phone_number;
    }
    if (def.name === 'tickets' && props.hs_pipeline_stage !== undefined) {
      if (obj.properties.hs_pipeline_stage === CLOSED_STAGE) obj.properties.closed_date ??= iso(this.clock());
      else delete obj.properties.closed_date;
    }
  }

  private touch(def: ObjectTypeDef, obj: HubSpotObject, now: number): void {
    obj.updatedAt = now;
    obj.properties[def.modifiedProperty] = iso(now);
    obj.properties.hs_object_id = obj.id;
  }

  // ---- associations ---------------------------------------------------------------------------

  associate(
    fromType: HubSpotObjectType,
    fromId: string,
    toType: HubSpotObjectType,
    toId: string,
    typeId: number,
    category: AssociationCategory = 'HUBSPOT_DEFINED',
  ): void {
    const exists = this.state.associations.some(
      (a) => a.fromType === fromType && a.fromId === fromId && a.toType === toType && a.toId === toId && a.typeId === typeId,
    );
    if (!exists) this.state.associations.push({ fromType, fromId, toType, toId, category, typeId });
  }

  /** Ids of `toType` objects associated with (type, id), in either direction. */
  associatedIds(type: HubSpotObjectType, id: string, toType: HubSpotObjectType): string[] {
    const out = new Set<string>();
    for (const a of this.state.associations) {
      if (a.fromType === type && a.fromId === id && a.toType === toType) out.add(a.toId);
      else if (a.toType === type && a.toId === id && a.fromType === toType) out.add(a.fromId);
    }
    return [...out].filter((x) => this.get(toType, x));
  }

  associationsOf(type: HubSpotObjectType, id: string): HubSpotAssociation[] {
    return this.state.associations.filter((a) => (a.fromType === type && a.fromId === id) || (a.toType === type && a.toId === id));
  }

  // ---- files ----------------------------------------------------------------------------------

  folderByPath(path: string, create: boolean): HubSpotFolder | null {
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0) return null; // the root
    let parentId: string | null = null;
    let folder: HubSpotFolder | undefined;
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      const here = current;
      folder = this.state.folders.find((f) => !f.archived && f.path === here);
      if (!folder) {
        if (!create) throw validation(`Folder ${path} does not exist`);
        const now = this.clock();
        folder = { id: String(this.ids.take('folders')), name: part, path: current, parentFolderId: parentId, createdAt: now, updatedAt: now, archived: false };
        this.state.folders.push(folder);
      }
      parentId = folder.id;
    }
    return folder ?? null;
  }

  folderById(id: string): HubSpotFolder {
    const folder = this.state.folders.find((f) => f.id === id && !f.archived);
    if (!folder) throw new HubSpotError(404, 'OBJECT_NOT_FOUND', `Folder with id ${id} not found`);
    return folder;
  }

  file(id: string): HubSpotFile | undefined {
    const f = this.state.files.find((x) => x.id === id && !x.archived);
    if (f && f.expiresAt !== null && this.clock() >= f.expiresAt) return undefined;
    return f;
  }

  addFile(input: {
    fileName: string;
    contentType: string;
    content: Buffer;
    access: FileAccess;
    folder: HubSpotFolder | null;
    overwrite?: boolean;
    duplicateValidationStrategy?: 'NONE' | 'REJECT' | 'RETURN_EXISTING';
    duplicateValidationScope?: 'ENTIRE_PORTAL' | 'EXACT_FOLDER';
    ttlMs?: number;
  }): { file: HubSpotFile; existing: boolean } {
    const md5 = createHash('md5').update(input.content).digest('hex');
    const folderId = input.folder?.id ?? null;
    const strategy = input.duplicateValidationStrategy ?? 'NONE';
    if (strategy !== 'NONE') {
      const scope = input.duplicateValidationScope ?? 'ENTIRE_PORTAL';
      const dup = this.state.files.find((f) => !f.archived && f.md5 === md5 && (scope === 'ENTIRE_PORTAL' || f.parentFolderId === folderId));
      if (dup && strategy === 'RETURN_EXISTING') return { file: dup, existing: true };
      if (dup) throw new HubSpotError(409, 'CONFLICT', `Duplicate file found: ${dup.id} (${dup.path})`, { context: { duplicateFileId: [dup.id] } });
    }
    const dot = input.fileName.lastIndexOf('.');
    const extension = dot > 0 ? input.fileName.slice(dot + 1).toLowerCase() : '';
    let base = (dot > 0 ? input.fileName.slice(0, dot) : input.fileName).replace(/[/\\]/g, '-');
    const folderPath = input.folder?.path ?? '';
    const pathOf = (name: string) => `${folderPath}/${name}${extension ? `.${extension}` : ''}`;
    const now = this.clock();
    const sameName = this.state.files.find((f) => !f.archived && f.path === pathOf(base));
    if (sameName && input.overwrite) {
      Object.assign(sameName, {
        content: input.content,
        size: input.content.length,
        md5,
        contentType: input.contentType,
        access: input.access,
        updatedAt: now,
      });
      return { file: sameName, existing: false };
    }
    if (sameName) {
      // Like the file manager: "name-1", "name-2", …
      let n = 1;
      while (this.state.files.some((f) => !f.archived && f.path === pathOf(`${base}-${n}`))) n++;
      base = `${base}-${n}`;
    }
    const file: HubSpotFile = {
      id: String(this.ids.take('files')),
      name: base,
      extension,
      path: pathOf(base),
      parentFolderId: folderId,
      size: input.content.length,
      type: fileTypeOf(extension, input.contentType),
      contentType: input.contentType,
      access: input.access,
      md5,
      content: input.content,
      createdAt: now,
      updatedAt: now,
      archived: false,
      expiresAt: input.ttlMs !== undefined ? now + input.ttlMs : null,
    };
    this.state.files.push(file);
    return { file, existing: false };
  }

  archiveFile(id: string): void {
    const f = this.file(id);
    if (!f) throw notFound();
    f.archived = true;
  }

  signUrl(fileId: string, expirationSeconds: number): { signature: string; expiresAt: number } {
    const signature = randomBytes(16).toString('hex');
    const expiresAt = this.clock() + expirationSeconds * 1000;
    this.state.signedUrls.push({ fileId, signature, expiresAt });
    return { signature, expiresAt };
  }

  checkSignature(fileId: string, signature: string | undefined): boolean {
    if (!signature) return false;
    return this.state.signedUrls.some((s) => s.fileId === fileId && s.signature === signature && this.clock() < s.expiresAt);
  }
}

const TYPES_BY_EXTENSION: Record<string, FileType> = {
  png: 'IMG',
  jpg: 'IMG',
  jpeg: 'IMG',
  gif: 'IMG',
  svg: 'IMG',
  webp: 'IMG',
  bmp: 'IMG',
  mp4: 'MOVIE',
  mov: 'MOVIE',
  avi: 'MOVIE',
  webm: 'MOVIE',
  mkv: 'MOVIE',
  mp3: 'AUDIO',
  wav: 'AUDIO',
  ogg: 'AUDIO',
  oga: 'AUDIO',
  opus: 'AUDIO',
  m4a: 'AUDIO',
  aac: 'AUDIO',
  pdf: 'DOCUMENT',
  doc: 'DOCUMENT',
  docx: 'DOCUMENT',
  txt: 'DOCUMENT',
  csv: 'DOCUMENT',
  json: 'DOCUMENT',
  html: 'DOCUMENT',
  xls: 'DOCUMENT',
  xlsx: 'DOCUMENT',
};

function fileTypeOf(extension: string, contentType: string): FileType {
  if (TYPES_BY_EXTENSION[extension]) return TYPES_BY_EXTENSION[extension];
  if (contentType.startsWith('image/')) return 'IMG';
  if (contentType.startsWith('audio/')) return 'AUDIO';
  if (contentType.startsWith('video/')) return 'MOVIE';
  if (contentType.startsWith('text/')) return 'DOCUMENT';
  return 'OTHER';
}

const MIME_BY_EXTENSION: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  m4a: 'audio/mp4',
  webm: 'video/webm',
  mp4: 'video/mp4',
  txt: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  json: 'application/json',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
};

/** The declared type, or one guessed from the name when the declared one is generic. */
export function contentTypeFor(declared: string | undefined, fileName: string): string {
  const type = (declared ?? '').split(';')[0].trim().toLowerCase();
  if (type && type !== 'application/octet-stream' && type !== 'application/binary') return type;
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
  return MIME_BY_EXTENSION[ext] ?? 'application/octet-stream';
}
