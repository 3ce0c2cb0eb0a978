/**
 * The storage a connector's `storage:` names. Kept to one switch: each backend is its own module.
 */
import type { StorageSettings } from './config';
import { sftpFileUrl, SftpStore, type SftpOptions } from './sftp';
import type { FileStore, StorageFolder } from './types';

export function openFileStore(config: StorageSettings, opts: SftpOptions = {}): FileStore {
  switch (config.type) {
    case 'sftp':
      return new SftpStore(config, opts);
  }
}

/** The http(s) link a file will have once stored, known before it is (storage.link_in_crm), or undefined. */
export function storedFileUrl(config: StorageSettings, folder: StorageFolder, name: string): string | undefined {
  switch (config.type) {
    case 'sftp':
      return sftpFileUrl(config, folder, name);
  }
}
