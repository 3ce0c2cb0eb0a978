/**
 * `storage:` and `metadata_file:` of a connector file → compiled settings (the schema has
 * checked the shapes; this adds defaults and what a schema cannot say: one credential, a key
 * that can be read, a fingerprint that looks like one).
 */
import { utils } from 'ssh2';
import { FILE_KINDS, type FileKind } from './types';
import type { PathSegment } from './yaml-source';
import { normalizeFingerprint, type StorageSettings } from './storage-types';
import { compileGcsStorage, gcsStorageSecrets, type GcsStorageFile } from './storage-gcs';
import { compileS3Storage, s3StorageSecrets, type S3StorageFile } from './storage-s3';

export interface SftpStorageFile {
  type: 'sftp';
  host: string;
  port?: number;
  user: string;
  password?: string;
  private_key?: string;
  passphrase?: string;
  host_key_sha256?: string;
  folder?: string;
  kinds?: FileKind[];
  link_in_crm?: boolean;
  timeout_seconds?: number;
  /** The http(s) address where a web server publishes the base folder (if one does). */
  public_url?: string;
}
/** What every kind of storage takes besides its own settings. */
interface CommonStorageFile {
  kinds?: FileKind[];
  link_in_crm?: boolean;
}
export type StorageFile = SftpStorageFile | (GcsStorageFile & CommonStorageFile) | (S3StorageFile & CommonStorageFile);

export interface MetadataFileFile {
  delay_minutes?: number;
  send_to_crm?: boolean;
  store?: boolean;
}

export type { StorageSettings };

export interface ConnectorStorage {
  readonly settings: StorageSettings;
  /** The file kinds copied there (default: all). */
  readonly kinds: ReadonlySet<FileKind>;
  /** CRM comments link to the stored copy when the storage gives an http(s) URL (buckets). */
  readonly linkInCrm: boolean;
}

export interface MetadataFileSettings {
  readonly delayMs: number;
  readonly sendToCrm: boolean;
  readonly store: boolean;
}

export const DEFAULT_METADATA_DELAY_MINUTES = 15;

type Report = (path: PathSegment[], message: string, severity?: 'error' | 'warning') => void;

export function compileStorage(f: StorageFile | undefined, allowPrivateNetwork: readonly string[], report: Report): ConnectorStorage | undefined {
  if (!f || typeof f !== 'object') return undefined;
  const kinds = new Set<FileKind>(f.kinds ?? FILE_KINDS);
  // Buckets: their own settings, the same kinds and link rule.
  const bucket = compileGcsStorage(f, allowPrivateNetwork, report) ?? compileS3Storage(f, allowPrivateNetwork, report);
  if (bucket) {
    if (f.link_in_crm)
      report(
        ['link_in_crm'],
        "a bucket signs a file's link when the file is written, after the CRM comment that would carry it: the CRM keeps the platform's link (or set settings.send_files_to_crm to upload the file itself)",
        'warning',
      );
    return { settings: bucket, kinds, linkInCrm: false };
  }
  if (f.type === 'sftp') {
    if (!f.password === !f.private_key)
      report([f.password ? 'private_key' : 'password'], 'give either password or private_key (with passphrase when the key has one)');
    if (f.passphrase !== undefined && !f.private_key) report(['passphrase'], 'passphrase is for private_key');
    if (f.private_key) {
      const parsed = utils.parseKey(f.private_key, f.passphrase);
      // Never quote the key: only why it cannot be used.
      if (parsed instanceof Error)
        report(
          ['private_key'],
          `the private key cannot be used: ${/passphrase|decrypt|bad/i.test(parsed.message) ? 'wrong or missing passphrase' : 'not an OpenSSH, PEM or PPK private key'}`,
        );
    }
    const pin = f.host_key_sha256 !== undefined ? normalizeFingerprint(f.host_key_sha256) : undefined;
    if (pin !== undefined && !/^[A-Za-z0-9+/]{43}$/.test(pin))
      report(['host_key_sha256'], 'not a SHA-256 fingerprint: give it as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)');
    if (pin === undefined)
      report(['host_key_sha256'], "the SFTP server's host key is not pinned: any key is accepted (its fingerprint is logged); set host_key_sha256", 'warning');
    if (f.link_in_crm && !f.public_url)
      report(
        ['link_in_crm'],
        "SFTP gives no http(s) link without public_url (where a web server publishes the folder): the CRM keeps getting the platform's link",
        'warning',
      );
    if (f.public_url !== undefined && !/^https?:\/\/[^\s]+$/i.test(f.public_url)) report(['public_url'], 'public_url must be an http(s) URL');
    if (f.folder?.split('/').includes('..')) report(['folder'], 'folder must not contain ".."');
    return {
      settings: {
        type: 'sftp',
        host: f.host,
        port: f.port ?? 22,
        user: f.user,
        ...(f.password ? { password: f.password } : {}),
        ...(f.private_key ? { privateKey: f.private_key, ...(f.passphrase ? { passphrase: f.passphrase } : {}) } : {}),
        folder: (f.folder ?? '').replace(/\/+$/, ''),
        ...(pin ? { hostKeySha256: pin } : {}),
        timeoutMs: Math.round((f.timeout_seconds ?? 30) * 1000),
        ...(f.public_url ? { publicUrl: f.public_url.replace(/\/+$/, '') } : {}),
      },
      kinds,
      linkInCrm: f.link_in_crm ?? false,
    };
  }
  return undefined;
}

/**
 * Defaults follow what the connector has: stored when its storage takes session_metadata,
 * sent to the CRM when its upload_file accepts session_metadata.
 */
export function compileMetadataFile(
  f: MetadataFileFile | undefined,
  storage: ConnectorStorage | undefined,
  crmAccepts: boolean,
  report: Report,
): MetadataFileSettings | undefined {
  if (!f || typeof f !== 'object') return undefined;
  const store = f.store ?? storage?.kinds.has('session_metadata') ?? false;
  const sendToCrm = f.send_to_crm ?? crmAccepts;
  if (store && !storage) report(['store'], 'metadata_file.store needs storage: (where to write it)');
  if (store && storage && !storage.kinds.has('session_metadata')) report(['store'], 'storage.kinds does not include session_metadata');
  if (f.send_to_crm && !crmAccepts) report(['send_to_crm'], 'endpoints.upload_file is missing or its file_kinds leave out session_metadata');
  if (!store && !sendToCrm) report([], 'the metadata file goes nowhere: neither stored nor sent to the CRM', 'warning');
  return { delayMs: Math.round((f.delay_minutes ?? DEFAULT_METADATA_DELAY_MINUTES) * 60_000), sendToCrm, store };
}

/** Values masked wherever they appear, even when written inline rather than ${env:…}. */
export function storageSecrets(f: StorageFile | undefined): string[] {
  if (!f || typeof f !== 'object') return [];
  if (f.type !== 'sftp') return [...gcsStorageSecrets(f), ...s3StorageSecrets(f)];
  return [f.password, f.private_key, f.passphrase].filter((v): v is string => typeof v === 'string');
}
