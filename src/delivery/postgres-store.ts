/**
 * PostgreSQL store for many gateway replicas. Claims are one statement with
 * FOR UPDATE SKIP LOCKED, so replicas never block on each other's rows; the lease token
 * fences a slow worker out of recording a result after its lease was taken over. Losing
 * the connection never crashes the process: the pool drops broken clients and the next
 * query reconnects.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { SealedTokenStore, type TokenRows } from '../auth/token-store';
import type { EncryptionKeys } from '../auth/token-cipher';
import { KeyedMutex } from '../util/keyed-mutex';
import { attemptFromRow, deliveryFromRow, INSERT_COLUMNS, insertValues, SELECT_COLUMNS, sessionSummaryFromRow } from './rows';
import type { DeliveryStore, SessionMeta, SessionSummary, WaitingCount } from './store';
import type { AttemptRow, Completion, Delivery, ListFilter, NewDelivery, Resolution, StoreCounts } from './types';
import { resolvedResult } from './rows';
import { POSTGRES_MIGRATIONS } from './migrations';
import { TickBatcher } from '../util/tick-batch';

type Row = Record<string, unknown>;
/** A delivery whose attempt ended, as the worker reports it. */
interface Finished {
  id: string;
  token: string;
  c: Completion;
  now: number;
}
const MIGRATION_LOCK = 4_242_017;
/** First half of the advisory lock key of a connector's OAuth refresh (the second: a hash of schema and connector). */
const REFRESH_LOCK = 4_242_018;

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema to use (created if missing); tests use one per test. */
  schema?: string;
  max?: number;
  onError?: (e: Error) => void;
  /** Keys sealing OAuth tokens; without them the store keeps no tokens (and says why). */
  encryption?: EncryptionKeys;
}

/**
 * The seqs of due work to claim ($3 now, $4 limit, then the filter's): pending, due, the oldest
 * unfinished write of its ordering key, and what it depends on delivered. The one rule for a
 * plain claim and for topping up a bulk call (`filter`: its connector and operation, and only
 * writes that may share a call).
 */
function dueSeqsSql(filter = ''): string {
  return `SELECT d.seq FROM deliveries d
          WHERE d.status = 'pending' AND d.next_attempt_at <= $3${filter}
            AND (d.ordering_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM deliveries p WHERE p.ordering_key = d.ordering_key AND p.seq < d.seq AND p.status IN ('pending', 'running')))
            AND (d.depends_on IS NULL OR EXISTS (SELECT 1 FROM deliveries x WHERE x.id = d.depends_on AND x.status = 'delivered'))
          ORDER BY d.next_attempt_at, d.seq
          LIMIT $4
          FOR UPDATE SKIP LOCKED`;
}
const DUE_SEQS = dueSeqsSql();
const BATCHABLE_SEQS = dueSeqsSql(' AND d.connector_id = $5 AND d.operation = $6 AND NOT d.ambiguous AND d.file_meta IS NULL AND d.run_condition IS NULL');

