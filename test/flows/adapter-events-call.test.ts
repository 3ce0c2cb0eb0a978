/**
 * A whole call driven ONLY by the platform's own adapter events (New_Call, Party_Added,
 * End_Call, with the fields the spec lists; the customer's number in a custom SIP header, found
 * by config/zendesk.yaml's events.identity), against the Zendesk-like sample CRM, asserting the
 * CRM's final state: one user, one ticket, the comments in order. With duplicates, End_Call
 * before New_Call, and a gateway process killed (SIGKILL) in the middle of the session (after
 * which the pushed screen pop still arrives, once).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { ROOT, startHarness, type Harness } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import { SPEC_NEW_CALL } from '../helpers/platform-events';

jest.setTimeout(120_000);

/** The spec's New_Call example, plus the optional custom_sip_headers field it lists. */
const newCall = (callId: number, phone: string) => ({
  type: 'New_Call',
  data: { ...SPEC_NEW_CALL.data, call_id: callId, custom_sip_headers: { 'X-Caller-Number': phone } },
});
const endCall = (callId: number, phone: string) => ({ ...newCall(callId, phone), type: 'End_Call' });
const partyAdded = (callId: number) => ({
  type: 'Party_Added',
  data: {
    call_id: callId,
    session_type: 'Voice Campaign (UJET)',
    campaign_id: 1432,
    campaign_name: 'Survey Movie',
    agent_id: 5,
    agent_custom_id: '100',
    agent_email: 'ariel@example.com',
    queue_id: 8469,
    queue_path: 'Developers / Ariel',
    type: 'agent',
  },
});

async function post(base: string, sessionId: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/connectors/zendesk/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Until every step (follow-ups included) is final and nothing is held. */
async function settled(base: string, sessionId: string, ms = 60_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetch(`${base}/v1/connectors/zendesk/sessions/${sessionId}`).catch(() => undefined);
    const v = res?.ok ? ((await res.json()) as any) : undefined;
    if (v && v.held.length === 0 && v.steps.length > 0 && v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status)))
      return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function crmState(crm: RunningSampleCrm, phone: string) {
  const digits = phone.replace(/\D/g, '');
  const users = crm.crm.state.users.filter((u) => u.phone?.replace(/\D/g, '') === digits);
  const tickets = crm.crm.state.tickets.filter((t) => users.some((u) => u.id === t.requester_id));
  const comments = tickets.length === 1 ? crm.crm.state.comments.filter((c) => c.ticket_id === tickets[0].id).map((c) => c.body) : [];
  return { users, tickets, comments };
}

describe('in one gateway: reordered and duplicated adapter events', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('End_Call before New_Call, each event twice: one user, one ticket, each comment once', async () => {
    const S = 'adapter-call-1';
    const phone = '+1 222 333 7501';
    // End_Call arrives first; New_Call later; every event is sent twice (no event ids: the content decides).
    const sent = [endCall(2001, phone), newCall(2001, phone), newCall(2001, phone), partyAdded(2001), endCall(2001, phone), partyAdded(2001)];
    const statuses = [];
    for (const e of sent) statuses.push((await post(h.gw.url, S, e)).status);
    expect(statuses).toEqual([202, 202, 200, 202, 200, 200]);
    const view = await settled(h.gw.url, S);
    expect(view).toMatchObject({ account: 'created', record: 'created', ended: true, waiting_for: null, unidentified: false });
    expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);

    const { users, tickets, comments } = crmState(h.crm, phone);
    expect(users).toHaveLength(1);
    expect(users[0].phone).toBe(phone);
    expect(tickets).toHaveLength(1);
    expect(view).toMatchObject({ account_id: users[0].id, record_id: tickets[0].id });
    expect(comments[0]).toMatch(/^Session adapter-call-1 \(Voice Campaign \(UJET\), voice_call\)\nCustomer: - {2}Phone: \+1 222 333 7501/);
    expect(comments.slice(1)).toEqual([
      'Call/chat id 2001 · language - · menu/queue Developers / Kim',
      'Session ended. Duration -, hold -, wait -. Agent: Kim@example.com.',
      expect.stringMatching(/^Session adapter-call-1 .*Agent: Kim@example\.com$/s), // the update on end
      'Transferred to ariel@example.com',
    ]);
  });
});

async function crashRun(label: string, env: Record<string, string>): Promise<void> {
  const crm = await startSampleCrm({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-crash-'));
  fs.mkdirSync(path.join(dir, 'config'));
  // A pushed screen pop too: accepted with the record step, it must survive the kill and arrive once.
  const pops: unknown[] = [];
  const receiver = http.createServer((req, res) => {
    let t = '';
    req.on('data', (c) => {
      t += c;
    });
    req.on('end', () => {
      pops.push(JSON.parse(t));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const popUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/pop`;
  fs.writeFileSync(
    path.join(dir, 'config/zendesk.yaml'),
    fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8').replace(/^ {2}# record_pop: .*$/m, `  record_pop: { url: "${popUrl}" }`),
  );
  // Creating the ticket takes a while, so the kill lands while the session's writes are in flight.
  crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', delayMs: 400, always: true });
  const childEnv = {
    ...env,
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    DELIVERY_WORKERS: '2',
    DELIVERY_LEASE_MS: '1500',
  };
  const S = `adapter-crash-${label}-${crypto.randomBytes(3).toString('hex')}`;
  const phone = label === 'sqlite' ? '+1 222 333 7511' : '+1 222 333 7512';
  let child: Child | undefined;
  try {
    child = await startChild(childEnv);
    expect((await post(child.url, S, newCall(2002, phone))).status).toBe(202);
    await new Promise((r) => setTimeout(r, 250));
    await child.kill('SIGKILL');
    child = await startChild(childEnv);
    // The platform sends New_Call again (it never got an answer it trusted), then the rest.
    expect((await post(child.url, S, newCall(2002, phone))).status).toBe(200);
    expect((await post(child.url, S, partyAdded(2002))).status).toBe(202);
    expect((await post(child.url, S, endCall(2002, phone))).status).toBe(202);
    const view = await settled(child.url, S);
    expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);

    const { users, tickets, comments } = crmState(crm, phone);
    expect({ label, users: users.length, tickets: tickets.length }).toEqual({ label, users: 1, tickets: 1 });
    expect(comments.slice(1)).toEqual([
      'Call/chat id 2002 · language - · menu/queue Developers / Kim',
      'Transferred to ariel@example.com',
      'Session ended. Duration -, hold -, wait -. Agent: Kim@example.com.',
      expect.stringMatching(/^Session adapter-crash-.*Agent: Kim@example\.com$/s),
    ]);
    expect(view).toMatchObject({ account_id: users[0].id, record_id: tickets[0].id, waiting_for: null });
    // The kill really landed mid-session: the ticket's create was interrupted and taken over.
    const record = view.steps.find((s: { name: string }) => s.name === 'record');
    const d = (await (await fetch(`${child.url}/v1/deliveries/${record.delivery_id}`)).json()) as { attempts: number };
    expect(d.attempts).toBeGreaterThan(1);
    expect(pops).toEqual([{ type: 'CRM_Record_Pop', data: { recordUrl: `${crm.url}/agent/tickets/${tickets[0].id}` } }]);
  } finally {
    await child?.kill('SIGKILL');
    await new Promise((r) => receiver.close(r));
    await crm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('SQLite: a gateway killed mid-session loses and duplicates nothing', async () => {
  await crashRun('sqlite', {});
});

test('PostgreSQL: the same', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    await crashRun('postgres', { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema });
  } finally {
    await dropSchema(schema);
  }
});
