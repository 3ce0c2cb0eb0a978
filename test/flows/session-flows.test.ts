/**
 * Whole sessions against the Zendesk-like sample CRM, asserting the CRM's final state:
 * one account, one record (reused or new by the record-reuse rules), comments in order with
 * the default comment texts, the update, attachments with working links.
 */
import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const post = async (sessionId: string, body: unknown, raw = false) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: raw ? String(body) : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

async function settled(sessionId: string, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/zendesk/sessions/${sessionId}`)).body;
    const queue = await h.gw.store.counts();
    const done =
      v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status)) &&
      v.held.length === 0 &&
      queue.pending + queue.running === 0;
    if (done || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
}

const ticketComments = (ticketId: number) => h.crm.crm.state.comments.filter((c) => c.ticket_id === ticketId).map((c) => c.body);

describe('a whole call', () => {
  const S = 'call-1001';
  const caller = { name: 'Ada Caller', phone: '+1 (222) 333-7001', email: 'ada@example.com' };
  let view: any;

  beforeAll(async () => {
    const events = [
      {
        type: 'Session_Started',
        event_id: 'e1',
        data: {
          call_id: 1001,
          session_type: 'IVR_Call',
          channel: 'voice_call',
          queue_name: 'Billing',
          menu_path: 'Billing / Invoices',
          lang: 'en',
          end_user: caller,
        },
      },
      {
        type: 'New_Call',
        event_id: 'e2',
        data: {
          agent_id: 7,
          agent_custom_id: '007',
          agent_email: 'kim@example.com',
          queue_id: 8469,
          queue_path: 'Billing',
          call_id: 1001,
          session_type: 'IVR_Call',
        },
      },
      { type: 'Party_Added', event_id: 'e3', data: { call_id: 1001, agent_email: 'lee@example.com' } },
      { type: 'CSAT_Submitted', event_id: 'e4', data: { call_id: 1001, rating: 5, feedback: 'Quick & <kind>' } },
      { type: 'Disposition_Set', event_id: 'e5', data: { call_id: 1001, code: 'RESOLVED', notes: 'Refund issued' } },
      {
        type: 'End_Call',
        event_id: 'e6',
        data: { call_id: 1001, agent_email: 'lee@example.com', call_duration: 125, hold_time: 5, wait_time: 30, disconnected_by: 'end_user' },
      },
      {
        type: 'File_Available',
        event_id: 'e7',
        data: { kind: 'call_recording', name: 'call-1001.mp3', content_type: 'audio/mpeg', content_base64: Buffer.from('ID3 recording').toString('base64') },
      },
    ];
    for (const e of events) expect((await post(S, e)).status).toBe(202);
    // The metadata file arrives ~15 minutes later (here: later), after the session ended.
    expect(
      (
        await post(S, {
          type: 'File_Available',
          event_id: 'e8',
          data: {
            kind: 'session_metadata',
            name: 'call-1001.json',
            content_type: 'application/json',
            content_base64: Buffer.from('{"call_id":1001}').toString('base64'),
          },
        })
      ).status,
    ).toBe(202);
    view = await settled(S);
  });

  test('one account, one record, every step delivered', () => {
    expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    const users = h.crm.crm.state.users.filter((u) => u.email === caller.email);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ name: 'Ada Caller', phone: '+1 222 333 7001' });
    const tickets = h.crm.crm.state.tickets.filter((t) => t.requester_id === users[0].id);
    expect(tickets).toHaveLength(1);
    expect(view).toMatchObject({ account_id: users[0].id, record_id: tickets[0].id, account: 'created', record: 'created', ended: true });
  });

  test('comments in event order with the default comment texts, and the update', () => {
    const comments = ticketComments(view.record_id);
    expect(comments[0]).toMatch(/^Session call-1001 \(IVR_Call, voice_call\)\nCustomer: Ada Caller {2}Phone: \+1 222 333 7001/); // description
    expect(comments[1]).toBe('Call/chat id 1001 · language en · menu/queue Billing / Invoices');
    expect(comments[2]).toBe('Transferred to lee@example.com');
    expect(comments[3]).toBe('CSAT rating 5/5: Quick & <kind>');
    expect(comments[4]).toBe('Disposition RESOLVED: Refund issued');
    expect(comments[5]).toBe('Session ended (disconnected by end_user). Duration 02:05, hold 00:05, wait 00:30. Agent: lee@example.com.');
    // update_record on end (Zendesk: a ticket update with the full description as a comment)
    expect(comments[6]).toMatch(/^Session call-1001 .*\nAgent: lee@example.com$/s);
    expect(comments[7]).toMatch(/^call_recording call-1001\.mp3: http:\/\/127\.0\.0\.1:\d+\//);
    expect(comments[8]).toMatch(/^session_metadata call-1001\.json: http/);
    expect(comments).toHaveLength(9);
  });

  test('attachments arrived intact and their links work', async () => {
    const att = h.crm.crm.state.attachments.find((a) => a.file_name === 'call-1001.mp3')!;
    expect(att.size).toBe(Buffer.from('ID3 recording').length);
    const link = /: (http\S+)$/.exec(ticketComments(view.record_id)[7])![1];
    const res = await fetch(link, { headers: { Authorization: `Basic ${Buffer.from('agent@example.com/token:sample-token').toString('base64')}` } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('ID3 recording');
  });

  test('screen pop: record URL, the number-keyed lookup URL for a phone session, CRM_Record_Pop', () => {
    expect(view.links.record).toBe(`${h.crm.url}/agent/tickets/${view.record_id}`);
    expect(view.links.lookup).toBe(`${h.crm.url}/agent/search/1?type=user&q=%2B1%20222%20333%207001`);
    expect(view.record_pop).toEqual({ type: 'CRM_Record_Pop', data: { recordUrl: view.links.record } });
  });

  test('duplicate events write nothing new', async () => {
    const before = h.crm.crm.requests.length;
    const again = await post(S, { type: 'CSAT_Submitted', event_id: 'e4', data: { call_id: 1001, rating: 5, feedback: 'Quick & <kind>' } });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    // Without an event id, the content hash deduplicates.
    const noId = { type: 'Custom_Data', data: { call_id: 1001, data: { plan: 'gold' } } };
    expect((await post(S, noId)).status).toBe(202);
    expect((await post(S, noId)).body.duplicate).toBe(true);
    await settled(S);
    expect(ticketComments(view.record_id).filter((c) => c.startsWith('Custom data'))).toEqual(['Custom data:\nplan: gold']);
    expect(h.crm.crm.requests.length - before).toBe(1);
  });
});

describe('record reuse across sessions of the same customer', () => {
  const caller = { name: 'Bo Reuse', phone: '+1 222 333 7002' };
  const start = (id: string, extra: Record<string, unknown> = {}) =>
    post(id, {
      type: 'Session_Started',
      data: { session_type: 'IVR_Call', channel: 'voice_call', queue_name: 'Support', lang: 'en', end_user: caller, ...extra },
    });

  test('same queue and channel → the open record is reused; another queue → new; voicemail → new', async () => {
    await start('r-1');
    const first = await settled('r-1');
    await start('r-2');
    const second = await settled('r-2');
    expect(second.record).toBe('reused');
    expect(second.record_id).toBe(first.record_id);
    await start('r-3', { queue_name: 'Sales' });
    const third = await settled('r-3');
    expect(third.record).toBe('created');
    expect(third.record_id).not.toBe(first.record_id);
    await start('r-4', { session_type: 'Voicemail' });
    const vm = await settled('r-4');
    expect(vm.record_id).not.toBe(first.record_id);
    expect(vm.record_id).not.toBe(third.record_id);
    expect(h.crm.crm.state.users.filter((u) => u.name === 'Bo Reuse')).toHaveLength(1);
    // The "record created" comment is only written when the record was created.
    expect(ticketComments(first.record_id).filter((c) => c.startsWith('Call/chat id'))).toHaveLength(1);
    expect(second.steps.find((s: { name: string }) => s.name === 'record_created').status).toBe('delivered');
  });
});

describe('a whole chat', () => {
  test('New_Chat → agent → messages → End_Chat → transcript; the chat-keyed lookup uses the identity URL', async () => {
    const S = 'chat-2001';
    const events = [
      {
        type: 'New_Chat',
        data: {
          chat_id: 2001,
          session_type: 'Web',
          end_user: { name: 'Cy Chat', email: 'cy@example.com', cuid: 'cuid-9' },
          queue_path: 'Web / Help',
          lang: 'fr',
        },
      },
      { type: 'Agent_Joined_Chat', data: { chat_id: 2001, agent_email: 'kim@example.com', agent_custom_id: '007' } },
      { type: 'Chat_Inbound_Message', data: { chat_id: 2001, message: 'Bonjour' } },
      { type: 'End_Chat', data: { chat_id: 2001, agent_email: 'kim@example.com' } },
      {
        type: 'File_Available',
        data: { kind: 'chat_transcript', name: 'chat-2001.txt', content_type: 'text/plain', content_base64: Buffer.from('Bonjour\nSalut').toString('base64') },
      },
    ];
    for (const e of events) expect((await post(S, e)).status).toBe(202);
    const v = await settled(S);
    expect(v.steps.every((s: { status: string }) => s.status === 'delivered')).toBe(true);
    const ticket = h.crm.crm.state.tickets.find((t) => t.id === v.record_id)!;
    expect(ticket.tags).toContain('chat');
    expect(ticketComments(v.record_id)[1]).toBe('Call/chat id 2001 · language fr · menu/queue Web / Help');
    expect(ticketComments(v.record_id).at(-1)).toMatch(/^chat_transcript chat-2001\.txt: http/);
    expect(v.links.lookup).toBe(`${h.crm.url}/agent/search/1?type=user&q=cy%40example.com&external_id=cuid-9`);
  });
});

describe('quirks and edge cases', () => {
  test("the platform's Transfer_Chat example (missing commas) is accepted; bare redaction events need ?type=", async () => {
    const text = `{
  "type": "Transfer_Chat",
  "data": {
    "chat_id": 103646,
    "session_type": "Messaging Inbound (SMS)",
    "from_agent_email": "Ira@example.com",
    "to_agent_id" : 5
    "to_agent_custom_id": "100"
    "to_agent_email" : "ariel@example.com"
    "from_queue_path": "Developers / Ariel",
    "to_queue_path" : "Schemes / Auric"
  }
}`;
    expect((await post('quirk-1', text, true)).status).toBe(202);
    const bare = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/quirk-1/events?type=Call_Redaction_Started`, {
      method: 'POST',
      body: '{"agent_id": 2896, "call_id": 97939}',
    });
    expect(bare.status).toBe(202);
    const noType = await post('quirk-1', { agent_id: 1, call_id: 2 });
    expect(noType.status).toBe(422);
    expect((await post('quirk-1', { type: 'Made_Up', data: {} })).status).toBe(422);
    expect((await post('quirk-1', '{"type": ', true)).status).toBe(400);
  });

  test('abandoned in the IVR (no agent): the record is still created, with DEFAULT_VALUE fallbacks', async () => {
    const S = 'abandoned-1';
    await post(S, {
      type: 'Session_Started',
      data: { call_id: 3001, session_type: 'IVR_Call', channel: 'voice_call', end_user: { phone: '+1 222 333 7003' } },
    });
    await post(S, { type: 'End_Call', data: { call_id: 3001, abandoned: true, disconnected_by: 'end_user' } });
    const v = await settled(S);
    expect(v.record).toBe('created');
    const ticket = h.crm.crm.state.tickets.find((t) => t.id === v.record_id)!;
    expect(ticket.subject).toBe('voice_call from +1 222 333 7003');
    const user = h.crm.crm.state.users.find((u) => u.id === v.account_id)!;
    expect(user.name).toBe('Caller +1 222 333 7003'); // =DEFAULT_VALUE({NAME}, Caller {PHONE_NUMBER})
    expect(ticketComments(v.record_id)[0]).toContain('Agent: not yet assigned');
  });

  test('out of order: End before Start still ends with one account and one record', async () => {
    const S = 'ooo-1';
    await post(S, { type: 'End_Call', data: { call_id: 4001 } });
    await post(S, {
      type: 'Session_Started',
      data: { call_id: 4001, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Out Oforder', phone: '+1 222 333 7004' } },
    });
    const v = await settled(S);
    expect(v.steps.every((s: { status: string }) => s.status === 'delivered')).toBe(true);
    expect(h.crm.crm.state.tickets.filter((t) => t.id === v.record_id)).toHaveLength(1);
  });

  test('unknown session → 404; bad session id → 422', async () => {
    expect((await h.get('/v1/connectors/zendesk/sessions/nope')).status).toBe(404);
    expect((await post('bad id!', { type: 'New_Call', data: {} })).status).toBe(422);
  });
});
