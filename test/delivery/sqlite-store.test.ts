import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { DEFAULT_RETRY_POLICY } from '../../src/config/retry-policy';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import type { DeliveryStore } from '../../src/delivery/store';
import type { EncryptionKeys } from '../../src/auth/token-cipher';
import { TEST_KEYS, storeContract } from './store-contract';

storeContract('SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const file = path.join(dir, 'test.db');
  const open: DeliveryStore[] = [];
  const make = async (o: { encryption?: EncryptionKeys | null } = {}) => {
    const s = new SqliteStore(file, { encryption: o.encryption === null ? undefined : (o.encryption ?? TEST_KEYS) });
    await s.migrate();
    open.push(s);
    return s;
  };
  return {
    sql: async (statement) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(file);
      try {
        const st = db.prepare(statement);
        if (st.reader) return st.all() as Array<Record<string, unknown>>;
        st.run();
        return [];
      } finally {
        db.close();
      }
    },
    columns: async (table) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
      } finally {
        db.close();
      }
    },
    create: () => make(),
    shared: make,
    async destroy() {
      for (const s of open) await s.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('SQLite file: WAL (synced by the store before acknowledging), owner-only permissions', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const s = new SqliteStore(path.join(dir, 'x.db'));
  await s.migrate();
  expect(fs.statSync(path.join(dir, 'x.db')).mode & 0o077).toBe(0);
  const db = (s as unknown as { db: { pragma(q: string, o: object): unknown } }).db;
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  // NORMAL: SQLite does not sync at commit; the store does, off the event loop (next tests).
  expect(db.pragma('synchronous', { simple: true })).toBe(1);
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('durability: a write is acknowledged only once the WAL holding it is on disk', () => {
  const T0 = Date.parse('2026-11-25T10:00:00Z');
  const write = () => ({
    id: crypto.randomUUID(),
    connectorId: 'zendesk',
    operation: 'create_account' as const,
    variables: { NAME: 'Kim' },
    policy: DEFAULT_RETRY_POLICY,
  });
  const tick = () => new Promise((r) => setTimeout(r, 20));
  let dir: string;
  let store: SqliteStore;
  let held: Array<{ fd: number; done: (e: NodeJS.ErrnoException | null) => void }>;
  let spy: jest.SpyInstance;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-sync-'));
    store = new SqliteStore(path.join(dir, 'x.db'), { encryption: TEST_KEYS });
    await store.migrate();
    held = [];
    // The disk, held still: each fdatasync completes only when the test says so.
    spy = jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: (e: NodeJS.ErrnoException | null) => void) => {
      held.push({ fd, done });
    }) as never);
  });
  afterEach(async () => {
    spy.mockRestore();
    for (const h of held) h.done(null);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('committed but not yet synced: not acknowledged; the WAL file is what gets synced', async () => {
    let acked = false;
    const p = store.enqueue(write(), T0).then(() => {
      acked = true;
    });
    await tick();
    expect(held).toHaveLength(1);
    expect(acked).toBe(false);
    expect(fs.readlinkSync(`/proc/self/fd/${held[0].fd}`)).toBe(path.join(dir, 'x.db-wal'));
    held[0].done(null);
    await p;
    expect(acked).toBe(true);
  });

  test('a write committed while a sync is in flight waits for the next sync, which covers everything queued meanwhile', async () => {
    const first = store.enqueue(write(), T0);
    await tick();
    let later = 0;
    const during = [store.enqueue(write(), T0), store.enqueue(write(), T0)].map((p) =>
      p.then(() => {
        later++;
      }),
    );
    await tick();
    expect(held).toHaveLength(1);
    held[0].done(null);
    await first;
    await tick();
    expect(later).toBe(0);
    expect(held).toHaveLength(2);
    held[1].done(null);
    await Promise.all(during);
    expect(later).toBe(2);
  });

  test('a failed sync fails the writes it was to cover, and the store takes no more writes (readiness fails) until restarted', async () => {
    const p = store.enqueue(write(), T0);
    await tick();
    held[0].done(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await expect(p).rejects.toMatchObject({ code: 'ESTORESYNC', message: expect.stringMatching(/EIO/) });
    // After a failed fsync a later one proves nothing (the kernel may have dropped the pages).
    await expect(store.enqueue(write(), T0)).rejects.toMatchObject({ code: 'ESTORESYNC' });
    await expect(store.ping()).rejects.toMatchObject({ code: 'ESTORESYNC' });
    expect(held).toHaveLength(1);
  });

  test('work is handed to the worker only once it is on disk (a claim waits for the sync of what it claimed)', async () => {
    const enq = store.enqueue(write(), T0);
    await tick();
    // Committed, sync held: a claim sees the row but does not return it before the sync.
    let claimed: unknown[] | undefined;
    const c = store.claim(5, T0, 30_000).then((x) => {
      claimed = x;
    });
    await tick();
    expect(claimed).toBeUndefined();
    while (held.length) {
      held.shift()!.done(null);
      await tick();
    }
    await Promise.all([enq, c]);
    expect(claimed).toHaveLength(1);
  });

  test('completions and OAuth tokens wait for the sync too', async () => {
    const { delivery } = await (async () => {
      const p = store.enqueue(write(), T0);
      await tick();
      held.shift()!.done(null);
      return p;
    })();
    // Already on disk: the claim hands it over without waiting for another sync.
    const [claimed] = await store.claim(1, T0, 30_000);
    expect(held).toHaveLength(0);
    expect(claimed.id).toBe(delivery.id);
    let done = false;
    const c = store
      .complete(
        delivery.id,
        claimed.leaseToken!,
        { status: 'delivered', backoffAttempts: 1, ambiguous: false, result: { ids: {}, outcome: 'ok' }, attempts: [] },
        T0 + 1,
      )
      .then(() => {
        done = true;
      });
    let saved = false;
    const t = store.tokens.set('zendesk', { access_token: 'a', refresh_token: 'r' } as never).then(() => {
      saved = true;
    });
    await tick();
    expect([done, saved]).toEqual([false, false]);
    while (held.length) {
      held.shift()!.done(null);
      await tick();
    }
    await Promise.all([c, t]);
    expect([done, saved]).toEqual([true, true]);
  });
});

test('a claim joins the group commit of its turn: a completion made in the same turn frees the next write of its ordering key at once', async () => {
  // The claim used to commit on its own, before the turn's completions: it saw the first write
  // still running and handed nothing over, and the next write waited for the next poll.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const s = new SqliteStore(path.join(dir, 'x.db'));
  await s.migrate();
  const T0 = Date.parse('2026-11-25T10:00:00Z');
  const write = () => ({
    id: crypto.randomUUID(),
    connectorId: 'zendesk',
    operation: 'add_comment' as const,
    variables: { RECORD_ID: '7', COMMENT_BODY: 'x' },
    orderingKey: 'zendesk:record:7',
    policy: DEFAULT_RETRY_POLICY,
  });
  try {
    const first = await s.enqueue(write(), T0);
    const second = await s.enqueue(write(), T0);
    const [claimed] = await s.claim(8, T0, 30_000);
    expect(claimed.id).toBe(first.delivery.id);
    const done = s.complete(claimed.id, claimed.leaseToken!, { status: 'delivered', backoffAttempts: 1, ambiguous: false, attempts: [] }, T0 + 1);
    const next = s.claim(8, T0 + 1, 30_000);
    expect(await done).toBe(true);
    expect((await next).map((d) => d.id)).toEqual([second.delivery.id]);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a database path through a symlink: the real WAL (beside the real file) is what gets synced', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-link-'));
  fs.mkdirSync(path.join(dir, 'real'));
  fs.writeFileSync(path.join(dir, 'real', 'x.db'), '');
  fs.symlinkSync(path.join(dir, 'real', 'x.db'), path.join(dir, 'link.db'));
  const store = new SqliteStore(path.join(dir, 'link.db'));
  await store.migrate();
  const synced: string[] = [];
  const real = fs.fdatasync;
  const spy = jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: (e: NodeJS.ErrnoException | null) => void) => {
    synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    real(fd, done);
  }) as never);
  try {
    await store.enqueue(
      { id: crypto.randomUUID(), connectorId: 'zendesk', operation: 'create_account', variables: { NAME: 'Kim' }, policy: DEFAULT_RETRY_POLICY },
      1,
    );
    expect(synced).toEqual([path.join(fs.realpathSync(dir), 'real', 'x.db-wal')]);
  } finally {
    spy.mockRestore();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 3 (unknown_outcome) rebuilds the table of an existing database: rows, attempts, seq and the cascade kept', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const file = path.join(dir, 'old.db');
  const Database = (await import('better-sqlite3')).default;
  const { SQLITE_MIGRATIONS } = await import('../../src/delivery/migrations');
  const old = new Database(file);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  SQLITE_MIGRATIONS.slice(0, 2).forEach((sql, i) => {
    old.exec(sql);
    old.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(i + 1);
  });
  old
    .prepare(
      `INSERT INTO deliveries (id, connector_id, operation, status, variables, policy, created_at, updated_at, next_attempt_at) VALUES ('old-1', 'zendesk', 'create_record', 'dead', '{}', ?, 1, 1, 1)`,
    )
    .run(JSON.stringify(DEFAULT_RETRY_POLICY));
  old.prepare(`INSERT INTO delivery_attempts (delivery_id, n, at, classification, reason, duration_ms) VALUES ('old-1', 1, 1, 'fail', 'HTTP 422', 3)`).run();
  // Before migration 3, a write's condition and a step's facts were a "__flow" key in the variables.
  const legacy = old.prepare(
    `INSERT INTO deliveries (id, connector_id, operation, status, variables, policy, created_at, updated_at, next_attempt_at) VALUES (?, 'zendesk', ?, 'pending', ?, ?, 1, 1, 1)`,
  );
  legacy.run(
    'old-comment',
    'add_comment',
    JSON.stringify({ COMMENT_BODY: 'Record created', __flow: { onlyIfDependencyCreated: true } }),
    JSON.stringify(DEFAULT_RETRY_POLICY),
  );
  legacy.run(
    'old-step',
    'resolve_record',
    JSON.stringify({ PHONE_NUMBER: '+12223334444', __flow: { sessionId: 's-1', outbound: false } }),
    JSON.stringify(DEFAULT_RETRY_POLICY),
  );
  old.close();

  const s = new SqliteStore(file);
  await s.migrate();
  expect(await s.get('old-1')).toMatchObject({ seq: 1, status: 'dead' });
  expect(await s.attempts('old-1')).toEqual([expect.objectContaining({ n: 1, reason: 'HTTP 422' })]);
  expect(await s.get('old-comment')).toMatchObject({
    variables: { COMMENT_BODY: 'Record created' },
    condition: { onlyIfDependencyCreated: true },
    step: undefined,
  });
  expect((await s.get('old-comment'))!.variables).not.toHaveProperty('__flow');
  expect(await s.get('old-step')).toMatchObject({
    variables: { PHONE_NUMBER: '+12223334444' },
    step: { sessionId: 's-1', outbound: false },
    condition: undefined,
  });
  const { delivery } = await s.enqueue(
    { id: crypto.randomUUID(), connectorId: 'zendesk', operation: 'create_record', variables: {}, policy: DEFAULT_RETRY_POLICY },
    2,
  );
  expect(delivery.seq).toBe(4);
  const db = (s as unknown as { db: { prepare(q: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown } } }).db;
  db.prepare("UPDATE deliveries SET status = 'unknown_outcome' WHERE id = ?").run(delivery.id);
  expect(() => db.prepare("UPDATE deliveries SET status = 'lost' WHERE id = ?").run(delivery.id)).toThrow(/CHECK/);
  db.prepare("DELETE FROM deliveries WHERE id = 'old-1'").run();
  expect(db.prepare("SELECT COUNT(*) AS n FROM delivery_attempts WHERE delivery_id = 'old-1'").get()).toEqual({ n: 0 });
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
