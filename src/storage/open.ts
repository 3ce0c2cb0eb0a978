/**
 * The one place a connector's `storage:` settings become a FileStore: one case per kind of
 * storage; each backend checks its own destinations against the connector's SSRF guard.
 */
import type { StorageSettings } from '../config/storage-types';
import type { SsrfGuard } from '../http/ssrf';
import { openGcsStore } from './gcs';
import { S3FileStore } from './s3';
import { sftpFileUrl, SftpStore } from './sftp';
import type { FileStore, StorageFolder, StoredObject } from './types';

export interface OpenFileStoreDeps {
  /** The connector's SSRF guard (allow_private_network, and never the gateway itself). */
  readonly guard?: SsrfGuard;
  /** Called with each access token a backend obtains, so the Redactor masks it too. */
  readonly learnSecret?: (value: string) => void;
  /** SFTP: told the fingerprint of an unpinned server key (a warning to log). */
  readonly onUnpinnedHostKey?: (fingerprint: string) => void;
  readonly idleMs?: number;
}

export function openFileStore(config: StorageSettings, deps: OpenFileStoreDeps = {}): FileStore {
  switch (config.type) {
    case 'sftp':
      return new SftpStore(config, deps);
    case 'gcs':
      // The client is made (and its endpoint checked) once, on first use.
      return openedLater('gcs', () => openGcsStore(config, deps));
    case 's3':
      // Every request goes through the guarded HTTP client: the SSRF check happens on each connection.
      return new S3FileStore(config, deps);
  }
}

/**
 * The http(s) link a file will have once stored, known before it is (storage.link_in_crm), or
 * undefined: SFTP with public_url. Buckets give their (signed, expiring) link only when the file
 * is written, so a CRM comment written before that links to the platform's copy.
 */
export function storedFileUrl(config: StorageSettings, folder: StorageFolder, name: string): string | undefined {
  return config.type === 'sftp' ? sftpFileUrl(config, folder, name) : undefined;
}

/** A store opened asynchronously, used as if it were open: every call waits for the opening. */
function openedLater(kind: string, open: () => Promise<FileStore>): FileStore {
  let opening: Promise<FileStore> | undefined;
  const store = () =>
    (opening ??= open().catch((e: unknown) => {
      opening = undefined;
      throw e;
    }));
  return {
    kind,
    put: async (folder: StorageFolder, name: string, data: Buffer, contentType: string): Promise<StoredObject> =>
      (await store()).put(folder, name, data, contentType),
    get: async (folder: StorageFolder, name: string) => (await store()).get(folder, name),
    close: async () => {
      if (opening) await (await opening.catch(() => undefined))?.close();
    },
  };
}
