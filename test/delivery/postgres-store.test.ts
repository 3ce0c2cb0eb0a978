import crypto from 'node:crypto';
import { PostgresStore } from '../../src/delivery/postgres-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import type { EncryptionKeys } from '../../src/auth/token-cipher';
import { TEST_KEYS, storeContract } from './store-contract';

storeContract('PostgreSQL', async () => {
  if (!(await postgresAvailable())) return undefined;
  const schema = newSchemaName();
  const open: DeliveryStore[] = [];
  const make = async (o: { encryption?: EncryptionKeys | null } = {}) => {
    const s = new PostgresStore({ connectionString: PG_URL, schema, max: 4, encryption: o.encryption === null ? undefined : (o.encryption ?? TEST_KEYS) });
    await s.migrate();
    open.push(s);
    return s;
  };
  return {
    sql: async (statement) => (await (open[0] as PostgresStore).pool.query(statement)).rows as Array<Record<string, unknown>>,
    columns: async (table) => {
      const r = await (open[0] as PostgresStore).pool.query('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [
        schema,
        table,
      ]);
      return r.rows.map((x: { column_name: string }) => x.column_name);
    },
    create: () => make(),
    shared: make,
    async destroy() {
      for (const s of open) await s.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
});

test('PostgreSQL: a write the database refuses fails alone, not the writes batched with it', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const s = new PostgresStore({ connectionString: PG_URL, schema, max: 4 });
  try {
    await s.migrate();
    const { DEFAULT_RETRY_POLICY } = await import('../../src/config/retry-policy');
    const write = (name: string) => ({
      id: crypto.randomUUID(),
      connectorId: 'zendesk',
      operation: 'create_account' as const,
      variables: { NAME: name },
      policy: DEFAULT_RETRY_POLICY,
    });
    // jsonb refuses the NUL character: that one write fails, the two beside it are stored.
    const results = await Promise.allSettled([s.enqueue(write('before'), 1), s.enqueue(write('bad\u0000name'), 1), s.enqueue(write('after'), 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await s.counts()).pending).toBe(2);
  } finally {
    await s.close();
    await dropSchema(schema);
  }
});

test('PostgreSQL: refresh locks have connections of their own: many connectors refreshing at once never starve the pool their tokens are read through', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const s = new PostgresStore({ connectionString: PG_URL, schema, max: 1, encryption: TEST_KEYS });
  try {
    await s.migrate();
    const ids = Array.from({ length: 6 }, (_, i) => `c${i}`);
    await Promise.all(
      ids.map((id) =>
        s.tokens.withRefreshLock(id, async () => {
          await s.tokens.set(id, { access_token: `at-${id}`, obtained_at: 1 });
          return s.tokens.get(id);
        }),
      ),
    );
    for (const id of ids) expect((await s.tokens.get(id))!.access_token).toBe(`at-${id}`);
  } finally {
    await s.close();
    await dropSchema(schema);
  }
});

test('PostgreSQL: migration 3 takes unknown_outcome and moves a "__flow" key out of the variables', async () => {
  if (!(await postgresAvailable())) return;
  const { POSTGRES_MIGRATIONS } = await import('../../src/delivery/migrations');
  const schema = newSchemaName();
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
    await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 2).entries()) {
      await c.query(sql);
      await c.query('INSERT INTO schema_migrations VALUES ($1, 0)', [i + 1]);
    }
    const insert = `INSERT INTO deliveries (id, connector_id, operation, status, variables, policy, created_at, updated_at, next_attempt_at) VALUES ($1, 'zendesk', $2, 'pending', $3, '{}', 1, 1, 1)`;
    await c.query(insert, ['old-comment', 'add_comment', JSON.stringify({ COMMENT_BODY: 'Record created', __flow: { onlyIfDependencyCreated: true } })]);
    await c.query(insert, ['old-step', 'resolve_record', JSON.stringify({ PHONE_NUMBER: '+12223334444', __flow: { sessionId: 's-1' } })]);
  } finally {
    await c.end();
  }
  const s = new PostgresStore({ connectionString: PG_URL, schema, max: 2, encryption: TEST_KEYS });
  try {
    await s.migrate();
    expect(await s.get('old-comment')).toMatchObject({
      variables: { COMMENT_BODY: 'Record created' },
      condition: { onlyIfDependencyCreated: true },
      step: undefined,
    });
    expect((await s.get('old-comment'))!.variables).not.toHaveProperty('__flow');
    expect(await s.get('old-step')).toMatchObject({ variables: { PHONE_NUMBER: '+12223334444' }, step: { sessionId: 's-1' }, condition: undefined });
    await s.pool.query("UPDATE deliveries SET status = 'unknown_outcome' WHERE id = 'old-step'");
    await expect(s.pool.query("UPDATE deliveries SET status = 'lost' WHERE id = 'old-step'")).rejects.toThrow(/check constraint/);
  } finally {
    await s.close();
    await dropSchema(schema);
  }
});
