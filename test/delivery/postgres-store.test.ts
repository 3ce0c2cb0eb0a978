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
    columns: async (table) => {
      const r = await (open[0] as PostgresStore).pool.query('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [schema, table]);
      return r.rows.map((x: { column_name: string }) => x.column_name);
    },
    create: make,
    shared: make,
    async destroy() {
      for (const s of open) await s.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
});
