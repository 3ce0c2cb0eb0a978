import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { storeContract } from './store-contract';

storeContract('SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const file = path.join(dir, 'test.db');
  const open: DeliveryStore[] = [];
  const make = async () => { const s = new SqliteStore(file); await s.migrate(); open.push(s); return s; };
  return {
    columns: async (table) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(file, { readonly: true });
      try { return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name); } finally { db.close(); }
    },
    create: make,
    shared: make,
    async destroy() {
      for (const s of open) await s.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('SQLite file: WAL, synchronous FULL, owner-only permissions', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const s = new SqliteStore(path.join(dir, 'x.db'));
  await s.migrate();
  expect(fs.statSync(path.join(dir, 'x.db')).mode & 0o077).toBe(0);
  const db = (s as unknown as { db: { pragma(q: string, o: object): unknown } }).db;
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(db.pragma('synchronous', { simple: true })).toBe(2);
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
