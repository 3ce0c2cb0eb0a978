/**
 * The open storages, one per connector that has `storage:`: its connection is reused by every
 * file the connector stores, and replaced (the old one closed) when a reload changes the settings.
 */
import type { ConnectorRuntime } from '../operations/runtime';
import type { Logger } from '../util/logger';
import { openFileStore } from './open';
import type { FileStore } from './types';

export class FileStores {
  private open = new Map<string, { key: string; store: FileStore }>();
  private warned = new Set<string>();

  constructor(private readonly logger?: Logger) {}

  /** The connector's store; it reaches its destination through the connector's SSRF guard, and the tokens it obtains are masked. */
  for(rt: Pick<ConnectorRuntime, 'connector' | 'guard' | 'redactor'>): FileStore | undefined {
    const c = rt.connector;
    if (!c.storage) return undefined;
    const key = JSON.stringify(c.storage.settings);
    const have = this.open.get(c.id);
    if (have?.key === key) return have.store;
    void have?.store.close();
    const store = openFileStore(c.storage.settings, {
      guard: rt.guard,
      learnSecret: (v) => rt.redactor.add(v),
      onUnpinnedHostKey: (fingerprint) => {
        // Once per connector and key: a warning to act on, not one per file.
        if (this.warned.has(`${c.id} ${fingerprint}`)) return;
        this.warned.add(`${c.id} ${fingerprint}`);
        this.logger?.warn(
          { connector: c.id, host_key: fingerprint },
          "storage: the SFTP server's host key is not pinned and was accepted; set storage.host_key_sha256 to this fingerprint",
        );
      },
    });
    this.open.set(c.id, { key, store });
    return store;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((x) => x.store.close()));
  }
}
