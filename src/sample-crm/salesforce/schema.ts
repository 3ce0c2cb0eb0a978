/**
 * The sObjects this emulator knows, described the way Salesforce's describe call does: field
 * name, label, type, length, and whether it can be set on create/update, may be null, can be
 * filtered/sorted in SOQL. The store validates writes and the SOQL engine validates queries
 * against these descriptions, so both report the same errors for the same mistakes.
 */
import { KEY_PREFIXES } from './ids';

export type FieldType = 'id' | 'string' | 'textarea' | 'email' | 'phone' | 'picklist' | 'boolean' | 'datetime' | 'reference' | 'base64' | 'int';

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  /** Maximum characters for text types. */
  length?: number;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  /** Required on create (not nillable and no default). */
  required?: boolean;
  /** Usable in a SOQL WHERE (long text areas and files are not). */
  filterable: boolean;
  sortable: boolean;
  picklistValues?: readonly string[];
  /** Restricted picklist: other values are rejected. */
  restrictedPicklist?: boolean;
  defaultValue?: unknown;
  /** Object types a reference may point at. */
  referenceTo?: readonly SObjectType[];
  /** For reference fields: the relationship name (Contact for ContactId). */
  relationshipName?: string;
}

export const SOBJECT_TYPES = ['Contact', 'Case', 'CaseComment', 'ContentVersion'] as const;
export type SObjectType = (typeof SOBJECT_TYPES)[number];

export interface SObjectDef {
  name: SObjectType;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  fields: readonly FieldDef[];
  /** Field name (lower case) → definition. */
  byLowerName: ReadonlyMap<string, FieldDef>;
}

export const CASE_STATUSES = ['New', 'Working', 'Escalated', 'Closed'] as const;
export const CASE_ORIGINS = ['Phone', 'Web', 'Email'] as const;
export const CASE_PRIORITIES = ['High', 'Medium', 'Low'] as const;

type FieldSpec = Omit<FieldDef, 'createable' | 'updateable' | 'nillable' | 'filterable' | 'sortable'> &
  Partial<Pick<FieldDef, 'createable' | 'updateable' | 'nillable' | 'filterable' | 'sortable'>>;

/** Writable, nullable, filterable text unless said otherwise. */
function field(spec: FieldSpec): FieldDef {
  const longText = spec.type === 'textarea' && (spec.length ?? 0) > 255;
  const binary = spec.type === 'base64';
  return {
    createable: true,
    updateable: true,
    nillable: true,
    filterable: !longText && !binary,
    sortable: !longText && !binary,
    ...spec,
  };
}

/** Set by the system; never writable. */
function system(name: string, label: string, type: FieldType, extra: Partial<FieldDef> = {}): FieldDef {
  return field({ name, label, type, createable: false, updateable: false, nillable: false, ...extra });
}

const AUDIT_FIELDS: FieldDef[] = [
  system('IsDeleted', 'Deleted', 'boolean'),
  system('OwnerId', 'Owner ID', 'reference', { relationshipName: 'Owner' }),
  system('CreatedDate', 'Created Date', 'datetime'),
  system('CreatedById', 'Created By ID', 'reference', { relationshipName: 'CreatedBy' }),
  system('LastModifiedDate', 'Last Modified Date', 'datetime'),
  system('LastModifiedById', 'Last Modified By ID', 'reference', { relationshipName: 'LastModifiedBy' }),
  system('SystemModstamp', 'System Modstamp', 'datetime'),
];

const ID_FIELD = system('Id', 'Contact ID', 'id');

function sobject(name: SObjectType, label: string, labelPlural: string, fields: FieldDef[]): SObjectDef {
  return {
    name,
    label,
    labelPlural,
    keyPrefix: KEY_PREFIXES[name],
    fields,
    byLowerName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
  };
}

