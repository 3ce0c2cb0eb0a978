/** Chooses the store: PostgreSQL when DATABASE_URL is set, else the SQLite file under DATA_DIR. */
import path from 'node:path';
import type { EncryptionKeys } from '../auth/token-cipher';
import { PostgresStore } from './postgres-store';
import { SqliteStore } from './sqlite-store';
import type { DeliveryStore } from './store';

export async function openStore(opts: {
  databaseUrl?: string;
  dataDir: string;
  schema?: string;
  onError?: (e: Error) => void;
  encryption?: EncryptionKeys;
  /** false: the caller runs the migrations (serve retries them while PostgreSQL is down). */
  migrate?: boolean;
}): Promise<DeliveryStore> {
  const store: DeliveryStore = opts.databaseUrl
    ? new PostgresStore({ connectionString: opts.databaseUrl, schema: opts.schema, onError: opts.onError, encryption: opts.encryption })
    : new SqliteStore(path.join(opts.dataDir, 'crm-gateway.db'), { encryption: opts.encryption });
  if (opts.migrate !== false) await store.migrate();
  return store;
}
