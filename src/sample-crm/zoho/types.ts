/**
 * Stored Zoho CRM records, keyed by their field API names exactly as the REST API (v2/v3)
 * shows them, so a test can assert on `state.contacts[0].Phone` as it would read the JSON.
 * Ids are strings of 19 digits, as in Zoho (they exceed JavaScript's safe integers, so never
 * turn them into numbers).
 */

/** A user reference as Zoho writes it in Owner, Created_By, Modified_By. */
export interface ZohoUserRef {
  name: string;
  id: string;
  email: string;
}

/** A lookup (e.g. Contact_Name) or a parent reference (Parent_Id). */
export interface ZohoLookup {
  name: string | null;
  id: string;
}

export interface ZohoSystemFields {
  id: string;
  Owner: ZohoUserRef;
  Created_By: ZohoUserRef;
  Modified_By: ZohoUserRef;
  /** "2024-05-01T10:00:00+00:00": Zoho writes an offset, never "Z", and no milliseconds. */
  Created_Time: string;
  Modified_Time: string;
}

export interface ZohoContact extends ZohoSystemFields {
  First_Name: string | null;
  Last_Name: string;
  /** Read-only, "First Last". */
  Full_Name: string;
  Salutation: string | null;
  Email: string | null;
  Secondary_Email: string | null;
  Phone: string | null;
  Mobile: string | null;
  Home_Phone: string | null;
  Other_Phone: string | null;
  Fax: string | null;
  Title: string | null;
  Department: string | null;
  Lead_Source: string | null;
  Mailing_Street: string | null;
  Mailing_City: string | null;
  Mailing_State: string | null;
  Mailing_Zip: string | null;
  Mailing_Country: string | null;
  Description: string | null;
  Email_Opt_Out: boolean;
}

/** The standard Cases layout's picklists. */
export const CASE_STATUSES = ['New', 'On Hold', 'Escalated', 'Closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const CASE_ORIGINS = ['Phone', 'Email', 'Web'] as const;
export type CaseOrigin = (typeof CASE_ORIGINS)[number];
export const CASE_PRIORITIES = ['High', 'Medium', 'Low'] as const;
export const CASE_TYPES = ['Question', 'Problem', 'Feature Request'] as const;

export interface ZohoCase extends ZohoSystemFields {
  /** Read-only auto-number, "00001". */
  Case_Number: string;
  Subject: string;
  Status: CaseStatus;
  Case_Origin: CaseOrigin;
  Priority: string | null;
  Type: string | null;
  Case_Reason: string | null;
  Description: string | null;
  Internal_Comments: string | null;
  Solution: string | null;
  Email: string | null;
  Phone: string | null;
  Reported_By: string | null;
  /** Lookup to Contacts. */
  Contact_Name: ZohoLookup | null;
}

/** Modules that can own notes and attachments. */
export type ZohoParentModule = 'Contacts' | 'Cases';

export interface ZohoNote extends ZohoSystemFields {
  Note_Title: string | null;
  Note_Content: string;
  Parent_Id: ZohoLookup;
  $se_module: ZohoParentModule;
}

export interface ZohoAttachment extends ZohoSystemFields {
  File_Name: string;
  /** Bytes, as a string (that is how Zoho sends it). */
  Size: string;
  $file_id: string;
  /** "Attachment" for an uploaded file, "Link URL" for an attachmentUrl. */
  $type: 'Attachment' | 'Link URL';
  $link_url: string | null;
  $se_module: ZohoParentModule;
  Parent_Id: ZohoLookup;
  /** Not part of the API JSON: the bytes exactly as received, their type and digest. */
  content: Buffer;
  content_type: string;
  sha256: string;
}

export interface ZohoState {
  contacts: ZohoContact[];
  cases: ZohoCase[];
  notes: ZohoNote[];
  attachments: ZohoAttachment[];
}

export function emptyZohoState(): ZohoState {
  return { contacts: [], cases: [], notes: [], attachments: [] };
}