export class PostgresStore implements DeliveryStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  readonly tokens: SealedTokenStore;
  private readonly schema: string;
  private readonly poolOptions: pg.PoolConfig;
  private readonly onError?: (e: Error) => void;

  constructor(opts: PostgresStoreOptions) {
    this.schema = opts.schema ?? 'public';
    this.onError = opts.onError;
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    this.poolOptions = {
      connectionString: opts.connectionString,
      // Every connection works in our schema. No bitmap scans: every query here is an indexed
      // lookup or an index-ordered scan with a LIMIT (claims). Right after a burst of enqueues the
      // statistics still say "empty table", and the planner then read the whole backlog with a
      // bitmap scan and sorted it for every claim (2 ms at 6,000 pending, growing with it).
      options: `-c search_path=${this.schema} -c enable_bitmapscan=off`,
    };
    this.pool = new pg.Pool({ ...this.poolOptions, max: opts.max ?? 10, connectionTimeoutMillis: 5000 });
    // An idle client whose backend was terminated emits 'error'; without a listener that
    // would crash the process. The pool discards the client; the next query reconnects.
    this.pool.on('error', (e) => opts.onError?.(e));
    this.tokens = new SealedTokenStore(this.tokenRows(), opts.encryption);
  }

  private readonly refreshLocks = new KeyedMutex();
  private locks?: pg.Pool;

  /** Connections that only hold refresh locks (opened on the first refresh). */
  private lockPool(): pg.Pool {
    if (!this.locks) {
      this.locks = new pg.Pool({ ...this.poolOptions, max: 4, connectionTimeoutMillis: 45_000 });
      this.locks.on('error', (e) => this.onError?.(e));
    }
    return this.locks;
  }

  /** OAuth token rows (sealed by SealedTokenStore) and the refresh lock between replicas. */
  private tokenRows(): TokenRows {
    return {
      read: async (id) => {
        const r = await this.one('SELECT sealed FROM oauth_sealed_tokens WHERE connector_id = $1', [id]);
        return r ? String(r.sealed) : undefined;
      },
      write: async (id, sealed, keyId) => {
        await this.pool.query(
          'INSERT INTO oauth_sealed_tokens (connector_id, sealed, key_id, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (connector_id) DO UPDATE SET sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id, updated_at = EXCLUDED.updated_at',
          [id, sealed, keyId, Date.now()],
        );
      },
      remove: async (id) => {
        await this.pool.query('DELETE FROM oauth_sealed_tokens WHERE connector_id = $1', [id]);
      },
      sealedWithOtherKey: async (keyId) =>
        ((await this.pool.query('SELECT connector_id FROM oauth_sealed_tokens WHERE key_id <> $1', [keyId])).rows as Row[]).map((r) => String(r.connector_id)),
      legacy: async () =>
        ((await this.pool.query('SELECT connector_id, token FROM oauth_tokens')).rows as Row[]).map((r) => ({
          connectorId: String(r.connector_id),
          json: String(r.token),
        })),
      dropLegacy: async (id) => {
        await this.pool.query('DELETE FROM oauth_tokens WHERE connector_id = $1', [id]);
      },
      // A transaction-scoped advisory lock: released at commit, and by the server if this
      // process dies mid-refresh (no stale lock to wait out). Callers of this process queue in
      // front of it, and the lock's connection comes from a pool of its own: lock holders
      // reading and writing tokens through the main pool can never starve it (a deadlock when
      // many connectors refresh at once).
      withLock: (id, fn) =>
        this.refreshLocks.run(id, () =>
          this.tx(async (c) => {
            await c.query("SET LOCAL lock_timeout = '40s'");
            await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [REFRESH_LOCK, `${this.schema}:${id}`]);
            return fn();
          }, this.lockPool()),
        ),
    };
  }

  private async one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.query(sql, params)).rows[0] as Row | undefined;
  }

  private readonly names = new Map<string, string>();

  /**
   * A named (prepared) statement: PostgreSQL parses and analyses it once per connection instead
   * of at every call. The hot path (enqueue, claim, complete, lease) runs through here.
   */
  private query(sql: string, params: unknown[], client: pg.Pool | pg.PoolClient = this.pool): Promise<pg.QueryResult> {
    let name = this.names.get(sql);
    if (!name) {
      name = `cgw_${crypto.createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
      this.names.set(sql, name);
    }
    return client.query({ name, text: sql, values: params });
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, pool: pg.Pool = this.pool): Promise<T> {
    const client = await pool.connect();
    // A backend terminated while this client is checked out emits 'error' between queries;
    // unheard, that would crash the process. The failing query rejects on its own.
    const onError = (e: Error) => this.onError?.(e);
    client.on('error', onError);
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      failed = e as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.off('error', onError);
      // After a failure the connection may be broken: discard it rather than reuse it.
      client.release(failed);
    }
  }

  async migrate(): Promise<void> {
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`).catch((e: { code?: string }) => {
      if (e.code !== '23505' && e.code !== '42P06') throw e; // created concurrently
    });
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r.version)));
      for (let i = 0; i < POSTGRES_MIGRATIONS.length; i++) {
        if (done.has(i + 1)) continue;
        await c.query(POSTGRES_MIGRATIONS[i]);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
  }

  /**
   * Writes accepted in the same turn of the event loop, inserted by one statement (one commit),
   * in acceptance order (seq follows `ord`). A write whose idempotency key exists is not
   * inserted and comes back undefined: enqueue() then returns the existing delivery.
   */
  private readonly inserts = new TickBatcher<{ d: NewDelivery; now: number }, Delivery | undefined>(
    async (items) => {
      const rows = items.map(({ d, now }, ord) => ({
        ord,
        id: d.id,
        connector_id: d.connectorId,
        operation: d.operation,
        variables: d.variables,
        idempotency_key: d.idempotencyKey ?? null,
        ordering_key: d.orderingKey ?? null,
        depends_on: d.dependsOn ?? null,
        policy: d.policy,
        now,
        next_attempt_at: d.notBefore ?? now,
        run_condition: d.condition ?? null,
        step_facts: d.step ?? null,
      }));
      const { rows: inserted } = await this.query(
        `INSERT INTO deliveries (id, connector_id, operation, status, variables, idempotency_key, ordering_key, depends_on, policy, created_at, updated_at, next_attempt_at, run_condition, step_facts)
      SELECT r.id, r.connector_id, r.operation, 'pending', r.variables, r.idempotency_key, r.ordering_key, r.depends_on, r.policy, r.now, r.now, r.next_attempt_at, r.run_condition, r.step_facts
      FROM jsonb_to_recordset($1::jsonb) AS r(ord int, id text, connector_id text, operation text, variables jsonb, idempotency_key text, ordering_key text,
        depends_on text, policy jsonb, now bigint, next_attempt_at bigint, run_condition jsonb, step_facts jsonb)
      ORDER BY r.ord
      ON CONFLICT (connector_id, idempotency_key) DO NOTHING
      RETURNING ${SELECT_COLUMNS}`,
        [JSON.stringify(rows)],
      );
      const byId = new Map((inserted as Row[]).map((r) => [String(r.id), deliveryFromRow(r)]));
      return items.map(({ d }) => byId.get(d.id));
    },
    ({ d, now }) => this.insertOne(d, now),
    isDataError,
  );

  async enqueue(d: NewDelivery, now: number): Promise<{ delivery: Delivery; created: boolean }> {
    // Files (bytea) go alone; everything else joins the turn's batch.
    const delivery = d.file ? await this.insertOne(d, now) : await this.inserts.add({ d, now });
    if (delivery) return { delivery, created: true };
    return { delivery: await this.existing(d), created: false };
  }

  private async insertOne(d: NewDelivery, now: number): Promise<Delivery | undefined> {
    const inserted = await this.one(
      `INSERT INTO deliveries (${INSERT_COLUMNS})
      VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
      ON CONFLICT (connector_id, idempotency_key) DO NOTHING
      RETURNING ${SELECT_COLUMNS}`,
      insertValues(d, now),
    );
    return inserted && deliveryFromRow(inserted);
  }

  /** The delivery that already holds this write's idempotency key. */
  private async existing(d: NewDelivery): Promise<Delivery> {
    const row = await this.one(`SELECT ${SELECT_COLUMNS} FROM deliveries WHERE connector_id = $1 AND idempotency_key = $2`, [d.connectorId, d.idempotencyKey]);
    if (!row) throw new Error(`delivery ${d.id} was neither inserted nor found by its idempotency key`);
    return deliveryFromRow(row);
  }

  async claim(limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
    const token = crypto.randomUUID();
    // One statement, one round trip, one commit: the work of crashed workers (lease expired)
    // first, then due pending work whose predecessors (same ordering key) and dependency are
    // done, up to what is left of the limit. Two index-driven parts rather than one OR, so claim
    // time stays flat as the backlog grows. The two parts see the same snapshot and touch
    // disjoint rows (running vs pending). A claim that reclaims anything takes no due work this
    // time (rare: a crashed worker's leases), so it never returns more than the limit; the LIMIT
    // stays a plain parameter because a computed one (limit minus reclaimed) made the planner
    // expect a large share of the table and sort it whole (444 ms per claim at 1,000,000 pending
    // instead of 2 ms, measured by the scale benchmark).
    const { rows } = await this.query(
      `WITH reclaimed AS (
        UPDATE deliveries SET ambiguous = true, first_attempt_at = COALESCE(first_attempt_at, updated_at), status = 'running', lease_token = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3
        WHERE seq IN (SELECT seq FROM deliveries WHERE status = 'running' AND lease_expires_at <= $3 ORDER BY lease_expires_at LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING ${SELECT_COLUMNS}),
      due AS (
        UPDATE deliveries SET status = 'running', lease_token = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3
        WHERE seq IN (
          ${DUE_SEQS})
        AND NOT EXISTS (SELECT 1 FROM reclaimed)
        RETURNING ${SELECT_COLUMNS})
      SELECT * FROM reclaimed UNION ALL SELECT * FROM due`,
      [token, now + leaseMs, now, limit],
    );
    return (rows as Row[]).map(deliveryFromRow).sort((a, b) => a.seq - b.seq);
  }

  async claimBatchable(only: { connectorId: string; operation: string }, limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
    const rows = (
      await this.query(
        `UPDATE deliveries SET status = 'running', lease_token = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3
      WHERE seq IN (${BATCHABLE_SEQS})
      RETURNING ${SELECT_COLUMNS}`,
        [crypto.randomUUID(), now + leaseMs, now, limit, only.connectorId, only.operation],
      )
    ).rows as Row[];
    return rows.map(deliveryFromRow).sort((a, b) => a.seq - b.seq);
  }

  async extendLease(id: string, token: string, until: number): Promise<boolean> {
    const r = await this.query("UPDATE deliveries SET lease_expires_at = $1 WHERE id = $2 AND lease_token = $3 AND status = 'running'", [until, id, token]);
    return r.rowCount === 1;
  }

  /**
   * Records the outcome of finished deliveries in one statement: each row's fenced update (its
   * own lease token, still running) and its attempt rows. True for each one recorded.
   */
  private async record(items: Finished[], client: pg.Pool | pg.PoolClient = this.pool): Promise<boolean[]> {
    const rows = items.map(({ id, token, c, now }) => ({
      id,
      token,
      status: c.status,
      next_attempt_at: c.nextAttemptAt ?? null,
      backoff_attempts: c.backoffAttempts,
      ambiguous: c.ambiguous,
      result: c.result ?? null,
      last_error: c.error ?? null,
      updated_at: now,
      first_at: c.attempts[0]?.at ?? now,
      uncounted: c.uncounted ?? false,
      attempts: attemptRecords(c),
    }));
    const { rows: done } = await this.query(
      `WITH c AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(id text, token text, status text, next_attempt_at bigint, backoff_attempts int, ambiguous boolean,
          result jsonb, last_error jsonb, updated_at bigint, first_at bigint, uncounted boolean, attempts jsonb)),
      u AS (
        UPDATE deliveries d SET status = c.status, next_attempt_at = COALESCE(c.next_attempt_at, d.next_attempt_at), backoff_attempts = c.backoff_attempts,
          ambiguous = c.ambiguous, result = COALESCE(c.result, d.result), last_error = c.last_error, lease_token = NULL, lease_expires_at = NULL,
          updated_at = c.updated_at, first_attempt_at = CASE WHEN c.uncounted THEN d.first_attempt_at ELSE COALESCE(d.first_attempt_at, c.first_at) END,
          attempts = d.attempts - CASE WHEN c.uncounted THEN 1 ELSE 0 END,
          file = CASE WHEN c.status = 'delivered' THEN NULL ELSE d.file END
        FROM c WHERE d.id = c.id AND d.lease_token = c.token AND d.status = 'running'
        RETURNING d.id, c.token, c.attempts),
      ins AS (
        INSERT INTO delivery_attempts (delivery_id, n, at, status, network_error, classification, reason, duration_ms, request)
        SELECT u.id, COALESCE((SELECT MAX(x.n) FROM delivery_attempts x WHERE x.delivery_id = u.id), 0) + a.ord, a.at, a.status, a.network_error, a.classification, a.reason, a.duration_ms, a.request
        FROM u, jsonb_to_recordset(u.attempts) AS a(ord int, at bigint, status int, network_error text, classification text, reason text, duration_ms double precision, request text))
      SELECT id, token FROM u`,
      [JSON.stringify(rows)],
      client,
    );
    const recorded = new Set((done as Row[]).map((r) => `${r.id} ${r.token}`));
    return items.map(({ id, token }) => recorded.has(`${id} ${token}`));
  }

  /**
   * The common completion (delivered, or pending for a retry) of every delivery that finished in
   * the same turn of the event loop: one round trip, one commit for all of them. Dead letters and
   * merged batches take the transaction below.
   */
  private readonly completions = new TickBatcher<Finished, boolean>(
    (items) => this.record(items),
    (f) => this.completeInTx(f),
    isDataError,
  );

  async complete(id: string, token: string, c: Completion, now: number): Promise<boolean> {
    if (c.status !== 'dead' && !c.absorbed?.length) return this.completions.add({ id, token, c, now });
    return this.completeInTx({ id, token, c, now });
  }

  /** The recorded outcome, then the dead letter's cascade or the merged writes, in one transaction. */
  private async completeInTx(f: Finished): Promise<boolean> {
    const { id, c, now } = f;
    return this.tx(async (db) => {
      const [ok] = await this.record([f], db);
      if (ok && c.status === 'dead') await this.killDependents(db, id, now);
      if (ok && c.absorbed?.length) {
        await db.query(
          `UPDATE deliveries SET status = 'delivered', result = $1, updated_at = $2, first_attempt_at = COALESCE(first_attempt_at, $2) WHERE id = ANY($3) AND status = 'pending'`,
          [JSON.stringify({ ids: {}, outcome: 'merged', merged_into: id }), now, c.absorbed],
        );
      }
      // Delivered files have no further use here (retention: files go first).
      if (ok && c.absorbed?.length)
        await db.query("UPDATE deliveries SET file = NULL WHERE id = ANY($1) AND status = 'delivered' AND file IS NOT NULL", [c.absorbed]);
      return ok;
    });
  }

  /** Transitively: what depends on a dead delivery can never run. */
  private async killDependents(db: pg.PoolClient, id: string, now: number): Promise<void> {
    await db.query(
      `WITH RECURSIVE doomed(id) AS (
        SELECT id FROM deliveries WHERE depends_on = $1 AND status = 'pending'
        UNION SELECT d.id FROM deliveries d JOIN doomed ON d.depends_on = doomed.id WHERE d.status = 'pending')
      UPDATE deliveries SET status = 'dead', updated_at = $2,
        last_error = jsonb_build_object('code', 'dependency_dead', 'message', 'delivery ' || depends_on || ' it depends on is dead or cancelled')
      WHERE id IN (SELECT id FROM doomed)`,
      [id, now],
    );
  }

  async followers(orderingKey: string, afterSeq: number, limit: number): Promise<Delivery[]> {
    const { rows } = await this.query(
      `SELECT ${SELECT_COLUMNS} FROM deliveries WHERE ordering_key = $1 AND seq > $2 AND status IN ('pending', 'running') ORDER BY seq LIMIT $3`,
      [orderingKey, afterSeq, limit],
    );
    return (rows as Row[]).map(deliveryFromRow).filter((d) => d.status === 'pending');
  }

  async release(id: string, token: string, now: number): Promise<void> {
    await this.query(
      "UPDATE deliveries SET status = 'pending', attempts = attempts - 1, lease_token = NULL, lease_expires_at = NULL, updated_at = $1 WHERE id = $2 AND lease_token = $3 AND status = 'running'",
      [now, id, token],
    );
  }

  async get(id: string): Promise<Delivery | undefined> {
    const r = await this.one(`SELECT ${SELECT_COLUMNS} FROM deliveries WHERE id = $1`, [id]);
    return r && deliveryFromRow(r);
  }

  async attempts(id: string): Promise<AttemptRow[]> {
    return ((await this.pool.query('SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY n', [id])).rows as Row[]).map(attemptFromRow);
  }

  async file(id: string): Promise<Buffer | undefined> {
    const r = await this.one('SELECT file FROM deliveries WHERE id = $1', [id]);
    return (r?.file as Buffer | null) ?? undefined;
  }

  async list(f: ListFilter): Promise<Delivery[]> {
    const { rows } = await this.pool.query(
      `SELECT ${SELECT_COLUMNS} FROM deliveries
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR connector_id = $2) AND ($3::bigint IS NULL OR seq < $3)
        AND ($5::bigint IS NULL OR created_at >= $5) AND ($6::bigint IS NULL OR created_at < $6) AND ($7::text[] IS NULL OR id = ANY($7))
      ORDER BY seq DESC LIMIT $4`,
      [f.status ?? null, f.connectorId ?? null, f.beforeSeq ?? null, f.limit ?? 100, f.createdSince ?? null, f.createdUntil ?? null, f.ids ?? null],
    );
    return (rows as Row[]).map(deliveryFromRow);
  }

  async retry(id: string, now: number): Promise<Delivery | undefined> {
    await this.pool.query(
      `WITH RECURSIVE revived(id) AS (
        SELECT id FROM deliveries WHERE id = $1 AND status IN ('dead', 'cancelled')
        UNION SELECT d.id FROM deliveries d JOIN revived ON d.depends_on = revived.id
          WHERE d.status = 'dead' AND d.last_error->>'code' = 'dependency_dead')
      UPDATE deliveries SET status = 'pending', next_attempt_at = $2, first_attempt_at = NULL, backoff_attempts = 0, updated_at = $2
      WHERE id IN (SELECT id FROM revived)`,
      [id, now],
    );
    return this.get(id);
  }

  async cancel(id: string, now: number): Promise<Delivery | undefined> {
    await this.tx(async (db) => {
      const r = await db.query("UPDATE deliveries SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'pending'", [now, id]);
      if (r.rowCount === 1) await this.killDependents(db, id, now);
    });
    return this.get(id);
  }

  async resolve(id: string, r: Resolution, now: number): Promise<Delivery | undefined> {
    const where = "WHERE id = $2 AND status = 'unknown_outcome'";
    if (r.action === 'retry_as_new') {
      await this.pool.query(
        `UPDATE deliveries SET status = 'pending', ambiguous = false, next_attempt_at = $1, first_attempt_at = NULL, backoff_attempts = 0, updated_at = $1 ${where}`,
        [now, id],
      );
    } else if (r.action === 'attach') {
      await this.pool.query(`UPDATE deliveries SET status = 'delivered', ambiguous = false, result = $3, updated_at = $1 ${where}`, [
        now,
        id,
        JSON.stringify(resolvedResult(r.ids)),
      ]);
    } else {
      await this.tx(async (db) => {
        const c = await db.query(`UPDATE deliveries SET status = 'cancelled', updated_at = $1 ${where}`, [now, id]);
        if (c.rowCount === 1) await this.killDependents(db, id, now);
      });
    }
    return this.get(id);
  }

  async counts(): Promise<StoreCounts> {
    const out: StoreCounts = { pending: 0, running: 0, delivered: 0, dead: 0, cancelled: 0, unknown_outcome: 0 };
    for (const r of (await this.pool.query('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status')).rows as Row[])
      out[r.status as keyof StoreCounts] = Number(r.n);
    return out;
  }

  async purgeFinished(before: number, now: number, limit: number): Promise<{ deliveries: number; sessions: number }> {
    const d = await this.pool.query(
      `UPDATE deliveries SET variables = '{}'::jsonb, file = NULL, purged_at = $2
      WHERE seq IN (SELECT seq FROM deliveries WHERE status IN ('delivered', 'dead', 'cancelled') AND purged_at IS NULL AND updated_at < $1
        LIMIT $3 FOR UPDATE SKIP LOCKED)`,
      [before, now, limit],
    );
    const s = await this.pool.query(
      `DELETE FROM sessions WHERE (connector_id, session_id) IN (
      SELECT connector_id, session_id FROM sessions WHERE updated_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return { deliveries: d.rowCount ?? 0, sessions: s.rowCount ?? 0 };
  }

  async recentSessions(connectorId: string, limit: number): Promise<SessionSummary[]> {
    const { rows } = await this.pool.query(
      'SELECT session_id, created_at, updated_at, ended_at, waiting_for, unidentified_at FROM sessions WHERE connector_id = $1 ORDER BY updated_at DESC LIMIT $2',
      [connectorId, limit],
    );
    return (rows as Row[]).map(sessionSummaryFromRow);
  }

  async loadSession(connectorId: string, sessionId: string) {
    const r = await this.one('SELECT state, version FROM sessions WHERE connector_id = $1 AND session_id = $2', [connectorId, sessionId]);
    return r ? { state: r.state as Record<string, unknown>, version: Number(r.version) } : undefined;
  }

  async saveSession(connectorId: string, sessionId: string, state: Record<string, unknown>, version: number, meta: SessionMeta, now: number): Promise<boolean> {
    const w = meta.waiting;
    const r =
      version === 0
        ? await this.pool.query(
            `INSERT INTO sessions (connector_id, session_id, state, version, customer_key, ended_at, created_at, updated_at, waiting_for, waiting_since, unidentified_at) VALUES ($1, $2, $3, 1, $4, $5, $6, $6, $7, $8, $9)
          ON CONFLICT (connector_id, session_id) DO NOTHING`,
            [
              connectorId,
              sessionId,
              JSON.stringify(state),
              meta.customerKey ?? null,
              meta.endedAt ?? null,
              now,
              w?.for ?? null,
              w?.since ?? null,
              w?.unidentifiedAt ?? null,
            ],
          )
        : await this.pool.query(
            `UPDATE sessions SET state = $1, version = version + 1, customer_key = COALESCE($2, customer_key), ended_at = COALESCE($3, ended_at), updated_at = $4,
          waiting_for = CASE WHEN $8 THEN $9 ELSE waiting_for END, waiting_since = CASE WHEN $8 THEN $10::bigint ELSE waiting_since END, unidentified_at = CASE WHEN $8 THEN $11::bigint ELSE unidentified_at END
          WHERE connector_id = $5 AND session_id = $6 AND version = $7`,
            [
              JSON.stringify(state),
              meta.customerKey ?? null,
              meta.endedAt ?? null,
              now,
              connectorId,
              sessionId,
              version,
              w !== undefined,
              w?.for ?? null,
              w?.since ?? null,
              w?.unidentifiedAt ?? null,
            ],
          );
    return r.rowCount === 1;
  }

  async overdueIdentity(connectorId: string, since: number, limit: number): Promise<string[]> {
    const r = await this.pool.query(
      `SELECT session_id FROM sessions WHERE waiting_for = 'customer_identity' AND connector_id = $1 AND waiting_since < $2 AND unidentified_at IS NULL
      ORDER BY waiting_since LIMIT $3`,
      [connectorId, since, limit],
    );
    return (r.rows as Row[]).map((x) => String(x.session_id));
  }

  async waitingCounts(): Promise<WaitingCount[]> {
    const r = await this.pool.query(
      'SELECT connector_id, waiting_for, COUNT(*) AS n, COUNT(unidentified_at) AS u FROM sessions WHERE waiting_for IS NOT NULL GROUP BY connector_id, waiting_for',
    );
    return (r.rows as Row[]).map((x) => ({
      connectorId: String(x.connector_id),
      waitingFor: String(x.waiting_for),
      sessions: Number(x.n),
      unidentified: Number(x.u),
    }));
  }

  async lastSessionEnd(connectorId: string, customerKey: string, exceptSessionId: string): Promise<number | undefined> {
    const r = await this.one(
      'SELECT MAX(ended_at) AS t FROM sessions WHERE connector_id = $1 AND customer_key = $2 AND session_id <> $3 AND ended_at IS NOT NULL',
      [connectorId, customerKey, exceptSessionId],
    );
    return r?.t === null || r?.t === undefined ? undefined : Number(r.t);
  }

  async loadWatermark(connectorId: string, source: string): Promise<{ watermark: number; lastRunAt: number } | undefined> {
    const r = await this.one('SELECT watermark, last_run_at FROM platform_watermarks WHERE connector_id = $1 AND source = $2', [connectorId, source]);
    return r ? { watermark: Number(r.watermark), lastRunAt: Number(r.last_run_at) } : undefined;
  }

  async saveWatermark(connectorId: string, source: string, watermark: number, lastRunAt: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO platform_watermarks (connector_id, source, watermark, last_run_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (connector_id, source) DO UPDATE SET watermark = GREATEST(platform_watermarks.watermark, excluded.watermark), last_run_at = excluded.last_run_at`,
      [connectorId, source, watermark, lastRunAt],
    );
  }

  async claimRun(connectorId: string, source: string, lastRunBefore: number, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE platform_watermarks SET last_run_at = $1 WHERE connector_id = $2 AND source = $3 AND last_run_at < $4', [
      now,
      connectorId,
      source,
      lastRunBefore,
    ]);
    return r.rowCount === 1;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.locks?.end();
    await this.pool.end();
  }
}

function attemptRecords(c: Completion) {
  return c.attempts.map((a, i) => ({
    ord: i + 1,
    at: a.at,
    status: a.status ?? null,
    network_error: a.networkError ?? null,
    classification: a.classification,
    reason: a.reason,
    duration_ms: a.durationMs,
    request: a.request ?? null,
  }));
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): the rows' fault, not the database's. */
function isDataError(e: unknown): boolean {
  return /^2[23]/.test(String((e as { code?: unknown }).code ?? ''));
}
