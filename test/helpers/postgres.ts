/**
 * A real PostgreSQL server for store tests: one fresh schema per test suite, dropped after.
 * In CI (CI=true) an unreachable server fails the suite: it must never be silently skipped.
 * On a developer machine without PostgreSQL the suites are skipped with a loud message.
 */
import crypto from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

let reachable: boolean | undefined;

export async function postgresAvailable(): Promise<boolean> {
  if (reachable !== undefined) return reachable;
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    reachable = true;
  } catch (e) {
    if (process.env.CI) throw new Error(`PostgreSQL is required in CI but ${PG_URL} is unreachable: ${(e as Error).message}`);
    // eslint-disable-next-line no-console
    console.warn(`\n*** PostgreSQL at ${PG_URL} is unreachable: PostgreSQL suites are SKIPPED (${(e as Error).message}) ***\n`);
    reachable = false;
  } finally {
    await c.end().catch(() => undefined);
  }
  return reachable;
}

export function newSchemaName(): string {
  return `t_${crypto.randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** Kills every other connection to the database (simulates a failover / network cut). */
export async function terminateBackends(): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = $1',
      ['client backend'],
    );
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}
