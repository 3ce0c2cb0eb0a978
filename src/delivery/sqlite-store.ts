/**
 * Embedded SQLite store (better-sqlite3): the zero-setup default. WAL, and a write is
 * acknowledged only once the WAL holding it is on disk, so it survives a power cut (what
 * synchronous=FULL gives) without the event loop waiting for the disk (see `synced`).
 * SQLite has no SKIP LOCKED: claims run in a BEGIN IMMEDIATE transaction (one writer at a
 * time) and the lease column does the rest.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database, { type Database as Db, type Statement, type Transaction } from 'better-sqlite3';
import { SealedTokenStore, type TokenRows } from '../auth/token-store';
import type { EncryptionKeys } from '../auth/token-cipher';
import { KeyedMutex } from '../util/keyed-mutex';
import { attemptFromRow, deliveryFromRow, INSERT_COLUMNS, insertValues, SELECT_COLUMNS, sessionSummaryFromRow } from './rows';
import type { DeliveryStore, SessionMeta, SessionSummary, WaitingCount } from './store';
import type { AttemptRow, Completion, Delivery, ListFilter, NewDelivery, Resolution, StoreCounts } from './types';
import { resolvedResult } from './rows';
import { SQLITE_MIGRATIONS } from './migrations';

type Row = Record<string, unknown>;

/** A refresh lock older than this is a crashed holder's: another process may take it. */
const REFRESH_LOCK_LEASE_MS = 30_000;
/** How long a refresh waits for another process's before giving up with an error. */
const REFRESH_LOCK_WAIT_MS = 40_000;

export interface SqliteStoreOptions {
  /** Keys sealing OAuth tokens; without them the store keeps no tokens (and says why). */
  encryption?: EncryptionKeys;
}

/**
 * Claiming due work (parameters: lease token, lease end, now, now, [filter's], limit): pending,
 * due, the oldest unfinished write of its ordering key, and what it depends on delivered. The
 * one rule for a plain claim and for topping up a bulk call (`filter`: its connector and
 * operation, and only writes that may share a call).
 */
function claimDueSql(filter = ''): string {
  return `UPDATE deliveries SET status = 'running', lease_token = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
    WHERE seq IN (
      SELECT d.seq FROM deliveries d INDEXED BY deliveries_due
      WHERE d.status = 'pending' AND d.next_attempt_at <= ?${filter}
        AND (d.ordering_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM deliveries p INDEXED BY deliveries_ordering
          WHERE p.ordering_key = d.ordering_key AND p.seq < d.seq AND p.status IN ('pending', 'running')))
        AND (d.depends_on IS NULL OR EXISTS (SELECT 1 FROM deliveries x WHERE x.id = d.depends_on AND x.status = 'delivered'))
      ORDER BY d.next_attempt_at, d.seq
      LIMIT ?)
    RETURNING ${SELECT_COLUMNS}`;
}
const CLAIM_DUE = claimDueSql();
const CLAIM_BATCHABLE = claimDueSql(' AND d.connector_id = ? AND d.operation = ? AND d.ambiguous = 0 AND d.file_meta IS NULL AND d.run_condition IS NULL');

