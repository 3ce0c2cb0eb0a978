/** Reconciliation watermarks (migration 7) in both stores: durable, per connector and source, never moved back. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../../../src/delivery/postgres-store';
import { SqliteStore } from '../../../src/delivery/sqlite-store';
import type { DeliveryStore } from '../../../src/delivery/store';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../../helpers/postgres';

async function contract(open: () => Promise<DeliveryStore>): Promise<void> {
  let store = await open();
  expect(await store.loadWatermark('zd', 'zoom')).toBeUndefined();
  await store.saveWatermark('zd', 'zoom', 1000, 5000);
  await store.saveWatermark('other', 'zoom', 7, 8);
  await store.saveWatermark('zd', 'zoom', 900, 6000); // an older range: the watermark stays, the run time moves
  expect(await store.loadWatermark('zd', 'zoom')).toEqual({ watermark: 1000, lastRunAt: 6000 });
  await store.close();
  store = await open(); // durable: a new process reads it
  expect(await store.loadWatermark('zd', 'zoom')).toEqual({ watermark: 1000, lastRunAt: 6000 });
  expect(await store.loadWatermark('other', 'zoom')).toEqual({ watermark: 7, lastRunAt: 8 });
  expect(await store.loadWatermark('zd', 'other-source')).toBeUndefined();
  // A scheduled run is claimed once: by whoever sees last_run_at still before the due time.
  const claims = await Promise.all([store.claimRun('zd', 'zoom', 7000, 9000), store.claimRun('zd', 'zoom', 7000, 9001)]);
  expect(claims.filter(Boolean)).toHaveLength(1);
  expect((await store.loadWatermark('zd', 'zoom'))!.lastRunAt).toBeGreaterThanOrEqual(9000);
  expect(await store.claimRun('zd', 'zoom', 7000, 9500)).toBe(false);
  expect(await store.claimRun('never-run', 'zoom', 7000, 9500)).toBe(false);
  await store.close();
}

test('SQLite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wm-'));
  try {
    await contract(async () => {
      const s = new SqliteStore(path.join(dir, 'db.sqlite'));
      await s.migrate();
      return s;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    await contract(async () => {
      const s = new PostgresStore({ connectionString: PG_URL, schema, max: 2 });
      await s.migrate();
      return s;
    });
  } finally {
    await dropSchema(schema);
  }
});
