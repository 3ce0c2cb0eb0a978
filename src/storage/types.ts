/**
 * External storage of session files (recordings, transcripts, media, metadata): where a
 * connector's files are copied besides (or instead of) the CRM. One interface, one
 * implementation per kind of storage (SFTP, cloud bucket); the folder layout and file names
 * are decided once, in layout.ts, not by the backends.
 */

/** The platform's folders, exactly as its own external storage uses them. */
export const STORAGE_FOLDERS = ['ujet-chat-transcripts', 'ujet-media', 'ujet-metadata', 'ujet-voice-recordings', 'ujet-voicemails'] as const;
export type StorageFolder = (typeof STORAGE_FOLDERS)[number];

export interface StoredObject {
  /** Where the file is, for people and logs: e.g. sftp://host/base/ujet-metadata/call-1.json or gs://bucket/… (never with credentials). */
  readonly location: string;
  /** A link the CRM may show instead of the platform's private URL, when the storage gives one. */
  readonly url?: string;
}

export interface FileStore {
  /** sftp, gcs, s3: for logs, metrics and the delivery history. */
  readonly kind: string;
  /**
   * Writes `folder/name` (under the configured base folder), replacing what is there: a retry
   * writes the same name again, never a second file. Throws a NetworkError-like error with a
   * stable `code` when the storage cannot be reached (retried like a CRM outage).
   */
  put(folder: StorageFolder, name: string, data: Buffer, contentType: string): Promise<StoredObject>;
  /** Reads back a file (tests, and checking a write that may have happened before a crash). */
  get(folder: StorageFolder, name: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}
