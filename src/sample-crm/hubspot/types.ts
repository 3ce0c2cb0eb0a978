/**
 * In-memory data of the HubSpot-like sample CRM (CRM v3 objects, associations, Files v3).
 * Everything a test may want to assert on is plain data here; the HTTP shapes are produced
 * by serialize.ts.
 */

/** The CRM object types this emulator knows, by their v3 path names. */
export type HubSpotObjectType = 'contacts' | 'tickets' | 'notes';

export interface HubSpotObject {
  /** Numeric string, like HubSpot's. */
  id: string;
  /** Property values are always strings in HubSpot (numbers and booleans are stringified). */
  properties: Record<string, string>;
  /** ms since epoch. */
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt: number | null;
}

export type AssociationCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';

/** One association as created (from → to with a type id); the inverse direction is implied. */
export interface HubSpotAssociation {
  fromType: HubSpotObjectType;
  fromId: string;
  toType: HubSpotObjectType;
  toId: string;
  category: AssociationCategory;
  typeId: number;
}

export type FileAccess =
  | 'PUBLIC_INDEXABLE'
  | 'PUBLIC_NOT_INDEXABLE'
  | 'HIDDEN_INDEXABLE'
  | 'HIDDEN_NOT_INDEXABLE'
  | 'HIDDEN_PRIVATE'
  | 'PRIVATE'
  | 'HIDDEN_SENSITIVE'
  | 'SENSITIVE';

export type FileType = 'IMG' | 'DOCUMENT' | 'AUDIO' | 'MOVIE' | 'OTHER';

export interface HubSpotFolder {
  id: string;
  name: string;
  /** "/library/cat_archive"; the root folder is not stored. */
  path: string;
  parentFolderId: string | null;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
}

export interface HubSpotFile {
  id: string;
  /** Without the extension, as HubSpot reports it ("call-1" for "call-1.mp3"). */
  name: string;
  /** Lower-case, without the dot; "" when the name has none. */
  extension: string;
  /** Full path including folder and extension: "/crm-gateway/tickets/7/call-1.mp3". */
  path: string;
  parentFolderId: string | null;
  size: number;
  type: FileType;
  /** The MIME type the upload declared (or one guessed from the extension). */
  contentType: string;
  access: FileAccess;
  md5: string;
  content: Buffer;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  /** ms since epoch; from options.ttl. */
  expiresAt: number | null;
}

export interface SignedUrl {
  fileId: string;
  signature: string;
  expiresAt: number;
}

/** Makes the next `remaining` API requests answer 429 (see HubSpotHelpers.throttle). */
export interface Throttle {
  remaining: number;
  retryAfterSec: number;
  policyName: 'SECONDLY' | 'TEN_SECONDLY_ROLLING' | 'DAILY';
}

export interface HubSpotState {
  contacts: HubSpotObject[];
  tickets: HubSpotObject[];
  notes: HubSpotObject[];
  associations: HubSpotAssociation[];
  folders: HubSpotFolder[];
  files: HubSpotFile[];
  signedUrls: SignedUrl[];
  throttle: Throttle | null;
}

export function emptyHubSpotState(): HubSpotState {
  return { contacts: [], tickets: [], notes: [], associations: [], folders: [], files: [], signedUrls: [], throttle: null };
}
