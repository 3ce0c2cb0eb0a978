/**
 * Scale: claim latency and process memory with 10k, 100k and 1,000,000 pending writes. The
 * claim must stay flat (index-driven), not grow with the backlog. Rows are bulk-inserted
 * straight into the store's table (the HTTP path is measured in durable.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DEFAULT_RETRY_POLICY } from '../src/config/retry-policy';
import { PostgresStore } from '../src/delivery/postgres-store';
import { SqliteStore } from '../src/delivery/sqlite-store';
import type { DeliveryStore } from '../src/delivery/store';
import { line, mb, round, summarize } from './lib';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const POLICY = JSON.stringify(DEFAULT_RETRY_POLICY);
const VARS = JSON.stringify({ NAME: 'Pending Caller', EMAIL: 'pending@example.com', PHONE_NUMBER: '+12223334444', TICKET_SUBJECT: 'Waiting for the CRM' });

async function claimLatency(store: DeliveryStore, now: number): Promise<{ p50: number; p99: number }> {
  const lat: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const got = await store.claim(10, now, 60_000);
    lat.push(performance.now() - t);
    for (const d of got) await store.release(d.id, d.leaseToken!, now);
  }
  const s = summarize(lat.slice(10));
  return { p50: s.p50, p99: s.p99 };
}

async function fillSqlite(file: string, from: number, to: number, now: number): Promise<void> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const ins = db.prepare(`INSERT INTO deliveries (id, connector_id, operation, status, variables, policy, created_at, updated_at, next_attempt_at, ordering_key)
    VALUES (?, 'zendesk', 'create_account', 'pending', ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = from; i < to; i++) ins.run(crypto.randomUUID(), VARS, POLICY, now, now, now - (i % 1000), `zendesk:record:${i}`);
  })();
  db.close();
}

async function fillPostgres(url: string, schema: string, from: number, to: number, now: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SET search_path = ${schema}`);
  await c.query(
    `INSERT INTO deliveries (id, connector_id, operation, status, variables, policy, created_at, updated_at, next_attempt_at, ordering_key)
    SELECT md5(random()::text || g::text), 'zendesk', 'create_account', 'pending', $1::jsonb, $2::jsonb, $3::bigint, $3::bigint, $3::bigint - (g % 1000), 'zendesk:record:' || g
    FROM generate_series($4::int, $5::int - 1) AS g`,
    [VARS, POLICY, now, from, to],
  );
  await c.query('ANALYZE deliveries');
  await c.end();
}

export async function benchScale(pgUrl: string | undefined): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const now = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'));
  const file = path.join(dir, 'scale.db');
  const sqlite = new SqliteStore(file);
  await sqlite.migrate();
  let filled = 0;
  const rssBase = process.memoryUsage().rss;
  for (const size of SIZES) {
    await fillSqlite(file, filled, size, now);
    filled = size;
    const claim = await claimLatency(sqlite, now);
    if (global.gc) global.gc();
    const rss = process.memoryUsage().rss;
    out[`sqlite_${size}`] = {
      claim_p50_ms: claim.p50,
      claim_p99_ms: claim.p99,
      rss_mb: mb(rss),
      rss_growth_mb: mb(rss - rssBase),
      db_file_mb: mb(fs.statSync(file).size),
    };
    line(`scale: sqlite, ${size.toLocaleString('en')} pending`, out[`sqlite_${size}`] as Record<string, unknown>);
  }
  const first = out[`sqlite_${SIZES[0]}`] as { claim_p50_ms: number };
  const last = out[`sqlite_${SIZES.at(-1)}`] as { claim_p50_ms: number };
  out.sqlite_claim_ratio_largest_vs_smallest = round(last.claim_p50_ms / first.claim_p50_ms);
  line('scale: sqlite claim p50 ratio (largest / smallest)', { ratio: out.sqlite_claim_ratio_largest_vs_smallest });
  await sqlite.close();
  fs.rmSync(dir, { recursive: true, force: true });

  if (pgUrl) {
    const schema = `bench_scale_${process.pid}`;
    const store = new PostgresStore({ connectionString: pgUrl, schema, max: 2 });
    await store.migrate();
    filled = 0;
    for (const size of SIZES) {
      await fillPostgres(pgUrl, schema, filled, size, now);
      filled = size;
      const claim = await claimLatency(store, now);
      out[`postgres_${size}`] = { claim_p50_ms: claim.p50, claim_p99_ms: claim.p99, rss_mb: mb(process.memoryUsage().rss) };
      line(`scale: postgres, ${size.toLocaleString('en')} pending`, out[`postgres_${size}`] as Record<string, unknown>);
    }
    const a = out[`postgres_${SIZES[0]}`] as { claim_p50_ms: number };
    const b = out[`postgres_${SIZES.at(-1)}`] as { claim_p50_ms: number };
    out.postgres_claim_ratio_largest_vs_smallest = round(b.claim_p50_ms / a.claim_p50_ms);
    line('scale: postgres claim p50 ratio (largest / smallest)', { ratio: out.postgres_claim_ratio_largest_vs_smallest });
    await store.pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await store.close();
  }
  return out;
}
