/**
 * Each flow setting changes what lands in the CRM (Zendesk-like sample CRM, bundled connector
 * with one setting changed): skip_record_creation, reopen_closed_within_days, the outbound
 * "set status to open" update, the record of a temporary account (skip_account_creation +
 * open_custom_url), and recordings attached to the ticket through the upload token.
 */
import type { SampleCrm } from '../../src/sample-crm';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const withSettings = (id: string, settings: string, flows = '') => {
  let y = bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^settings:\n/m, `settings:\n${settings}\n`);
  if (flows) y = y.replace(/^flows:\n/m, `flows:\n${flows}\n`);
  return y;
};

let h: Harness;
let crm: SampleCrm<'zendesk'>;
beforeAll(async () => {
  h = await startHarness({
    connectors: {
      'zendesk.yaml': bundled('zendesk.yaml'),
      'skip.yaml': withSettings('zd-skip', '  skip_record_creation: true'),
      'reopen.yaml': withSettings('zd-reopen', '  reopen_closed_within_days: 7'),
      'temp.yaml': withSettings('zd-temp', '  skip_account_creation: true', '  open_custom_url: ${env:ZENDESK_URL}/agent/users/new?phone={PHONE_NUMBER}'),
    },
  });
  crm = h.crm.crm as unknown as SampleCrm<'zendesk'>;
});
afterAll(async () => {
  await h.close();
});

