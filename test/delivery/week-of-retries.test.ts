/**
 * The spec's promise, on a fake clock: a CRM that answers 400 for a whole week gets retried
 * with exponential backoff (jittered) until 7 days have passed, then the write is dead.
 * Real HTTP to the sample CRM, real SQLite store; only time is simulated.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Gateway } from '../../src/gateway';
import { DeliveryService } from '../../src/delivery/service';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import { DeliveryWorker } from '../../src/delivery/worker';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { silentLogger } from '../../src/util/logger';
import { ROOT } from '../helpers/harness';

let crm: RunningSampleCrm;
let dir: string;
beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'week-'));
});
afterAll(async () => {
  await crm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const DAY = 24 * 3600 * 1000;

test('400 for a week: attempts back off exponentially within jitter bounds and stop at the deadline', async () => {
  let now = Date.parse('2026-11-25T10:00:00Z');
  const clock = () => now;
  const store = new SqliteStore(path.join(dir, 'week.db'));
  await store.migrate();
  const gateway = new Gateway({ configFiles: [path.join(ROOT, 'config/zendesk.yaml')], env: { ZENDESK_URL: crm.url }, now: clock, tokenStore: store.tokens });
  gateway.load();
  const service = new DeliveryService(store, gateway);
  const worker = new DeliveryWorker({ store, gateway, logger: silentLogger, now: clock, concurrency: 1 });
  crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 400, body: { error: 'InvalidValue' }, always: true });

  const { delivery } = await service.accept('zendesk', 'create_account', { variables: { NAME: 'Patient Caller' } });
  const start = now;
  const attemptTimes: number[] = [];
  for (let guard = 0; guard < 200; guard++) {
    const delivered = await worker.drain();
    if (delivered) attemptTimes.push(now);
    const d = (await store.get(delivery.id))!;
    if (d.status !== 'pending') break;
    now = d.nextAttemptAt;
  }

  const final = (await store.get(delivery.id))!;
  expect(final.status).toBe('dead');
  expect(final.lastError?.message).toMatch(/7 days deadline/);
  // Every attempt reached the CRM, and none after the deadline.
  const received = crm.crm.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/users.json').length;
  expect(received).toBe(attemptTimes.length);
  expect(attemptTimes.at(-1)! - start).toBeLessThanOrEqual(7 * DAY);

  // Spacing: attempt k+1 comes between half and all of min(6 h, 30 s × 2^(k-1)) after attempt k.
  const policy = final.policy;
  for (let k = 1; k < attemptTimes.length; k++) {
    const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (k - 1));
    const gap = attemptTimes[k] - attemptTimes[k - 1];
    expect(gap).toBeGreaterThanOrEqual(Math.floor(nominal / 2));
    expect(gap).toBeLessThanOrEqual(nominal);
  }
  // With a 6 h cap, a week holds roughly 30–60 attempts; the last gap could not fit before the deadline.
  expect(attemptTimes.length).toBeGreaterThan(30);
  expect(attemptTimes.length).toBeLessThan(60);
  const history = await store.attempts(delivery.id);
  expect(history).toHaveLength(attemptTimes.length);
  expect(history.every((a) => a.status === 400)).toBe(true);
  expect(history.at(-1)!.classification).toBe('fail');
  expect(history.slice(0, -1).every((a) => a.classification === 'retry')).toBe(true);
  await store.close();
});

test('a dependent write is rendered with the id its dependency produced', async () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  const clock = () => now;
  crm.crm.clearFaults();
  const store = new SqliteStore(path.join(dir, 'dep.db'));
  await store.migrate();
  const gateway = new Gateway({ configFiles: [path.join(ROOT, 'config/zendesk.yaml')], env: { ZENDESK_URL: crm.url }, now: clock, tokenStore: store.tokens });
  gateway.load();
  const service = new DeliveryService(store, gateway);
  const worker = new DeliveryWorker({ store, gateway, logger: silentLogger, now: clock, concurrency: 4 });
  const account = await service.accept('zendesk', 'create_account', { variables: { NAME: 'Dep Endent', EMAIL: 'dep@example.com' } });
  const record = await service.accept('zendesk', 'create_record', { variables: { TICKET_SUBJECT: 'Needs the account' } }, { dependsOn: account.delivery.id });
  const comment = await service.accept('zendesk', 'add_comment', { variables: { COMMENT_BODY: 'first' } }, { dependsOn: record.delivery.id });
  const comment2 = await service.accept('zendesk', 'add_comment', { variables: { COMMENT_BODY: 'second' } }, { dependsOn: record.delivery.id });
  expect(await worker.drain()).toBe(4);
  const r = (await store.get(record.delivery.id))!;
  const a = (await store.get(account.delivery.id))!;
  const ticket = crm.crm.state.tickets.find((t) => t.id === r.result!.ids.RECORD_ID)!;
  expect(ticket.requester_id).toBe(a.result!.ids.ACCOUNT_ID);
  expect(crm.crm.state.comments.filter((c) => c.ticket_id === ticket.id).map((c) => c.body)).toEqual([
    expect.stringContaining('Contact-center session'),
    'first',
    'second',
  ]);
  expect((await store.get(comment.delivery.id))!.status).toBe('delivered');
  expect((await store.get(comment2.delivery.id))!.orderingKey).toBe(r.orderingKey);
  await store.close();
});
