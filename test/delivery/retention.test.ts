/**
 * Retention on a fake clock, end to end: the sweeper purges finished deliveries past
 * RETENTION_DAYS (0 keeps everything); the API then shows `purged_at`, empty variables and the
 * kept history, and refuses to replay a purged delivery.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY } from '../../src/config/retry-policy';
import { RetentionSweeper, purgeOnce } from '../../src/delivery/retention';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import { silentLogger } from '../../src/util/logger';
import { startHarness } from '../helpers/harness';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-25T10:00:00Z');

describe('the sweeper', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retention-'));
    store = new SqliteStore(path.join(dir, 'g.db'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function finishedAt(at: number): Promise<string> {
    const { delivery } = await store.enqueue(
      {
        id: crypto.randomUUID(),
        connectorId: 'zendesk',
        operation: 'create_account',
        variables: { PHONE_NUMBER: '+15551234567' },
        policy: DEFAULT_RETRY_POLICY,
      },
      at,
    );
    const [d] = await store.claim(1, at, 30_000);
    await store.complete(
      d.id,
      d.leaseToken!,
      {
        status: 'delivered',
        backoffAttempts: 1,
        ambiguous: false,
        result: { ids: {}, outcome: 'ok' },
        attempts: [{ n: 1, at, status: 201, classification: 'ok', reason: 'HTTP 201', durationMs: 1 }],
      },
      at,
    );
    return delivery.id;
  }

  test('purges what is older than the retention, in batches, and logs nothing when there is nothing', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await finishedAt(T0 + i));
    const young = await finishedAt(T0 + 10 * DAY);
    const sweeper = new RetentionSweeper({ store, days: 30, logger: silentLogger, now: () => T0 + 31 * DAY });
    await sweeper.sweep();
    for (const id of ids) expect((await store.get(id))!.purgedAt).toBe(T0 + 31 * DAY);
    expect((await store.get(young))!.purgedAt).toBeUndefined();
    await sweeper.stop();
  });

  test('0 keeps everything', async () => {
    const id = await finishedAt(T0);
    expect(await purgeOnce(store, 0, T0 + 10_000 * DAY)).toEqual({ deliveries: 0, sessions: 0 });
    expect((await store.get(id))!.variables).toEqual({ PHONE_NUMBER: '+15551234567' });
  });
});

test('through the API: a purged delivery shows purged_at, empty variables, its history, and cannot be replayed', async () => {
  const h = await startHarness();
  try {
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 422, body: { error: 'RecordInvalid' } });
    const r = await h.op('create_account', { NAME: 'Kim Lee', EMAIL: 'kim@example.com' }, { query: '?async=true' });
    let d;
    for (let i = 0; i < 100; i++) {
      d = (await h.get(`/v1/deliveries/${r.body.id}`)).body;
      if (d.status === 'dead') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(d.status).toBe('dead');
    const now = Date.now() + 31 * DAY;
    expect(await purgeOnce(h.gw.store, 30, now)).toMatchObject({ deliveries: 1 });
    const purged = (await h.get(`/v1/deliveries/${r.body.id}`)).body;
    expect(purged).toMatchObject({ status: 'dead', variables: {}, purged_at: new Date(now).toISOString(), last_error: { crm_status: 422 } });
    expect(purged.history).toHaveLength(1);
    expect(JSON.stringify(purged)).not.toContain('kim@example.com');
    const replay = await fetch(`${h.gw.url}/v1/deliveries/${r.body.id}/retry`, { method: 'POST' });
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/cannot be replayed: retention removed its variables and file/);
  } finally {
    await h.close();
  }
});
