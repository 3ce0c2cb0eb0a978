/**
 * `npm run bench`: every benchmark prints its figures next to a baseline measured in the same
 * run, and writes bench/results/<name>.json. PostgreSQL figures need BENCH_DATABASE_URL (or
 * TEST_DATABASE_URL); without one they are skipped with a note.
 */
import pg from 'pg';
import { benchDurable } from './durable';
import { benchFlows } from './flows';
import { benchScale } from './scale';
import { benchSync } from './sync';
import { benchRender } from './render';
import { benchLimits } from './limits';
import { saveResult } from './lib';

async function postgresUrl(): Promise<string | undefined> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return url;
  } catch {
    process.stdout.write(`(PostgreSQL at ${url} unreachable: PostgreSQL figures skipped)\n`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const pgUrl = await postgresUrl();
  const want = (name: string) => only.length === 0 || only.includes(name);
  if (want('durable')) saveResult('durable', await benchDurable(pgUrl));
  if (want('scale')) saveResult('scale', await benchScale(pgUrl));
  if (want('sync')) saveResult('sync', await benchSync());
  if (want('render')) saveResult('render', await benchRender());
  if (want('flows')) saveResult('flows', await benchFlows(pgUrl));
  if (want('limits')) saveResult('limits', await benchLimits(pgUrl));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