export class SqliteStore implements DeliveryStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Db;
  private readonly stmts = new Map<string, Statement>();
  readonly tokens: SealedTokenStore;
  /** Writes waiting for the next group commit (see `commit`). */
  private batch: Array<() => void> = [];

  constructor(
    readonly filePath: string,
    opts: SqliteStoreOptions = {},
  ) {
    if (filePath !== ':memory:') fs.mkdirSync(path.dirname(filePath), { recursive: true });
    this.db = new Database(filePath);
    // Deliveries hold personal data and the token table holds credentials: owner only.
    if (filePath !== ':memory:') fs.chmodSync(filePath, 0o600);
    this.db.pragma('journal_mode = WAL');
    // SQLite itself does not sync the WAL on commit; `synced()` does, off the event loop,
    // before any write is acknowledged. (Checkpoints still sync as SQLite always does.)
    this.db.pragma('synchronous = NORMAL');
    // SQLite keeps the WAL beside the real file (a symlinked path would name the wrong one).
    this.dbRealPath = filePath === ':memory:' ? undefined : fs.realpathSync(filePath);
    this.walPath = this.dbRealPath && `${this.dbRealPath}-wal`;
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    // Transaction functions made once: better-sqlite3 builds four wrappers per `transaction()`
    // call, which cost a tenth of the store's CPU when made for every write.
    const savepoint = this.db.transaction((work: () => unknown) => work());
    this.inSavepoint = (work) => savepoint(work);
    this.groupCommit = this.db.transaction((batch: Array<() => void>, riders: Array<{ run: () => void }>) => {
      for (const run of batch) run();
      for (const r of riders) r.run();
    });
    this.tokens = new SealedTokenStore(this.tokenRows(), opts.encryption);
  }

  private readonly refreshLocks = new KeyedMutex();

  /** OAuth token rows (sealed by SealedTokenStore) and the refresh lock between processes. */
  private tokenRows(): TokenRows {
    return {
      read: async (id) => {
        const r = this.stmt('SELECT sealed FROM oauth_sealed_tokens WHERE connector_id = ?').get(id) as Row | undefined;
        return r ? String(r.sealed) : undefined;
      },
      // A rotated refresh token must survive a power cut: it may be the only valid one.
      write: async (id, sealed, keyId) => {
        this.stmt(
          'INSERT INTO oauth_sealed_tokens (connector_id, sealed, key_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (connector_id) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, updated_at = excluded.updated_at',
        ).run(id, sealed, keyId, Date.now());
        await this.synced();
      },
      remove: async (id) => {
        this.stmt('DELETE FROM oauth_sealed_tokens WHERE connector_id = ?').run(id);
        await this.synced();
      },
      sealedWithOtherKey: async (keyId) =>
        (this.stmt('SELECT connector_id FROM oauth_sealed_tokens WHERE key_id <> ?').all(keyId) as Row[]).map((r) => String(r.connector_id)),
      legacy: async () =>
        (this.stmt('SELECT connector_id, token FROM oauth_tokens').all() as Row[]).map((r) => ({ connectorId: String(r.connector_id), json: String(r.token) })),
      dropLegacy: async (id) => {
        this.stmt('DELETE FROM oauth_tokens WHERE connector_id = ?').run(id);
        await this.synced();
      },
      withLock: (id, fn) =>
        this.refreshLocks.run(id, async () => {
          const holder = crypto.randomUUID();
          await this.takeRefreshLock(id, holder);
          try {
            return await fn();
          } finally {
            this.stmt('DELETE FROM oauth_refresh_locks WHERE connector_id = ? AND holder = ?').run(id, holder);
          }
        }),
    };
  }

  /**
   * The refresh lock between processes on this file: a row with an expiry, taken by one
   * statement (SQLite runs it under its write lock, so two processes cannot both take it), and
   * not a transaction held open across the token request (that would stop every other write).
   */
  private async takeRefreshLock(id: string, holder: string): Promise<void> {
    const giveUpAt = Date.now() + REFRESH_LOCK_WAIT_MS;
    for (;;) {
      const now = Date.now();
      const taken =
        this.stmt(`INSERT INTO oauth_refresh_locks (connector_id, holder, expires_at) VALUES (?, ?, ?)
        ON CONFLICT (connector_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE oauth_refresh_locks.expires_at <= ?`).run(
          id,
          holder,
          now + REFRESH_LOCK_LEASE_MS,
          now,
        ).changes === 1;
      if (taken) return;
      if (now > giveUpAt) throw new Error(`another process has held the OAuth refresh lock of connector ${id} for over ${REFRESH_LOCK_WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Prepared once, reused (no per-call SQL parsing). */
  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /**
   * Group commit: writes are committed together, one transaction per WAL sync. While a sync is
   * in flight, new writes wait (they could not be acknowledged before the next sync anyway) and
   * then go in one transaction with everything that arrived meanwhile; otherwise at the end of
   * the current turn of the event loop. Fewer, larger commits: SQLite rewrites the same hot
   * index pages into the WAL at each commit, which was the store's largest cost. Each write runs
   * in its own savepoint, so one failing write does not fail the others, and each promise
   * settles only after the commit that holds it is on disk (`synced`): a 202 still means
   * "survives a power cut".
   */
  private commit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let result: { ok: true; value: T } | { ok: false; error: unknown };
      this.scheduleFlush();
      this.batch.push(() => {
        try {
          result = { ok: true, value: this.inSavepoint(work) as T };
        } catch (error) {
          result = { ok: false, error };
        }
      });
      this.settlers.push((committed) => {
        if (committed !== undefined) reject(committed);
        else if (result.ok) resolve(result.value);
        else reject(result.error);
      });
    });
  }

  /**
   * Transaction functions made once: better-sqlite3 builds four wrappers per `transaction()`
   * call, which was a tenth of the store's CPU when made per write.
   */
  private readonly inSavepoint: (work: () => unknown) => unknown;
  private readonly groupCommit: Transaction<(batch: Array<() => void>, riders: Array<{ run: () => void }>) => void>;
  private settlers: Array<(commitError?: unknown) => void> = [];
  /**
   * Claims riding on the next group commit: run in its transaction after its writes (so a
   * completion committed there frees its ordering key's next write at once), answered right
   * after the commit, before the sync (see `claim`).
   */
  private riders: Array<{ run: () => void; committed: (error: unknown, sync?: Promise<void>) => void }> = [];
  private flushScheduled = false;

  private scheduleFlush(): void {
    if (this.flushScheduled || this.syncing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.batch.length === 0 && this.riders.length === 0) return;
    const batch = this.batch;
    const settlers = this.settlers;
    const riders = this.riders;
    this.batch = [];
    this.settlers = [];
    this.riders = [];
    if (this.broken) {
      for (const settle of settlers) settle(this.broken);
      for (const r of riders) r.committed(this.broken);
      return;
    }
    try {
      this.groupCommit.immediate(batch, riders);
    } catch (e) {
      for (const settle of settlers) settle(e);
      for (const r of riders) r.committed(e);
      return;
    }
    // Claims alone need no sync (their rows' own writes were synced when acknowledged).
    if (batch.length === 0) {
      for (const r of riders) r.committed(undefined);
      return;
    }
    const sync = this.synced();
    for (const r of riders) r.committed(undefined, sync);
    sync.then(
      () => {
        for (const settle of settlers) settle();
      },
      (e: unknown) => {
        for (const settle of settlers) settle(e);
      },
    );
  }

  private readonly dbRealPath?: string;
  private readonly walPath?: string;
  private syncFd?: { path: string; fd: number; ino: number };
  /**
   * Set when a sync failed. After a failed fsync the kernel may already have dropped the dirty
   * pages, so a later "successful" sync proves nothing: like PostgreSQL, the store stops taking
   * writes (and readiness fails) until the process is restarted and SQLite recovers from disk.
   */
  private broken?: Error;
  /** Deliveries up to this seq are known to be on disk (see `claim`). */
  private syncedSeq = 0;
  /** The fdatasync in flight, and the one queued behind it. */
  private syncing?: Promise<void>;
  private nextSync?: Promise<void>;

  /**
   * Resolves once everything committed so far is on disk: an fdatasync of the WAL file that
   * started after those commits, run in libuv's thread pool so the event loop goes on serving
   * requests meanwhile (synchronous=FULL would block it ~1 ms per commit on this machine's
   * disk). Commits that arrive while a sync is in flight share the next one, so the number of
   * syncs per second stays bounded by the disk, not by the request rate. A commit in WAL mode
   * only appends to the WAL, so syncing the WAL is exactly what FULL does at commit.
   */
  private synced(): Promise<void> {
    if (!this.walPath) return Promise.resolve();
    if (!this.syncing) {
      // Every delivery committed so far (by any process) is covered once this sync completes.
      const upTo = Number((this.stmt('SELECT COALESCE(MAX(seq), 0) AS m FROM deliveries').get() as Row).m);
      this.syncing = this.syncWal()
        .then(() => {
          this.syncedSeq = Math.max(this.syncedSeq, upTo);
        })
        .finally(() => {
          this.syncing = undefined;
          // Writes that queued up behind this sync go out now, together.
          if (this.batch.length || this.riders.length) this.scheduleFlush();
        });
      return this.syncing;
    }
    // The one in flight may have started before our commit: wait for the next one.
    this.nextSync ??= this.syncing
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.nextSync = undefined;
        return this.synced();
      });
    return this.nextSync;
  }

  private syncWal(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      // No WAL file (not expected while we are connected): then the data is in the database file.
      const fd = this.fileToSync(this.walPath!) ?? this.fileToSync(this.dbRealPath!)!;
      fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()));
    }).catch((e: NodeJS.ErrnoException) => {
      this.broken ??= Object.assign(
        new Error(`the store could not sync its file to disk (${e.code ?? e.message}); it takes no more writes until the gateway restarts`),
        { code: 'ESTORESYNC', cause: e },
      );
      throw this.broken;
    });
  }

  /** Our own descriptor of the file (any descriptor of a file syncs its data), reopened if SQLite made a new one. */
  private fileToSync(file: string): number | undefined {
    const ino = fs.statSync(file, { throwIfNoEntry: false })?.ino;
    if (ino === undefined) return undefined;
    if (this.syncFd?.ino !== ino || this.syncFd.path !== file) {
      if (this.syncFd) fs.closeSync(this.syncFd.fd);
      this.syncFd = { path: file, fd: fs.openSync(file, 'r'), ino };
    }
    return this.syncFd.fd;
  }

  async migrate(): Promise<void> {
    // IMMEDIATE takes the write lock first, so two processes cannot migrate at once.
    this.db
      .transaction(() => {
        this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
        const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
        SQLITE_MIGRATIONS.forEach((sql, i) => {
          if (done.has(i + 1)) return;
          this.db.exec(sql);
          this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, Date.now());
        });
      })
      .immediate();
  }

  async enqueue(d: NewDelivery, now: number): Promise<{ delivery: Delivery; created: boolean }> {
    return this.commit(() => {
      if (d.idempotencyKey) {
        const existing = this.stmt(`SELECT ${SELECT_COLUMNS} FROM deliveries WHERE connector_id = ? AND idempotency_key = ?`).get(
          d.connectorId,
          d.idempotencyKey,
        ) as Row | undefined;
        if (existing) return { delivery: deliveryFromRow(existing), created: false };
      }
      const row = this.stmt(`INSERT INTO deliveries (${INSERT_COLUMNS})
        VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${SELECT_COLUMNS}`).get(...insertValues(d, now)) as Row;
      return { delivery: deliveryFromRow(row), created: true };
    });
  }

  async claim(limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
    const token = crypto.randomUUID();
    // The claim joins the next group commit rather than committing alone: under load the
    // completions and enqueues of this turn are committed anyway, and one WAL commit for all of
    // them writes the hot index pages once instead of twice (it was a third of the store's CPU).
    const { claimed, sync } = await new Promise<{ claimed: Delivery[]; sync?: Promise<void> }>((resolve, reject) => {
      let claimed: Delivery[] = [];
      let failed: { error: unknown } | undefined;
      this.scheduleFlush();
      this.riders.push({
        run: () => {
          try {
            // A savepoint: a failing claim rolls back alone, not the writes committed with it.
            claimed = this.inSavepoint(() => this.claimRows(token, limit, now, leaseMs)) as Delivery[];
          } catch (error) {
            failed = { error };
          }
        },
        committed: (error, sync) => {
          if (error !== undefined) reject(error);
          else if (failed) reject(failed.error);
          else resolve({ claimed, sync });
        },
      });
    });
    // What is claimed is handed over only once on disk: a write committed by an enqueue whose sync
    // is still running must not reach the CRM before its 202 could (else a power cut in between
    // would have the platform resend something the CRM already has). Backlog work was synced
    // long ago and goes at once; fresh work waits for the sync its commit started.
    if (claimed.some((d) => d.seq > this.syncedSeq)) await (sync ?? this.synced());
    return claimed;
  }

  private claimRows(token: string, limit: number, now: number, leaseMs: number): Delivery[] {
    // Two index-driven statements rather than one OR: with an OR, SQLite scans the whole
    // table, and claim time would grow with the backlog. First work of crashed workers, whose
    // lost try started no later than its claim (updated_at): first_attempt_at says so, so that a
    // create's recovery (find what the lost try may have made) knows where to look from…
    const reclaimed =
      this.stmt(`UPDATE deliveries SET ambiguous = 1, first_attempt_at = COALESCE(first_attempt_at, updated_at), status = 'running', lease_token = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
    WHERE seq IN (SELECT seq FROM deliveries INDEXED BY deliveries_leased WHERE status = 'running' AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?)
    RETURNING ${SELECT_COLUMNS}`).all(token, now + leaseMs, now, now, limit) as Row[];
    // …then due pending work whose predecessors (same ordering key) and dependency are done.
    const due = reclaimed.length >= limit ? [] : (this.stmt(CLAIM_DUE).all(token, now + leaseMs, now, now, limit - reclaimed.length) as Row[]);
    return [...reclaimed, ...due].map(deliveryFromRow).sort((a, b) => a.seq - b.seq);
  }

  async claimBatchable(only: { connectorId: string; operation: string }, limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
    const token = crypto.randomUUID();
    const claimed = this.db
      .transaction(() =>
        (this.stmt(CLAIM_BATCHABLE).all(token, now + leaseMs, now, now, only.connectorId, only.operation, limit) as Row[])
          .map(deliveryFromRow)
          .sort((a, b) => a.seq - b.seq),
      )
      .immediate();
    if (claimed.some((d) => d.seq > this.syncedSeq)) await this.synced();
    return claimed;
  }

  async extendLease(id: string, token: string, until: number): Promise<boolean> {
    return this.stmt("UPDATE deliveries SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'").run(until, id, token).changes === 1;
  }

  async complete(id: string, token: string, c: Completion, now: number): Promise<boolean> {
    return this.commit(() => {
      const changed = this.stmt(`UPDATE deliveries SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at), backoff_attempts = ?, ambiguous = ?,
          result = COALESCE(?, result), last_error = ?, lease_token = NULL, lease_expires_at = NULL, updated_at = ?,
          first_attempt_at = CASE WHEN ? THEN first_attempt_at ELSE COALESCE(first_attempt_at, ?) END, attempts = attempts - ?,
          file = CASE WHEN ? = 'delivered' THEN NULL ELSE file END
        WHERE id = ? AND lease_token = ? AND status = 'running'`).run(
        c.status,
        c.nextAttemptAt ?? null,
        c.backoffAttempts,
        c.ambiguous ? 1 : 0,
        c.result ? JSON.stringify(c.result) : null,
        c.error ? JSON.stringify(c.error) : null,
        now,
        c.uncounted ? 1 : 0,
        c.attempts[0]?.at ?? now,
        c.uncounted ? 1 : 0,
        c.status,
        id,
        token,
      ).changes;
      if (changed !== 1) return false;
      this.insertAttempts(id, c.attempts);
      for (const other of c.absorbed ?? []) {
        this.stmt(
          `UPDATE deliveries SET status = 'delivered', result = ?, updated_at = ?, first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id = ? AND status = 'pending'`,
        ).run(JSON.stringify({ ids: {}, outcome: 'merged', merged_into: id }), now, now, other);
      }
      // The delivery's own file went with the update above.
      if (c.status === 'delivered' && c.absorbed?.length) this.dropFiles(c.absorbed);
      if (c.status === 'dead') this.killDependents(id, now);
      return true;
    });
  }

  /** A delivered file has no further use here: the CRM has it (retention: files go first). */
  private dropFiles(ids: string[]): void {
    for (const id of ids) this.stmt("UPDATE deliveries SET file = NULL WHERE id = ? AND status = 'delivered' AND file IS NOT NULL").run(id);
  }

  /** Each row numbered after the delivery's last one, by the INSERT itself (no separate read). */
  private insertAttempts(id: string, attempts: AttemptRow[]): void {
    for (const a of attempts) {
      this.stmt(
        `INSERT INTO delivery_attempts (delivery_id, n, at, status, network_error, classification, reason, duration_ms, request)
        SELECT ?, COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM delivery_attempts WHERE delivery_id = ?`,
      ).run(id, a.at, a.status ?? null, a.networkError ?? null, a.classification, a.reason, a.durationMs, a.request ?? null, id);
    }
  }

  /** A delivery that can never run because what it needs died: dead too, transitively. */
  private killDependents(id: string, now: number): void {
    let frontier = [id];
    while (frontier.length) {
      const next: string[] = [];
      for (const dep of frontier) {
        const rows = this.stmt(
          `UPDATE deliveries SET status = 'dead', updated_at = ?, last_error = ? WHERE depends_on = ? AND status = 'pending' RETURNING id`,
        ).all(now, JSON.stringify({ code: 'dependency_dead', message: `delivery ${dep} it depends on is dead or cancelled` }), dep) as Row[];
        next.push(...rows.map((r) => String(r.id)));
      }
      frontier = next;
    }
  }

  async followers(orderingKey: string, afterSeq: number, limit: number): Promise<Delivery[]> {
    return (
      this.stmt(
        `SELECT ${SELECT_COLUMNS} FROM deliveries INDEXED BY deliveries_ordering WHERE ordering_key = ? AND seq > ? AND status IN ('pending', 'running') ORDER BY seq LIMIT ?`,
      ).all(orderingKey, afterSeq, limit) as Row[]
    )
      .map(deliveryFromRow)
      .filter((d) => d.status === 'pending');
  }

  async release(id: string, token: string, now: number): Promise<void> {
    this.stmt(
      "UPDATE deliveries SET status = 'pending', attempts = attempts - 1, lease_token = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'",
    ).run(now, id, token);
  }

  async get(id: string): Promise<Delivery | undefined> {
    const r = this.stmt(`SELECT ${SELECT_COLUMNS} FROM deliveries WHERE id = ?`).get(id) as Row | undefined;
    return r && deliveryFromRow(r);
  }

  async attempts(id: string): Promise<AttemptRow[]> {
    return (this.stmt('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY n').all(id) as Row[]).map(attemptFromRow);
  }

  async file(id: string): Promise<Buffer | undefined> {
    const r = this.stmt('SELECT file FROM deliveries WHERE id = ?').get(id) as Row | undefined;
    return (r?.file as Buffer | null) ?? undefined;
  }

  async list(f: ListFilter): Promise<Delivery[]> {
    if (f.ids?.length === 0) return [];
    const ids = f.ids ? JSON.stringify(f.ids) : null;
    const rows = this.stmt(`SELECT ${SELECT_COLUMNS} FROM deliveries
      WHERE (? IS NULL OR status = ?) AND (? IS NULL OR connector_id = ?) AND (? IS NULL OR seq < ?)
        AND (? IS NULL OR created_at >= ?) AND (? IS NULL OR created_at < ?) AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))
      ORDER BY seq DESC LIMIT ?`).all(
      f.status ?? null,
      f.status ?? null,
      f.connectorId ?? null,
      f.connectorId ?? null,
      f.beforeSeq ?? null,
      f.beforeSeq ?? null,
      f.createdSince ?? null,
      f.createdSince ?? null,
      f.createdUntil ?? null,
      f.createdUntil ?? null,
      ids,
      ids,
      f.limit ?? 100,
    ) as Row[];
    return rows.map(deliveryFromRow);
  }

  async retry(id: string, now: number): Promise<Delivery | undefined> {
    return this.afterSync(
      this.db
        .transaction(() => {
          const revive = (target: string) =>
            this.stmt(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, first_attempt_at = NULL, backoff_attempts = 0, updated_at = ?
        WHERE id = ? AND status IN ('dead', 'cancelled')`).run(now, now, target).changes;
          if (revive(id) === 0) return this.getSync(id);
          // Dependents that died only because this one died come back with it.
          let frontier = [id];
          while (frontier.length) {
            const next: string[] = [];
            for (const dep of frontier) {
              const rows = this.stmt(
                `SELECT id FROM deliveries WHERE depends_on = ? AND status = 'dead' AND json_extract(last_error, '$.code') = 'dependency_dead'`,
              ).all(dep) as Row[];
              for (const r of rows) {
                revive(String(r.id));
                next.push(String(r.id));
              }
            }
            frontier = next;
          }
          return this.getSync(id);
        })
        .immediate(),
    );
  }

  private getSync(id: string): Delivery | undefined {
    const r = this.stmt(`SELECT ${SELECT_COLUMNS} FROM deliveries WHERE id = ?`).get(id) as Row | undefined;
    return r && deliveryFromRow(r);
  }

  async cancel(id: string, now: number): Promise<Delivery | undefined> {
    return this.afterSync(
      this.db
        .transaction(() => {
          const changed = this.stmt("UPDATE deliveries SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'pending'").run(now, id).changes;
          if (changed) this.killDependents(id, now);
          return this.getSync(id);
        })
        .immediate(),
    );
  }

  async resolve(id: string, r: Resolution, now: number): Promise<Delivery | undefined> {
    return this.afterSync(
      this.db
        .transaction(() => {
          const where = "WHERE id = ? AND status = 'unknown_outcome'";
          if (r.action === 'retry_as_new') {
            this.stmt(
              `UPDATE deliveries SET status = 'pending', ambiguous = 0, next_attempt_at = ?, first_attempt_at = NULL, backoff_attempts = 0, updated_at = ? ${where}`,
            ).run(now, now, id);
          } else if (r.action === 'attach') {
            this.stmt(`UPDATE deliveries SET status = 'delivered', ambiguous = 0, result = ?, updated_at = ? ${where}`).run(
              JSON.stringify(resolvedResult(r.ids)),
              now,
              id,
            );
          } else if (this.stmt(`UPDATE deliveries SET status = 'cancelled', updated_at = ? ${where}`).run(now, id).changes) {
            this.killDependents(id, now);
          }
          return this.getSync(id);
        })
        .immediate(),
    );
  }

  private async afterSync<T>(value: T): Promise<T> {
    await this.synced();
    return value;
  }

  async counts(): Promise<StoreCounts> {
    const out: StoreCounts = { pending: 0, running: 0, delivered: 0, dead: 0, cancelled: 0, unknown_outcome: 0 };
    for (const r of this.stmt('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status').all() as Row[]) out[r.status as keyof StoreCounts] = Number(r.n);
    return out;
  }

  async purgeFinished(before: number, now: number, limit: number): Promise<{ deliveries: number; sessions: number }> {
    const deliveries = this.stmt(`UPDATE deliveries SET variables = '{}', file = NULL, purged_at = ?
      WHERE seq IN (SELECT seq FROM deliveries INDEXED BY deliveries_retention
        WHERE status IN ('delivered', 'dead', 'cancelled') AND purged_at IS NULL AND updated_at < ? LIMIT ?)`).run(now, before, limit).changes;
    const sessions = this.stmt('DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions INDEXED BY sessions_updated WHERE updated_at < ? LIMIT ?)').run(
      before,
      limit,
    ).changes;
    if (deliveries || sessions) await this.synced();
    return { deliveries, sessions };
  }

  async recentSessions(connectorId: string, limit: number): Promise<SessionSummary[]> {
    const rows = this.stmt(
      'SELECT session_id, created_at, updated_at, ended_at, waiting_for, unidentified_at FROM sessions WHERE connector_id = ? ORDER BY updated_at DESC LIMIT ?',
    ).all(connectorId, limit) as Row[];
    return rows.map(sessionSummaryFromRow);
  }

  async loadSession(connectorId: string, sessionId: string) {
    const r = this.stmt('SELECT state, version FROM sessions WHERE connector_id = ? AND session_id = ?').get(connectorId, sessionId) as Row | undefined;
    return r ? { state: JSON.parse(String(r.state)) as Record<string, unknown>, version: Number(r.version) } : undefined;
  }

  async saveSession(connectorId: string, sessionId: string, state: Record<string, unknown>, version: number, meta: SessionMeta, now: number): Promise<boolean> {
    const w = meta.waiting;
    const waiting = [w === undefined ? 0 : 1, w?.for ?? null, w?.since ?? null, w?.unidentifiedAt ?? null];
    return this.commit(() => {
      if (version === 0) {
        return (
          this.stmt(`INSERT INTO sessions (connector_id, session_id, state, version, customer_key, ended_at, created_at, updated_at, waiting_for, waiting_since, unidentified_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (connector_id, session_id) DO NOTHING`).run(
            connectorId,
            sessionId,
            JSON.stringify(state),
            meta.customerKey ?? null,
            meta.endedAt ?? null,
            now,
            now,
            ...waiting.slice(1),
          ).changes === 1
        );
      }
      return (
        this.stmt(`UPDATE sessions SET state = ?, version = version + 1, customer_key = COALESCE(?, customer_key), ended_at = COALESCE(?, ended_at), updated_at = ?,
          waiting_for = CASE WHEN ? THEN ? ELSE waiting_for END, waiting_since = CASE WHEN ? THEN ? ELSE waiting_since END, unidentified_at = CASE WHEN ? THEN ? ELSE unidentified_at END
        WHERE connector_id = ? AND session_id = ? AND version = ?`).run(
          JSON.stringify(state),
          meta.customerKey ?? null,
          meta.endedAt ?? null,
          now,
          waiting[0],
          waiting[1],
          waiting[0],
          waiting[2],
          waiting[0],
          waiting[3],
          connectorId,
          sessionId,
          version,
        ).changes === 1
      );
    });
  }

  async overdueIdentity(connectorId: string, since: number, limit: number): Promise<string[]> {
    return (
      this.stmt(`SELECT session_id FROM sessions WHERE waiting_for = 'customer_identity' AND connector_id = ? AND waiting_since < ? AND unidentified_at IS NULL
      ORDER BY waiting_since LIMIT ?`).all(connectorId, since, limit) as Row[]
    ).map((r) => String(r.session_id));
  }

  async waitingCounts(): Promise<WaitingCount[]> {
    return (
      this.stmt(
        `SELECT connector_id, waiting_for, COUNT(*) AS n, COUNT(unidentified_at) AS u FROM sessions WHERE waiting_for IS NOT NULL GROUP BY connector_id, waiting_for`,
      ).all() as Row[]
    ).map((r) => ({ connectorId: String(r.connector_id), waitingFor: String(r.waiting_for), sessions: Number(r.n), unidentified: Number(r.u) }));
  }

  async lastSessionEnd(connectorId: string, customerKey: string, exceptSessionId: string): Promise<number | undefined> {
    const r = this.stmt('SELECT MAX(ended_at) AS t FROM sessions WHERE connector_id = ? AND customer_key = ? AND session_id <> ? AND ended_at IS NOT NULL').get(
      connectorId,
      customerKey,
      exceptSessionId,
    ) as Row | undefined;
    return r?.t === null || r?.t === undefined ? undefined : Number(r.t);
  }

  async loadWatermark(connectorId: string, source: string): Promise<{ watermark: number; lastRunAt: number } | undefined> {
    const r = this.stmt('SELECT watermark, last_run_at FROM platform_watermarks WHERE connector_id = ? AND source = ?').get(connectorId, source) as
      | Row
      | undefined;
    return r ? { watermark: Number(r.watermark), lastRunAt: Number(r.last_run_at) } : undefined;
  }

  async saveWatermark(connectorId: string, source: string, watermark: number, lastRunAt: number): Promise<void> {
    this.stmt(`INSERT INTO platform_watermarks (connector_id, source, watermark, last_run_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (connector_id, source) DO UPDATE SET watermark = MAX(platform_watermarks.watermark, excluded.watermark), last_run_at = excluded.last_run_at`).run(
      connectorId,
      source,
      watermark,
      lastRunAt,
    );
    await this.synced();
  }

  async claimRun(connectorId: string, source: string, lastRunBefore: number, now: number): Promise<boolean> {
    const claimed =
      this.stmt('UPDATE platform_watermarks SET last_run_at = ? WHERE connector_id = ? AND source = ? AND last_run_at < ?').run(
        now,
        connectorId,
        source,
        lastRunBefore,
      ).changes === 1;
    if (claimed) await this.synced();
    return claimed;
  }

  async ping(): Promise<void> {
    if (this.broken) throw this.broken;
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.batch.length || this.riders.length) this.flush();
    await this.nextSync?.catch(() => undefined);
    await this.syncing?.catch(() => undefined);
    this.db.close();
    if (this.syncFd) fs.closeSync(this.syncFd.fd);
    this.syncFd = undefined;
  }
}