const post = async (connector: string, sessionId: string, body: unknown) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connector}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
};
async function settled(connector: string, sessionId: string, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connector}/sessions/${sessionId}`)).body;
    const queue = await h.gw.store.counts();
    const done =
      v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status)) &&
      v.held.length === 0 &&
      queue.pending + queue.running === 0;
    if (done || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
}
const start = (connector: string, sessionId: string, phone: string, extra: Record<string, unknown> = {}) =>
  post(connector, sessionId, {
    type: 'Session_Started',
    data: {
      call_id: sessionId,
      session_type: 'IVR_Call',
      channel: 'voice_call',
      queue_name: 'Support',
      end_user: { name: `Caller ${phone}`, phone },
      ...extra,
    },
  });
const end = (connector: string, sessionId: string) =>
  post(connector, sessionId, { type: 'End_Call', data: { call_id: sessionId, agent_email: 'kim@example.com', call_duration: 60 } });
const ticketsOf = (userId: number) => crm.state.tickets.filter((t) => t.requester_id === userId);
const DAY = 24 * 3600 * 1000;

describe('settings.skip_record_creation: true', () => {
  test('a new customer: no ticket is created; the session says why; later writes go nowhere (skipped, not dead)', async () => {
    await start('zd-skip', 'skip-1', '+1 222 333 7101');
    await end('zd-skip', 'skip-1');
    const v = await settled('zd-skip', 'skip-1');
    const user = crm.state.users.find((u) => u.id === v.account_id)!;
    expect(user).toBeDefined();
    expect(ticketsOf(user.id)).toEqual([]);
    expect(v).toMatchObject({ record: 'not_created', record_id: null });
    expect(v.warnings.join('\n')).toMatch(/skip_record_creation/);
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  });

  test("a customer with an open ticket: the ticket is reused and gets the session's comments", async () => {
    const user = crm.seedUser({ name: 'Has Ticket', phone: '+1 222 333 7102' });
    const ticket = crm.seedTicket({ requester_id: user.id, subject: 'Open one', status: 'open' });
    await start('zd-skip', 'skip-2', '+1 222 333 7102');
    await end('zd-skip', 'skip-2');
    const v = await settled('zd-skip', 'skip-2');
    expect(v).toMatchObject({ account_id: user.id, record_id: ticket.id, record: 'reused' });
    expect(ticketsOf(user.id)).toHaveLength(1);
    expect(
      crm.state.comments
        .filter((c) => c.ticket_id === ticket.id)
        .map((c) => c.body)
        .join('\n'),
    ).toMatch(/Session ended/);
  });
});

describe('settings.reopen_closed_within_days', () => {
  test('7: a solved ticket of the customer from 2 days ago is reopened and reused', async () => {
    const user = crm.seedUser({ name: 'Was Solved', phone: '+1 222 333 7201' });
    const solved = crm.seedTicket({ requester_id: user.id, subject: 'Solved', status: 'solved', createdAt: Date.now() - 2 * DAY });
    await start('zd-reopen', 'reopen-1', '+1 222 333 7201');
    const v = await settled('zd-reopen', 'reopen-1');
    expect(v).toMatchObject({ record_id: solved.id, record: 'reopened' });
    expect(crm.state.tickets.find((t) => t.id === solved.id)!.status).toBe('open');
    expect(ticketsOf(user.id)).toHaveLength(1);
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  });

  test('7: a solved ticket from 10 days ago is left alone; a new ticket is created', async () => {
    const user = crm.seedUser({ name: 'Long Ago', phone: '+1 222 333 7202' });
    const old = crm.seedTicket({ requester_id: user.id, subject: 'Old', status: 'solved', createdAt: Date.now() - 10 * DAY });
    await start('zd-reopen', 'reopen-2', '+1 222 333 7202');
    const v = await settled('zd-reopen', 'reopen-2');
    expect(v.record).toBe('created');
    expect(v.record_id).not.toBe(old.id);
    expect(crm.state.tickets.find((t) => t.id === old.id)!.status).toBe('solved');
  });

  test('0 (the default): a solved ticket from yesterday is never reused', async () => {
    const user = crm.seedUser({ name: 'Default Rule', phone: '+1 222 333 7203' });
    const solved = crm.seedTicket({ requester_id: user.id, subject: 'Solved', status: 'solved', createdAt: Date.now() - DAY });
    await start('zendesk', 'reopen-3', '+1 222 333 7203');
    const v = await settled('zendesk', 'reopen-3');
    expect(v.record).toBe('created');
    expect(v.record_id).not.toBe(solved.id);
    expect(crm.state.tickets.find((t) => t.id === solved.id)!.status).toBe('solved');
  });
});

describe('outbound call onto the open ticket', () => {
  test('the "set status to open" update succeeds on the bundled Zendesk connector', async () => {
    const user = crm.seedUser({ name: 'Call Back', phone: '+1 222 333 7301' });
    const pending = crm.seedTicket({ requester_id: user.id, subject: 'Waiting on us', status: 'pending' });
    await start('zendesk', 'out-1', '+1 222 333 7301', { direction: 'outbound', session_type: 'Outbound_Call' });
    const v = await settled('zendesk', 'out-1');
    expect(v).toMatchObject({ record_id: pending.id, record: 'reused' });
    expect(crm.state.tickets.find((t) => t.id === pending.id)!.status).toBe('open');
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    const puts = crm.requests.filter((r) => r.method === 'PUT' && r.path === `/api/v2/tickets/${pending.id}.json`);
    expect(puts.map((r) => r.status)).not.toContain(422);
  });
});

describe('skip_account_creation: the record of a temporary account', () => {
  test('is created (no 422): the temporary id is never sent to the CRM; the pop-up is shown', async () => {
    await start('zd-temp', 'temp-1', '+1 222 333 7401');
    const v = await settled('zd-temp', 'temp-1');
    expect(v.account).toBe('temporary_account');
    expect(v.record).toBe('created');
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    const ticket = crm.state.tickets.find((t) => t.id === v.record_id)!;
    expect(ticket).toBeDefined();
    expect(JSON.stringify(crm.requests.filter((r) => r.path.startsWith('/api/v2/')))).not.toContain('temp-temp-1');
    expect(v.links.popup).toBe(`${h.crm.url}/agent/users/new?phone=%2B1%20222%20333%207401`);
  });
});

describe('recordings through the bundled Zendesk connector', () => {
  test('are attached to the ticket: the upload token is put on the ticket comment', async () => {
    await start('zendesk', 'rec-1', '+1 222 333 7501');
    await post('zendesk', 'rec-1', {
      type: 'File_Available',
      data: { kind: 'call_recording', file_name: 'rec-1.mp3', content_type: 'audio/mpeg', content_base64: Buffer.from('ID3 rec-1').toString('base64') },
    });
    const v = await settled('zendesk', 'rec-1');
    const att = crm.state.attachments.find((a) => a.file_name === 'rec-1.mp3')!;
    expect(att).toBeDefined();
    const comment = crm.state.comments.find((c) => c.ticket_id === v.record_id && c.attachment_ids.includes(att.id));
    expect(comment?.body).toMatch(/^call_recording rec-1\.mp3: http/);
  });
});

describe('the session view', () => {
  test('lists a follow-up write that died (the comment that attaches an upload), with its error', async () => {
    await start('zendesk', 'view-1', '+1 222 333 7601');
    const before = await settled('zendesk', 'view-1');
    crm.injectFault({ method: 'PUT', path: `/api/v2/tickets/${before.record_id}.json`, status: 422, times: 1 });
    await post('zendesk', 'view-1', {
      type: 'File_Available',
      event_id: 'f1',
      data: { kind: 'call_recording', file_name: 'view-1.mp3', content_base64: Buffer.from('ID3').toString('base64') },
    });
    const v = await settled('zendesk', 'view-1');
    crm.clearFaults();
    const followUp = v.steps.find((s: { name: string }) => s.name === 'f1:upload:follow-up:add_comment');
    expect(followUp).toMatchObject({ operation: 'add_comment', status: 'dead', last_error: { crm_status: 422 } });
    expect((await h.get(`/v1/deliveries/${followUp.delivery_id}`)).body).toMatchObject({ id: followUp.delivery_id, status: 'dead' });
  });
});
