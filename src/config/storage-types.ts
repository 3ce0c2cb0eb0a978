/**
 * The compiled `storage:` settings of a connector (what config/ produces and storage/ opens).
 * Here, below both, so the loader never imports a storage backend.
 */

export const GCS_DEFAULTS = {
  apiEndpoint: 'https://storage.googleapis.com',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  /** V4 signed URLs live at most 7 days. */
  linkExpiryHours: 24 * 7,
  timeoutMs: 60_000,
} as const;

export type GcsCredentials =
  | { readonly kind: 'service_account'; readonly clientEmail: string; readonly privateKey: string; readonly projectId?: string }
  | { readonly kind: 'oauth_client'; readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string; readonly tokenUrl?: string };

export interface GcsStoreConfig {
  readonly type: 'gcs';
  readonly bucket: string;
  /** Folder path inside the bucket, without leading or trailing slash; '' = the bucket root. */
  readonly folder: string;
  /** Absent: Google's endpoint. */
  readonly apiEndpoint?: string;
  /** Absent: anonymous (an emulator, or a bucket that allows it). */
  readonly credentials?: GcsCredentials;
  readonly linkExpiryMs: number;
  readonly timeoutMs?: number;
}

export interface S3StoreConfig {
  readonly type: 's3';
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 (MinIO). */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Folder path inside the bucket, without leading or trailing slash; '' = the bucket root. */
  readonly folder: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** true: {endpoint}/{bucket}/{key} (MinIO and most compatibles); false: {bucket}.{endpoint host}/{key}. */
  readonly pathStyle: boolean;
  readonly linkExpiryMs: number;
  readonly timeoutMs?: number;
}

export interface SftpSettings {
  readonly type: 'sftp';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
  /** Base folder the platform's folders go under; empty: the login folder. */
  readonly folder: string;
  /** The server key's SHA-256 fingerprint, base64 without padding and without "SHA256:". */
  readonly hostKeySha256?: string;
  readonly timeoutMs: number;
  /** Where a web server publishes the base folder over http(s), if one does: stored files get a link. */
  readonly publicUrl?: string;
}

/** "SHA256:abc=" / "abc" → "abc" (how OpenSSH prints it: base64, no padding). */
export function normalizeFingerprint(v: string): string {
  return v
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
}

/** What a connector's storage: compiles to, whichever the kind. */
export type StorageSettings = SftpSettings | GcsStoreConfig | S3StoreConfig;
