/**
 * Waiting is visible: a session driven by the platform's own adapter events (no customer
 * identity in them) says waiting_for: customer_identity in its view and in /metrics; after
 * events.unidentified_after_seconds the sweep marks it unidentified, its held writes kept; a
 * later event with identity (by the connector's events.identity paths) sends them in order and
 * clears the mark. Real SQLite and real PostgreSQL, real HTTP to the sample CRM; only time is
 * simulated (the gateway's clock).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Gateway } from '../../src/gateway';
import { DeliveryService } from '../../src/delivery/service';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import { PostgresStore } from '../../src/delivery/postgres-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { DeliveryWorker } from '../../src/delivery/worker';
import { FlowEngine } from '../../src/flows/engine';
import { createStepRunner } from '../../src/flows/steps';
import { Metrics } from '../../src/metrics/metrics';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { silentLogger } from '../../src/util/logger';
import { ROOT } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import { SPEC_NEW_CALL } from '../helpers/platform-events';

jest.setTimeout(60_000);

let crm: RunningSampleCrm;
let dir: string;
beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unidentified-'));
});
afterAll(async () => {
  await crm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The spec's own examples, as printed (no end user, no phone, no e-mail).
const NEW_CALL = SPEC_NEW_CALL;
const END_CALL = { ...NEW_CALL, type: 'End_Call' };

async function scenario(label: string, store: DeliveryStore): Promise<void> {
  const T0 = Date.parse('2026-12-01T10:00:00Z');
  let now = T0;
  const gateway = new Gateway({
    configFiles: [path.join(ROOT, 'config/zendesk.yaml')],
    env: { ZENDESK_URL: crm.url },
    now: () => now,
    tokenStore: store.tokens,
  });
  gateway.load();
  gateway.metrics = new Metrics(store);
  const service = new DeliveryService(store, gateway);
  const worker = new DeliveryWorker({
    store,
    gateway,
    logger: silentLogger,
    now: () => now,
    concurrency: 2,
    runStep: createStepRunner(store),
    onFollowUp: (p, op, v) => service.followUp(p, op, v),
  });
  const flows = new FlowEngine(store, service, gateway);
  const S = `unid-${label}`;
  const phone = label === 'sqlite' ? '+1 222 333 7301' : '+1 222 333 7302';
  const metric = async (name: string) =>
    (await gateway.metrics!.registry.metrics()).split('\n').filter((l) => l.startsWith(name) && l.includes('connector="zendesk"'));

  await flows.handle('zendesk', S, NEW_CALL);
  let v = (await flows.handle('zendesk', S, END_CALL)).session;
  await worker.drain();
  expect(v).toMatchObject({ waiting_for: 'customer_identity', waiting_since: new Date(T0).toISOString(), unidentified: false, account: null, record: null });
  expect(v.held).toHaveLength(2); // the end comment and the update, waiting
  expect(await metric('crm_gateway_sessions_waiting')).toEqual(['crm_gateway_sessions_waiting{connector="zendesk",waiting_for="customer_identity"} 1']);
  expect(await metric('crm_gateway_sessions_unidentified')).toEqual(['crm_gateway_sessions_unidentified{connector="zendesk"} 0']);

  // Before the hour: nothing is marked. After it: marked once.
  now = T0 + 3_599_000;
  expect(await flows.markUnidentified()).toBe(0);
  now = T0 + 3_601_000;
  expect(await flows.markUnidentified()).toBe(1);
  expect(await flows.markUnidentified()).toBe(0);
  v = await flows.view('zendesk', S);
  expect(v).toMatchObject({ waiting_for: 'customer_identity', unidentified: true, unidentified_since: new Date(T0 + 3_601_000).toISOString() });
  expect(v.held).toHaveLength(2); // kept, not lost
  expect(await metric('crm_gateway_sessions_unidentified')).toEqual(['crm_gateway_sessions_unidentified{connector="zendesk"} 1']);

  // Identity arrives in a later event, at a path of the connector's mapping.
  now = T0 + 7_200_000;
  v = (await flows.handle('zendesk', S, { type: 'User_Verified', data: { call_id: 103646, session_variable: { caller_phone: phone } } })).session;
  expect(v).toMatchObject({ waiting_for: null, unidentified: false, held: [] });
  expect(v).not.toHaveProperty('unidentified_since');
  await worker.drain();
  v = await flows.view('zendesk', S);
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  const users = crm.crm.state.users.filter((u) => u.phone?.replace(/\D/g, '') === phone.replace(/\D/g, ''));
  expect(users).toHaveLength(1);
  const ticket = crm.crm.state.tickets.find((t) => t.id === v.record_id)!;
  expect(ticket.requester_id).toBe(users[0].id);
  const comments = crm.crm.state.comments.filter((c) => c.ticket_id === ticket.id).map((c) => c.body);
  // Description, "record created", then the held writes in their original order: end comment, update.
  expect(comments[1]).toMatch(/^Call\/chat id 103646/);
  expect(comments[2]).toMatch(/^Session ended\. .*Agent: Kim@example\.com\.$/);
  expect(comments[3]).toMatch(/^Session unid-/);
  expect(comments).toHaveLength(4);
  expect(await metric('crm_gateway_sessions_waiting')).toEqual([]);
  expect(await metric('crm_gateway_sessions_unidentified')).toEqual([]);
}

test('SQLite: waiting_for customer_identity, marked unidentified after the hour, replayed when identity arrives', async () => {
  const store = new SqliteStore(path.join(dir, 'unidentified.db'));
  await store.migrate();
  try {
    await scenario('sqlite', store);
  } finally {
    await store.close();
  }
});

test('PostgreSQL: the same', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const store = new PostgresStore({ connectionString: PG_URL, schema, max: 2 });
  try {
    await store.migrate();
    await scenario('postgres', store);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

test('a session waiting for an agent says so, and is never marked unidentified', async () => {
  const store = new SqliteStore(path.join(dir, 'agent.db'));
  await store.migrate();
  const yaml = fs
    .readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8')
    .replace('  records_for_abandoned_sessions: true', '  records_for_abandoned_sessions: true\n  delay_record_until_agent: true');
  fs.writeFileSync(path.join(dir, 'zendesk.yaml'), yaml);
  let now = Date.parse('2026-12-01T10:00:00Z');
  const gateway = new Gateway({ configFiles: [path.join(dir, 'zendesk.yaml')], env: { ZENDESK_URL: crm.url }, now: () => now, tokenStore: store.tokens });
  gateway.load();
  const flows = new FlowEngine(store, new DeliveryService(store, gateway), gateway);
  try {
    const v = (await flows.handle('zendesk', 'agent-1', { type: 'Session_Started', data: { call_id: 5, end_user: { phone: '+1 222 333 7303' } } })).session;
    expect(v).toMatchObject({ waiting_for: 'agent', record: 'waiting_for_agent', unidentified: false });
    expect(await store.waitingCounts()).toEqual([{ connectorId: 'zendesk', waitingFor: 'agent', sessions: 1, unidentified: 0 }]);
    now += 10 * 3_600_000;
    expect(await flows.markUnidentified()).toBe(0);
    expect((await flows.handle('zendesk', 'agent-1', NEW_CALL)).session).toMatchObject({ waiting_for: null });
    expect(await store.waitingCounts()).toEqual([]);
  } finally {
    await store.close();
  }
});

describe('events.identity in the engine', () => {
  let store: SqliteStore;
  let flows: FlowEngine;
  beforeAll(async () => {
    store = new SqliteStore(path.join(dir, 'mapping.db'));
    await store.migrate();
    const yaml = fs
      .readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8')
      .replace(/^ {4}phone: \[end_user\.phone, .*$/m, '    phone: [custom_data_secured.phone, end_user.phone, custom_sip_headers.X-Caller-Number]');
    fs.writeFileSync(path.join(dir, 'mapping.yaml'), yaml);
    const gateway = new Gateway({ configFiles: [path.join(dir, 'mapping.yaml')], env: { ZENDESK_URL: crm.url }, tokenStore: store.tokens });
    gateway.load();
    // The mapping under test really lists the signed path first.
    expect(gateway.connector('zendesk').events.identity[0].paths.map((p) => p.source)).toEqual([
      'custom_data_secured.phone',
      'end_user.phone',
      'custom_sip_headers.X-Caller-Number',
    ]);
    flows = new FlowEngine(store, new DeliveryService(store, gateway), gateway);
  });
  afterAll(async () => {
    await store.close();
  });

  test('custom_data_secured.* never reads the unverified value the event carries', async () => {
    const v = (await flows.handle('zendesk', 'secured-1', { ...NEW_CALL, data: { ...NEW_CALL.data, custom_data_secured: { phone: '+1 222 333 7311' } } }))
      .session;
    expect(v).toMatchObject({ waiting_for: 'customer_identity', account: null });
  });

  test('an event phone that does not parse gives way to the next path', async () => {
    const v = (
      await flows.handle('zendesk', 'anon-1', {
        ...NEW_CALL,
        data: { ...NEW_CALL.data, end_user: { phone: 'anonymous' }, custom_sip_headers: { 'X-Caller-Number': '+1 222 333 7312' } },
      })
    ).session;
    expect(v).toMatchObject({ waiting_for: null, account: 'pending' });
    expect(v.warnings).toEqual([]);
  });
});
