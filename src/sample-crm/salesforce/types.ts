/**
 * Stored records, with Salesforce's own field names so the API can serve them as they are.
 * Datetimes are kept in the API's format ("2024-05-01T10:00:00.000+0000"). Files keep their
 * bytes; the API shows VersionData as the URL that returns them.
 */
import type { SObjectType } from './schema';

export interface AuditFields {
  Id: string;
  IsDeleted: boolean;
  CreatedDate: string;
  CreatedById: string;
  LastModifiedDate: string;
  LastModifiedById: string;
  SystemModstamp: string;
}

export interface SalesforceContact extends AuditFields {
  OwnerId: string;
  Salutation: string | null;
  FirstName: string | null;
  LastName: string;
  /** "FirstName LastName", maintained by the store. */
  Name: string;
  Phone: string | null;
  MobilePhone: string | null;
  Email: string | null;
  Title: string | null;
  Department: string | null;
  LeadSource: string | null;
  Description: string | null;
}

export interface SalesforceCase extends AuditFields {
  OwnerId: string;
  CaseNumber: string;
  ContactId: string | null;
  SuppliedName: string | null;
  SuppliedEmail: string | null;
  SuppliedPhone: string | null;
  Type: string | null;
  Status: string;
  Reason: string | null;
  Origin: string | null;
  Subject: string | null;
  Priority: string;
  Description: string | null;
  IsClosed: boolean;
  ClosedDate: string | null;
  IsEscalated: boolean;
}

export interface SalesforceCaseComment extends AuditFields {
  ParentId: string;
  IsPublished: boolean;
  CommentBody: string | null;
}

export interface SalesforceContentVersion extends AuditFields {
  OwnerId: string;
  ContentDocumentId: string;
  IsLatest: boolean;
  ContentLocation: string;
  Title: string;
  Description: string | null;
  ReasonForChange: string | null;
  PathOnClient: string;
  /** The file itself. */
  VersionData: Buffer;
  VersionNumber: string;
  FileType: string;
  FileExtension: string | null;
  ContentSize: number;
  /** MD5 hex of the bytes, as Salesforce computes it. */
  Checksum: string;
  FirstPublishLocationId: string | null;
}

export interface SalesforceRecords {
  Contact: SalesforceContact;
  Case: SalesforceCase;
  CaseComment: SalesforceCaseComment;
  ContentVersion: SalesforceContentVersion;
}

export type SalesforceRecord = SalesforceRecords[SObjectType];

/** Mutable data, one array per sObject in creation order (deleted records stay, flagged IsDeleted). */
export type SalesforceState = { [T in SObjectType]: SalesforceRecords[T][] };

export function emptySalesforceState(): SalesforceState {
  return { Contact: [], Case: [], CaseComment: [], ContentVersion: [] };
}

/** One entry of a Salesforce error response, which is always a JSON array of these. */
export interface SalesforceErrorEntry {
  message: string;
  errorCode: string;
  fields?: string[];
}
