/**
 * Every operation of the bundled config/hubspot.yaml, end to end over loopback HTTP:
 * platform → gateway → HubSpot-like sample CRM, asserting on what the CRM now holds. Also the
 * same connector with a wrong token, and with OAuth 2 (authorize → callback → refresh).
 */
import type { SampleCrm } from '../../src/sample-crm';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const hubspot = bundled('hubspot.yaml');
const TOKEN = 'pat-na1-sample-private-app-token';

const wrongToken = hubspot.replace(/^id: hubspot$/m, 'id: hubspot-wrong').replace('${env:HUBSPOT_TOKEN:-', '${env:HUBSPOT_WRONG_TOKEN:-');
const oauth = hubspot
  .replace(/^id: hubspot$/m, 'id: hubspot-oauth')
  .replace(
    /^auth:\n( {2}.*\n)+/m,
    [
      'auth:',
      '  type: oauth2',
      '  grant: authorization_code',
      '  authorization_url: {{CRM}}/oauth/authorize',
      '  token_url: {{CRM}}/oauth/v1/token',
      '  client_id: hubspot-sample-client',
      '  client_secret: ${env:HUBSPOT_CLIENT_SECRET}',
      '  scope: crm.objects.contacts.read crm.objects.contacts.write tickets files',
      '',
    ].join('\n'),
  );

let h: Harness;
let crm: SampleCrm<'hubspot'>;
beforeAll(async () => {
  h = await startHarness({
    connectors: { 'hubspot.yaml': hubspot, 'hubspot-wrong.yaml': wrongToken, 'hubspot-oauth.yaml': oauth },
    crm: { flavor: 'hubspot' },
    env: { HUBSPOT_URL: '{{CRM}}', HUBSPOT_WRONG_TOKEN: 'pat-na1-not-the-token', HUBSPOT_CLIENT_SECRET: 'hubspot-sample-secret' },
  });
  crm = h.crm.crm as unknown as SampleCrm<'hubspot'>;
});
afterAll(async () => {
  await h.close();
});

const op = (operation: string, variables: Record<string, unknown> = {}, connector = 'hubspot') => h.op(operation, variables, { connector });
const lastBody = () => crm.requests.at(-1)!.body as any;
const NOW = '2024-05-01T10:30:00.000Z';
const CALLER = { NAME: 'Kim Lee', PHONE_NUMBER: '(222) 333-4444', EMAIL: 'kim@example.com' };

test('the connector loads without errors or warnings', async () => {
  const r = await h.get('/v1/connectors/hubspot');
  expect(r.body).toMatchObject({ status: 'valid', errors: [], warnings: [] });
});

