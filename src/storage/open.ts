/**
 * The one place a connector's `storage:` settings become a FileStore. One case per kind of
 * storage; each backend checks its own destinations against the connector's SSRF guard.
 */
import type { SsrfGuard } from '../http/ssrf';
import { openGcsStore, type GcsStoreConfig } from './gcs';
import { S3FileStore, type S3StoreConfig } from './s3';
import type { FileStore } from './types';

export type FileStoreConfig = GcsStoreConfig | S3StoreConfig;

export interface OpenFileStoreDeps {
  /** The connector's SSRF guard (allow_private_network, and never the gateway itself). */
  readonly guard?: SsrfGuard;
  /** Called with each access token a backend obtains, so the Redactor masks it too. */
  readonly learnSecret?: (value: string) => void;
}

export async function openFileStore(config: FileStoreConfig, deps: OpenFileStoreDeps = {}): Promise<FileStore> {
  switch (config.type) {
    case 'gcs':
      return openGcsStore(config, deps);
    case 's3':
      // Every request goes through the guarded HTTP client: the SSRF check happens on each connection.
      return new S3FileStore(config, deps);
  }
}
