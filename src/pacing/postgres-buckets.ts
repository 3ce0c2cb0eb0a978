/**
 * Rate-limit buckets shared by every gateway process on one PostgreSQL database: one row per
 * (connector, bucket), changed by single statements that lock it for the instant of the update,
 * so two replicas together never grant more than the budget. The arithmetic is bucket.ts's,
 * written in SQL (test/pacing/postgres-buckets.test.ts checks they agree). Times are the
 * processes' clocks, as everywhere in the store (leases, next attempts): keep replicas on NTP.
 *
 * One round trip per call that takes a slot. While the database cannot be reached, each process
 * paces on its own budget in memory (better than stopping every CRM call, and logged once).
 */
import type pg from 'pg';
import type { Logger } from '../util/logger';
import { MIN_RATE_PER_SEC, type BucketSpec } from './bucket';
import { MemoryBuckets, type BucketBackend, type SlotGrant } from './limiter';

/** The rate in force ($3 now, $4 the spec's rate), and the tokens refilled to now ($5 burst). */
const RATE = `(CASE WHEN cap_until_ms > $3::bigint THEN greatest(${MIN_RATE_PER_SEC}, least($4::float8, cap_rate)) ELSE $4::float8 END)`;
const REFILLED = `(CASE WHEN $3::bigint > updated_ms THEN least($5::float8, tokens + ($3::bigint - updated_ms) * ${RATE} / 1000.0) ELSE tokens END)`;

const RESERVE = `WITH cur AS (
    SELECT ${REFILLED} AS avail, greatest($3::bigint, updated_ms) AS base, ${RATE} AS rate
    FROM rate_buckets WHERE connector_id = $1 AND bucket = $2 FOR UPDATE),
  w AS (SELECT avail, base, (base - $3::bigint) + greatest(0, 1 - avail) * 1000.0 / rate AS wait_ms FROM cur)
  UPDATE rate_buckets b SET tokens = CASE WHEN w.wait_ms <= $6::float8 THEN w.avail - 1 ELSE w.avail END, updated_ms = w.base
  FROM w WHERE b.connector_id = $1 AND b.bucket = $2
  RETURNING w.wait_ms, w.avail`;

const REFUND = `UPDATE rate_buckets SET tokens = least($5::float8, ${REFILLED} + 1), updated_ms = greatest(updated_ms, $3::bigint)
  WHERE connector_id = $1 AND bucket = $2`;

/** $6: until when. No refill before then; what reservations owe stays owed. */
const BLOCK = `UPDATE rate_buckets SET tokens = least(0, ${REFILLED}), updated_ms = greatest(updated_ms, $3::bigint, $6::bigint),
    blocked_until_ms = greatest(blocked_until_ms, $6::bigint)
  WHERE connector_id = $1 AND bucket = $2 AND $6::bigint > $3::bigint`;

/** $6: the capped rate, $7: until when; only below the spec's rate; a tighter cap cuts the burst. */
const CAP = `UPDATE rate_buckets SET tokens = CASE WHEN $6::float8 < ${RATE} THEN least(1, ${REFILLED}) ELSE ${REFILLED} END,
    updated_ms = greatest(updated_ms, $3::bigint), cap_rate = greatest(${MIN_RATE_PER_SEC}, $6::float8), cap_until_ms = $7::bigint
  WHERE connector_id = $1 AND bucket = $2 AND $6::float8 < $4::float8 AND $7::bigint > $3::bigint`;

export class PostgresBuckets implements BucketBackend {
  private readonly ready = new Set<string>();
  private readonly lastSeen = new Map<string, number>();
  private readonly fallback = new MemoryBuckets();
  private warned = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectorId: string,
    private readonly logger?: Logger,
  ) {}

  async reserve(key: string, spec: BucketSpec, now: number, maxWaitMs: number): Promise<SlotGrant> {
    try {
      await this.ensure(key, spec, now);
      const { rows } = await this.pool.query(RESERVE, [...this.params(key, spec, now), maxWaitMs]);
      const row = rows[0] as { wait_ms: number; avail: number } | undefined;
      if (!row) throw new Error('rate bucket row missing');
      const waitMs = Number(row.wait_ms);
      this.lastSeen.set(key, Number(row.avail) - (waitMs <= maxWaitMs ? 1 : 0));
      this.warned = false;
      return waitMs <= maxWaitMs ? { granted: true, waitMs } : { granted: false, retryAfterMs: Math.ceil(waitMs) };
    } catch (e) {
      this.warnOnce(e);
      return this.fallback.reserve(key, spec, now, maxWaitMs);
    }
  }

  async refund(key: string, spec: BucketSpec, now: number): Promise<void> {
    await this.pool.query(REFUND, this.params(key, spec, now));
  }

  async block(key: string, spec: BucketSpec, now: number, untilMs: number): Promise<void> {
    this.fallback.block(key, spec, now, untilMs);
    await this.ensure(key, spec, now);
    await this.pool.query(BLOCK, [...this.params(key, spec, now), Math.round(untilMs)]);
  }

  async cap(key: string, spec: BucketSpec, now: number, ratePerSec: number, untilMs: number): Promise<void> {
    this.fallback.cap(key, spec, now, ratePerSec, untilMs);
    await this.ensure(key, spec, now);
    await this.pool.query(CAP, [...this.params(key, spec, now), ratePerSec, Math.round(untilMs)]);
  }

  tokens(key: string, spec: BucketSpec, _now: number): number {
    return this.lastSeen.get(key) ?? spec.burst;
  }

  private params(key: string, spec: BucketSpec, now: number): unknown[] {
    return [this.connectorId, key, Math.round(now), spec.ratePerSec, spec.burst];
  }

  /** The row, created full on first use (by whichever replica comes first). */
  private async ensure(key: string, spec: BucketSpec, now: number): Promise<void> {
    if (this.ready.has(key)) return;
    await this.pool.query(
      'INSERT INTO rate_buckets (connector_id, bucket, tokens, updated_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (connector_id, bucket) DO NOTHING',
      [this.connectorId, key, spec.burst, Math.round(now)],
    );
    this.ready.add(key);
  }

  private warnOnce(e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger?.warn(
      { connector: this.connectorId, err: (e as Error)?.message ?? String(e) },
      'rate limit: the shared budget in PostgreSQL is unreachable; pacing on this process alone until it is back',
    );
  }
}

/** The store's pool → one backend per connector id. */
export function postgresRateBuckets(pool: pg.Pool, logger?: Logger): { forConnector(connectorId: string): BucketBackend } {
  return { forConnector: (id) => new PostgresBuckets(pool, id, logger) };
}