describe('account → record → update/comment/upload against the HubSpot-like CRM', () => {
  let accountId: string;
  let recordId: string;

  test('find_account: no match yet → not_found; a POST search with the E.164 phone', async () => {
    const r = await op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'not_found', ids: {} });
    const sent = crm.requests.at(-1)!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/crm/v3/objects/contacts/search');
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent.body).toEqual({
      filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '+12223334444' }] }],
      sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }],
      properties: ['firstname', 'lastname', 'email', 'phone', 'createdate'],
      limit: 10,
    });
  });

  test('create_account: {"properties": …} with the phone in E.164; the string id is extracted', async () => {
    const r = await op('create_account', CALLER);
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    accountId = r.body.ids.ACCOUNT_ID;
    expect(accountId).toMatch(/^\d+$/);
    expect(lastBody()).toEqual({ properties: { firstname: 'Kim', lastname: 'Lee', email: 'kim@example.com', phone: '+12223334444' } });
    const contact = crm.state.contacts.find((c) => c.id === accountId)!;
    expect(contact.properties).toMatchObject({ firstname: 'Kim', lastname: 'Lee', email: 'kim@example.com', phone: '+12223334444' });
  });

  test('create_account: without a name, DEFAULT_VALUE names the caller after the phone', async () => {
    const r = await op('create_account', { PHONE_NUMBER: '+44 20 7946 0958' });
    expect(r.body.outcome).toBe('ok');
    expect(lastBody()).toEqual({ properties: { firstname: 'Caller +442079460958', lastname: '--', phone: '+442079460958' } });
  });

  test('create_account: HubSpot refuses a second contact with the same email (409, final)', async () => {
    const r = await op('create_account', { NAME: 'Kim Again', EMAIL: 'KIM@example.com' });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 409, classification: 'fail' });
    expect(r.body.crm_body).toContain(`Contact already exists. Existing ID: ${accountId}`);
  });

  test('find_account: finds the caller by phone written another way', async () => {
    const r = await op('find_account', { PHONE_NUMBER: '+1.222.333.4444' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 1 });
  });

  test('find_account: several matches → the most recently created', async () => {
    const older = crm.seedContact({ properties: { firstname: 'Old', lastname: 'Kim', phone: '+12223334444' }, createdAt: Date.parse('2020-01-01T00:00:00Z') });
    const r = await op('find_account', { PHONE_NUMBER: '2223334444' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 2 });
    expect(older.id).not.toBe(accountId);
  });

  test('find_account: without a phone the e-mail search runs', async () => {
    const r = await op('find_account', { EMAIL: 'kim@example.com' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId } });
    expect(lastBody().filterGroups).toEqual([{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'kim@example.com' }] }]);
  });

  test('find_account: a returning customer with a new phone is found by e-mail', async () => {
    const r = await op('find_account', { PHONE_NUMBER: '+1 777 888 9999', EMAIL: 'kim@example.com' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matched_by: 'email' });
  });

  test('find_account_by_id: GET by id', async () => {
    const r = await op('find_account_by_id', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, data: { properties: { phone: '+12223334444', email: 'kim@example.com' } } });
    expect(r.body.fallback).toBeUndefined();
    expect(crm.requests.at(-1)!.query).toEqual({ properties: 'firstname,lastname,email,phone' });
  });

  test("find_account_by_id: HubSpot's 404 falls back to find_account", async () => {
    const r = await op('find_account_by_id', { ACCOUNT_ID: '999999', PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.body).toMatchObject({ outcome: 'ok', fallback: 'find_account', ids: { ACCOUNT_ID: accountId } });
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([404, 200]);
  });

  test('create_record: a ticket in the pipeline, linked to the contact; CONCAT_AND content', async () => {
    const r = await op('create_record', {
      ACCOUNT_ID: accountId,
      PHONE_NUMBER: CALLER.PHONE_NUMBER,
      TICKET_DESCRIPTION: 'Printer jammed',
      SESSION_ID: 'call-1',
      SESSION_TYPE: 'IVR_Call',
      QUEUE_NAME: 'Billing',
    });
    expect(r.body.outcome).toBe('ok');
    recordId = r.body.ids.RECORD_ID;
    const ticket = crm.state.tickets.find((t) => t.id === recordId)!;
    expect(ticket.properties).toMatchObject({
      subject: 'Call from +12223334444',
      content: 'Printer jammed and Session call-1 (IVR_Call) and queue Billing',
      hs_pipeline: '0',
      hs_pipeline_stage: '1',
    });
    expect(crm.associatedIds('tickets', recordId, 'contacts')).toEqual([accountId]);
    expect(lastBody().associations).toEqual([{ to: { id: accountId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 16 }] }]);
  });

  test('create_record: without ACCOUNT_ID the gateway refuses at once', async () => {
    const r = await op('create_record', { TICKET_SUBJECT: 'orphan' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'missing_variable', variables: ['ACCOUNT_ID'] });
  });

  test('find_record: the open ticket of the contact; a contact with only closed tickets has none', async () => {
    const r = await op('find_record', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { RECORD_ID: recordId } });
    expect(lastBody().filterGroups).toEqual([
      {
        filters: [
          { propertyName: 'associations.contact', operator: 'EQ', value: accountId },
          { propertyName: 'hs_pipeline_stage', operator: 'NEQ', value: '4' },
        ],
      },
    ]);
    const other = crm.seedContact({ properties: { firstname: 'Closed' } }).id;
    crm.seedTicket({ contactId: other, properties: { hs_pipeline_stage: '4' } });
    expect((await op('find_record', { ACCOUNT_ID: other })).body).toMatchObject({ outcome: 'not_found' });
  });

  test('update_record: PATCH the subject and content', async () => {
    const r = await op('update_record', { RECORD_ID: recordId, TICKET_SUBJECT: 'Billing question', TICKET_DESCRIPTION: 'Invoice 7' });
    expect(r.body.outcome).toBe('ok');
    expect(crm.requests.at(-1)!.method).toBe('PATCH');
    expect(crm.state.tickets.find((t) => t.id === recordId)!.properties).toMatchObject({ subject: 'Billing question', content: 'Invoice 7' });
  });

  test('add_comment: a note on the ticket (type 228) with its timestamp', async () => {
    const r = await op('add_comment', { RECORD_ID: recordId, COMMENT_BODY: 'Rating 5/5 — thanks!', NOW_MS: Date.parse(NOW) });
    expect(r.body.outcome).toBe('ok');
    const noteId = r.body.ids.COMMENT_ID;
    const note = crm.state.notes.find((n) => n.id === noteId)!;
    expect(note.properties).toMatchObject({ hs_note_body: 'Rating 5/5 — thanks!', hs_timestamp: '2024-05-01T10:30:00.000Z' });
    expect(note.properties.hs_attachment_ids).toBeUndefined();
    expect(crm.associatedIds('notes', noteId, 'tickets')).toEqual([recordId]);
  });

  test('add_comment: without a given time, the note carries the time of the request ({NOW_MS})', async () => {
    const before = Date.now();
    const r = await op('add_comment', { RECORD_ID: recordId, COMMENT_BODY: 'x' });
    expect(r.body.outcome).toBe('ok');
    const note = crm.state.notes.find((n) => n.id === r.body.ids.COMMENT_ID)!;
    expect(Date.parse(String(note.properties.hs_timestamp))).toBeGreaterThanOrEqual(before - 1000);
  });

  test('upload_file: multipart to the file manager, attachment by id + builder URL, then a note carrying the file', async () => {
    const bytes = Buffer.concat([Buffer.from('ID3 fake mp3 '), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'audio/mpeg' }), 'call-1.mp3');
    form.append('variables', JSON.stringify({ RECORD_ID: recordId, FILE_KIND: 'call_recording', NOW_MS: Date.parse(NOW) }));
    const res = await fetch(`${h.gw.url}/v1/connectors/hubspot/operations/upload_file`, { method: 'POST', body: form });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.outcome).toBe('ok');

    const file = crm.state.files.at(-1)!;
    expect(file).toMatchObject({
      name: 'call-1',
      extension: 'mp3',
      path: `/crm-gateway/tickets/${recordId}/call-1.mp3`,
      access: 'PRIVATE',
      type: 'AUDIO',
      size: bytes.length,
    });
    expect(file.content.equals(bytes)).toBe(true);
    expect(body.ids).toEqual({ ATTACHMENT_ID: file.id, ATTACHMENT_URL: `https://app.hubspot.com/files/24681357/?showDetails=${file.id}` });
    const upload = crm.requests.find((r) => r.path === '/files/v3/files')!;
    expect(upload.body).toMatchObject({
      fields: { folderPath: `/crm-gateway/tickets/${recordId}`, options: '{"access":"PRIVATE","overwrite":false,"duplicateValidationStrategy":"NONE"}' },
      file: { name: 'call-1.mp3', size: bytes.length },
    });

    // The follow-up comment is a note on the ticket with the file attached.
    expect(body.follow_up).toMatchObject({ operation: 'add_comment', outcome: 'ok' });
    const note = crm.state.notes.find((n) => n.id === body.follow_up.ids.COMMENT_ID)!;
    expect(note.properties).toMatchObject({ hs_note_body: `call_recording call-1.mp3: ${body.ids.ATTACHMENT_URL}`, hs_attachment_ids: file.id });
    expect(crm.associatedIds('notes', note.id, 'tickets')).toEqual([recordId]);
  });

  test('upload_file: base64 FILE_DATA also arrives byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 10, 13]);
    const r = await op('upload_file', {
      RECORD_ID: recordId,
      FILE_DATA: bytes.toString('base64'),
      FILE_NAME: 'chat.txt',
      FILE_TYPE: 'text/plain',
      FILE_KIND: 'chat_transcript',
      NOW_MS: Date.parse(NOW),
    });
    expect(r.body.outcome).toBe('ok');
    const file = crm.state.files.find((f) => f.id === r.body.ids.ATTACHMENT_ID)!;
    expect(file.path).toBe(`/crm-gateway/tickets/${recordId}/chat.txt`);
    expect(file.content.equals(bytes)).toBe(true);
  });

  test('links: screen pops into the HubSpot app', async () => {
    const r = await h.get(`/v1/connectors/hubspot/links?ACCOUNT_ID=${accountId}&RECORD_ID=${recordId}&EMAIL=kim%40example.com`);
    expect(r.body.links).toMatchObject({
      account: `https://app.hubspot.com/contacts/24681357/record/0-1/${accountId}`,
      record: `https://app.hubspot.com/contacts/24681357/record/0-5/${recordId}`,
      custom_by_identity: 'https://app.hubspot.com/contacts/24681357/objects/0-1/views/all/list?query=kim%40example.com',
    });
  });

  test('dry run: the exact search request, token masked', async () => {
    const r = await h.op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER }, { connector: 'hubspot', query: '?dry_run=true' });
    expect(r.body.outcome).toBe('dry_run');
    expect(r.body.requests[0]).toMatchObject({ method: 'POST', url: `${h.crm.url}/crm/v3/objects/contacts/search` });
    expect(JSON.stringify(r.body)).not.toContain(TOKEN);
  });
});