export const SOBJECTS: Readonly<Record<SObjectType, SObjectDef>> = {
  Contact: sobject('Contact', 'Contact', 'Contacts', [
    { ...ID_FIELD, label: 'Contact ID' },
    ...AUDIT_FIELDS.slice(0, 1),
    field({ name: 'Salutation', label: 'Salutation', type: 'picklist', length: 40, picklistValues: ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'] }),
    field({ name: 'FirstName', label: 'First Name', type: 'string', length: 40 }),
    field({ name: 'LastName', label: 'Last Name', type: 'string', length: 80, nillable: false, required: true }),
    system('Name', 'Full Name', 'string', { length: 121 }),
    field({ name: 'Phone', label: 'Business Phone', type: 'phone', length: 40 }),
    field({ name: 'MobilePhone', label: 'Mobile Phone', type: 'phone', length: 40 }),
    field({ name: 'Email', label: 'Email', type: 'email', length: 80 }),
    field({ name: 'Title', label: 'Title', type: 'string', length: 128 }),
    field({ name: 'Department', label: 'Department', type: 'string', length: 80 }),
    field({ name: 'LeadSource', label: 'Lead Source', type: 'picklist', length: 255, picklistValues: ['Web', 'Phone Inquiry', 'Partner Referral', 'Other'] }),
    field({ name: 'Description', label: 'Contact Description', type: 'textarea', length: 32000 }),
    ...AUDIT_FIELDS.slice(1),
  ]),
  Case: sobject('Case', 'Case', 'Cases', [
    { ...ID_FIELD, label: 'Case ID' },
    ...AUDIT_FIELDS.slice(0, 1),
    system('CaseNumber', 'Case Number', 'string', { length: 30 }),
    field({ name: 'ContactId', label: 'Contact ID', type: 'reference', referenceTo: ['Contact'], relationshipName: 'Contact' }),
    field({ name: 'SuppliedName', label: 'Name', type: 'string', length: 80 }),
    field({ name: 'SuppliedEmail', label: 'Email Address', type: 'email', length: 80 }),
    field({ name: 'SuppliedPhone', label: 'Phone', type: 'string', length: 40 }),
    field({ name: 'Type', label: 'Case Type', type: 'picklist', length: 255, picklistValues: ['Question', 'Problem', 'Feature Request'] }),
    field({
      name: 'Status',
      label: 'Status',
      type: 'picklist',
      length: 255,
      picklistValues: CASE_STATUSES,
      restrictedPicklist: true,
      defaultValue: 'New',
    }),
    field({
      name: 'Reason',
      label: 'Case Reason',
      type: 'picklist',
      length: 255,
      picklistValues: ['Installation', 'Equipment Complexity', 'Performance', 'Breakdown', 'Other'],
    }),
    field({ name: 'Origin', label: 'Case Origin', type: 'picklist', length: 255, picklistValues: CASE_ORIGINS, restrictedPicklist: true }),
    field({ name: 'Subject', label: 'Subject', type: 'string', length: 255 }),
    field({
      name: 'Priority',
      label: 'Priority',
      type: 'picklist',
      length: 255,
      picklistValues: CASE_PRIORITIES,
      restrictedPicklist: true,
      defaultValue: 'Medium',
    }),
    field({ name: 'Description', label: 'Description', type: 'textarea', length: 32000 }),
    system('IsClosed', 'Closed', 'boolean'),
    system('ClosedDate', 'Closed Date', 'datetime', { nillable: true }),
    field({ name: 'IsEscalated', label: 'Escalated', type: 'boolean', nillable: false, defaultValue: false }),
    // A custom field, as an admin adds it for the gateway: durable creates stamp their id here.
    field({ name: 'Gateway_Marker__c', label: 'Gateway Marker', type: 'string', length: 80 }),
    ...AUDIT_FIELDS.slice(1),
  ]),
  CaseComment: sobject('CaseComment', 'Case Comment', 'Case Comments', [
    { ...ID_FIELD, label: 'Case Comment ID' },
    field({
      name: 'ParentId',
      label: 'Parent Case ID',
      type: 'reference',
      referenceTo: ['Case'],
      relationshipName: 'Parent',
      updateable: false,
      nillable: false,
      required: true,
    }),
    field({ name: 'IsPublished', label: 'Published', type: 'boolean', nillable: false, defaultValue: false }),
    field({ name: 'CommentBody', label: 'Body', type: 'textarea', length: 4000 }),
    system('CreatedById', 'Created By ID', 'reference', { relationshipName: 'CreatedBy' }),
    system('CreatedDate', 'Created Date', 'datetime'),
    system('SystemModstamp', 'System Modstamp', 'datetime'),
    system('LastModifiedDate', 'Last Modified Date', 'datetime'),
    system('LastModifiedById', 'Last Modified By ID', 'reference', { relationshipName: 'LastModifiedBy' }),
    system('IsDeleted', 'Deleted', 'boolean'),
  ]),
  ContentVersion: sobject('ContentVersion', 'Content Version', 'Content Versions', [
    { ...ID_FIELD, label: 'ContentVersion ID' },
    system('ContentDocumentId', 'ContentDocument ID', 'reference', { relationshipName: 'ContentDocument' }),
    system('IsLatest', 'Is Latest', 'boolean'),
    field({
      name: 'ContentLocation',
      label: 'Content Location',
      type: 'picklist',
      length: 255,
      picklistValues: ['S'],
      restrictedPicklist: true,
      defaultValue: 'S',
      updateable: false,
      nillable: false,
    }),
    field({ name: 'Title', label: 'Title', type: 'string', length: 255, nillable: false }),
    field({ name: 'Description', label: 'Description', type: 'textarea', length: 1000 }),
    field({ name: 'ReasonForChange', label: 'Reason For Change', type: 'string', length: 1000 }),
    field({ name: 'PathOnClient', label: 'Path On Client', type: 'string', length: 500, updateable: false, required: true }),
    field({ name: 'VersionData', label: 'Version Data', type: 'base64', updateable: false, required: true }),
    system('VersionNumber', 'Version Number', 'string', { length: 20 }),
    system('FileType', 'File Type', 'string', { length: 20 }),
    system('FileExtension', 'File Extension', 'string', { length: 40, nillable: true }),
    system('ContentSize', 'Size', 'int'),
    system('Checksum', 'Checksum', 'string', { length: 50 }),
    field({
      name: 'FirstPublishLocationId',
      label: 'First Publish Location ID',
      type: 'reference',
      referenceTo: ['Case', 'Contact'],
      relationshipName: 'FirstPublishLocation',
      updateable: false,
    }),
    ...AUDIT_FIELDS.slice(1),
    system('IsDeleted', 'Deleted', 'boolean'),
  ]),
};

const BY_LOWER_TYPE = new Map(SOBJECT_TYPES.map((t) => [t.toLowerCase(), t]));

/** sObject names are case-insensitive in URLs and SOQL. */
export function resolveType(name: string): SObjectType | undefined {
  return BY_LOWER_TYPE.get(name.toLowerCase());
}

export function fieldOf(type: SObjectType, name: string): FieldDef | undefined {
  return SOBJECTS[type].byLowerName.get(name.toLowerCase());
}
