/**
 * The storage a connector's `storage:` names. Kept to one switch: each backend is its own module.
 */
import type { StorageSettings } from './config';
import { SftpStore, type SftpOptions } from './sftp';
import type { FileStore } from './types';

export function openFileStore(config: StorageSettings, opts: SftpOptions = {}): FileStore {
  switch (config.type) {
    case 'sftp':
      return new SftpStore(config, opts);
  }
}