describe('HubSpot failures through the gateway', () => {
  test('429 with Retry-After → 503 crm_retry_later with Retry-After (resilient profile)', async () => {
    crm.throttle(1, { retryAfterSec: 30 });
    const r = await op('create_account', { NAME: 'Throttled', EMAIL: 'throttled@example.com' });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'crm_retry_later', crm_status: 429, classification: 'retry', from_retry_after: true });
    expect(r.headers.get('retry-after')).toBe('30');
    expect(crm.state.contacts.some((c) => c.properties.email === 'throttled@example.com')).toBe(false);
  });

  test('a wrong private app token → 401 INVALID_AUTHENTICATION, reported without the token', async () => {
    const r = await op('find_account', { EMAIL: 'kim@example.com' }, 'hubspot-wrong');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 401 });
    expect(r.body.crm_body).toContain('INVALID_AUTHENTICATION');
    expect(JSON.stringify(r.body)).not.toContain('pat-na1-not-the-token');
  });
});

describe('the same connector with OAuth 2 (authorization code)', () => {
  test('before authorization the gateway says where to authorize', async () => {
    const r = await op('find_account', { EMAIL: 'kim@example.com' }, 'hubspot-oauth');
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'oauth_not_authorized', authorize_path: '/v1/connectors/hubspot-oauth/oauth/authorize' });
  });

  test('authorize → HubSpot consent → callback; then calls carry the access token; an expired one is refreshed', async () => {
    const start = await fetch(`${h.gw.url}/v1/connectors/hubspot-oauth/oauth/authorize`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${h.crm.url}/oauth/authorize`);
    expect(authorizeUrl.searchParams.get('client_id')).toBe('hubspot-sample-client');
    const consent = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const done = await fetch(consent.headers.get('location')!);
    expect(await done.json()).toEqual({ connector: 'hubspot-oauth', authorized: true });
    expect(crm.requests.filter((r) => r.path === '/oauth/v1/token').at(-1)!.body).toMatchObject({
      grant_type: 'authorization_code',
      client_id: 'hubspot-sample-client',
    });

    const r = await op('find_account', { EMAIL: 'kim@example.com' }, 'hubspot-oauth');
    expect(r.body.outcome).toBe('ok');
    expect(crm.requests.at(-1)!.auth).toMatchObject({ method: 'bearer' });

    const refreshes = crm.state.tokens.issued.refresh_token;
    crm.expireAllTokens();
    const again = await op('create_record', { ACCOUNT_ID: r.body.ids.ACCOUNT_ID, TICKET_SUBJECT: 'via OAuth' }, 'hubspot-oauth');
    expect(again.body.outcome).toBe('ok');
    expect(again.body.attempts.map((a: { status: number }) => a.status)).toEqual([401, 201]);
    expect(crm.state.tokens.issued.refresh_token).toBe(refreshes + 1);
  });
});

test('a search filter the CRM ignores does not return a stranger (find guard)', async () => {
  for (let i = 0; i < 3; i++)
    crm.seedContact({ properties: { firstname: `Stranger${i}`, phone: `+1 555 020 00${10 + i}`, email: `stranger${i}@example.com` } });
  const caller = crm.seedContact({ properties: { firstname: 'Guarded', phone: '+1 222 444 6666', email: 'guarded@example.com' } });
  const fault = crm.injectFault({ method: 'POST', path: '/crm/v3/objects/contacts/search', ignoreFilter: true, always: true });
  try {
    const found = await op('find_account', { PHONE_NUMBER: '(222) 444-6666' });
    expect(found.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: caller.id }, matches: 1 });
    expect(found.body.dropped_matches).toBeGreaterThanOrEqual(3);
    expect((await op('find_account', { PHONE_NUMBER: '(222) 444-7777' })).body).toMatchObject({ outcome: 'not_found' });
  } finally {
    crm.removeFault(fault.id);
  }
});
