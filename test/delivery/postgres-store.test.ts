import { PostgresStore } from '../../src/delivery/postgres-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import { storeContract } from './store-contract';

storeContract('PostgreSQL', async () => {
  if (!(await postgresAvailable())) return undefined;
  const schema = newSchemaName();
  const open: DeliveryStore[] = [];
  const make = async () => { const s = new PostgresStore({ connectionString: PG_URL, schema, max: 4 }); await s.migrate(); open.push(s); return s; };
  return {
    create: make,
    shared: make,
    async destroy() {
      for (const s of open) await s.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
});
