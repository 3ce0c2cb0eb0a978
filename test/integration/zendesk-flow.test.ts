/**
 * Every operation of the bundled config/zendesk.yaml, end to end over loopback HTTP:
 * platform → gateway → Zendesk-like sample CRM, asserting on what the CRM now holds.
 */
import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const CALLER = { NAME: 'Kim Lee', PHONE_NUMBER: '(222) 333-4444', EMAIL: 'kim@example.com', SDK_IDENTIFIER: 'sdk-42' };

describe('account → record → comment/update/upload against the Zendesk-like CRM', () => {
  let accountId: number;
  let recordId: number;

  test('find_account: no match yet → not_found (200 with no match)', async () => {
    const r = await h.op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'not_found', ids: {} });
    // The search variant of the "automatic" format went to the CRM.
    const sent = h.crm.crm.requests.at(-1)!;
    expect(sent.query).toMatchObject({ query: 'type:user phone:*222*333*4444' });
  });

  test('create_account: container_map body, phone in create format, id extracted', async () => {
    const r = await h.op('create_account', CALLER);
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    accountId = r.body.ids.ACCOUNT_ID;
    expect(typeof accountId).toBe('number');
    const user = h.crm.crm.state.users.find((u) => u.id === accountId)!;
    expect(user).toMatchObject({ name: 'Kim Lee', email: 'kim@example.com', phone: '+1 222 333 4444', external_id: 'sdk-42' });
    expect(h.crm.crm.requests.at(-1)!.body).toEqual({ user: { name: 'Kim Lee', email: 'kim@example.com', phone: '+1 222 333 4444', external_id: 'sdk-42' } });
  });

  test('find_account: finds it by phone in another input format', async () => {
    const r = await h.op('find_account', { PHONE_NUMBER: '+1.222.333.4444' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 1 });
  });

  test('find_account: several matches → the most recently created', async () => {
    const older = h.crm.crm.seedUser({ name: 'Old Kim', phone: '+12223334444', createdAt: Date.parse('2020-01-01T00:00:00Z') });
    const r = await h.op('find_account', { PHONE_NUMBER: '2223334444' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 2 });
    expect(older.id).not.toBe(accountId);
  });

  test('find_account: falls back to email when no phone is given (DEFAULT_VALUE)', async () => {
    const r = await h.op('find_account', { EMAIL: 'kim@example.com' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId } });
    expect(h.crm.crm.requests.at(-1)!.query).toMatchObject({ query: 'type:user email:kim@example.com' });
  });

  test('find_account_by_id: known id', async () => {
    const r = await h.op('find_account_by_id', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId } });
    expect(r.body.fallback).toBeUndefined();
  });

  test('find_account_by_id: 404 falls back to find by query', async () => {
    const r = await h.op('find_account_by_id', { ACCOUNT_ID: 999999, PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.body).toMatchObject({ outcome: 'ok', fallback: 'find_account', ids: { ACCOUNT_ID: accountId } });
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([404, 200]);
  });

  test('create_record: ticket linked to the account, handlebars description', async () => {
    const r = await h.op('create_record', {
      ACCOUNT_ID: accountId,
      PHONE_NUMBER: CALLER.PHONE_NUMBER,
      CHANNEL: 'voice_call',
      SESSION_ID: 'call-1',
      SESSION_TYPE: 'IVR_Call',
      QUEUE_NAME: 'Billing',
    });
    expect(r.body.outcome).toBe('ok');
    recordId = r.body.ids.RECORD_ID;
    const ticket = h.crm.crm.state.tickets.find((t) => t.id === recordId)!;
    expect(ticket).toMatchObject({ subject: 'Call from +1 222 333 4444', requester_id: accountId, tags: ['crm-gateway', 'voice_call'] });
    expect(ticket.description).toContain('Session: call-1 (IVR_Call)');
    expect(ticket.description).toContain('Queue: Billing');
  });

  test('find_record: the open ticket of the account', async () => {
    const r = await h.op('find_record', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { RECORD_ID: recordId } });
  });

  test('update_record: subject and description', async () => {
    const r = await h.op('update_record', { RECORD_ID: recordId, TICKET_SUBJECT: 'Billing question', TICKET_DESCRIPTION: 'Caller asked about invoice 7' });
    expect(r.body.outcome).toBe('ok');
    expect(h.crm.crm.state.tickets.find((t) => t.id === recordId)!.subject).toBe('Billing question');
  });

  test('add_comment: internal comment on the ticket', async () => {
    const r = await h.op('add_comment', { RECORD_ID: recordId, COMMENT_BODY: 'Rating 5/5 — thanks!' });
    expect(r.body.outcome).toBe('ok');
    const comments = h.crm.crm.state.comments.filter((c) => c.ticket_id === recordId);
    expect(comments.map((c) => c.body)).toContain('Rating 5/5 — thanks!');
    expect(comments.find((c) => c.body === 'Rating 5/5 — thanks!')!.public).toBe(false);
  });

  test('upload_file: multipart upload, attachment by URL, then a comment with the link', async () => {
    const bytes = Buffer.from('ID3 fake mp3 bytes \u0000\u0001\u0002', 'binary');
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'audio/mpeg' }), 'call-1.mp3');
    form.append('variables', JSON.stringify({ RECORD_ID: recordId, FILE_KIND: 'call_recording' }));
    const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/operations/upload_file`, { method: 'POST', body: form });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.outcome).toBe('ok');
    expect(body.ids.ATTACHMENT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const upload = h.crm.crm.state.uploads.at(-1)!;
    expect(upload).toBeDefined();
    const attachment = h.crm.crm.state.attachments.at(-1)!;
    expect(attachment.file_name).toBe('call-1.mp3');
    expect(attachment.size).toBe(bytes.length);
    // The follow-up comment carries the link.
    expect(body.follow_up).toMatchObject({ operation: 'add_comment', outcome: 'ok' });
    const last = h.crm.crm.state.comments.filter((c) => c.ticket_id === recordId).at(-1)!;
    expect(last.body).toBe(`call_recording call-1.mp3: ${body.ids.ATTACHMENT_URL}`);
  });

  test('upload_file: a file kind the connector does not accept → 422', async () => {
    const r = await h.op('upload_file', { RECORD_ID: recordId, FILE_KIND: 'selfie', FILE_DATA: 'aGk=' });
    expect(r.status).toBe(422);
    expect(r.body.errors[0].field).toBe('variables.FILE_KIND');
  });

  test('links: screen-pop URLs rendered on demand; empty query parameters are left out', async () => {
    const r = await h.get(`/v1/connectors/zendesk/links?ACCOUNT_ID=${accountId}&RECORD_ID=${recordId}&EMAIL=kim%40example.com`);
    expect(r.status).toBe(200);
    expect(r.body.links).toEqual({
      account: `${h.crm.url}/agent/users/${accountId}`,
      record: `${h.crm.url}/agent/tickets/${recordId}`,
      custom_by_phone: `${h.crm.url}/agent/search/1?type=user`,
      custom_by_identity: `${h.crm.url}/agent/search/1?type=user&q=kim%40example.com`,
    });
  });
});
