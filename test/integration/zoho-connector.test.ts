/**
 * Every operation of the bundled config/zoho.yaml, end to end over loopback HTTP:
 * platform → gateway → Zoho CRM-like sample CRM, asserting on what the CRM now holds.
 * The connector uses OAuth 2 authorization code, so the authorize → consent → callback flow
 * runs first; later tests expire the token and check that Zoho's non-rotating refresh token
 * keeps working through several refreshes.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';
import type { RunningSampleCrm } from '../../src/sample-crm';

let h: Harness;
let zoho: RunningSampleCrm<'zoho'>;
beforeAll(async () => {
  h = await startHarness({
    connectors: { 'zoho.yaml': bundled('zoho.yaml') },
    crm: { flavor: 'zoho' },
    env: { ZOHO_URL: '{{CRM}}', ZOHO_ACCOUNTS_URL: '{{CRM}}' },
  });
  zoho = h.crm as unknown as RunningSampleCrm<'zoho'>;
});
afterAll(async () => {
  await h.close();
});

const op = (operation: string, variables: Record<string, unknown> = {}) => h.op(operation, variables, { connector: 'zoho' });
const lastApiRequest = () => zoho.crm.requests.filter((r) => r.path.startsWith('/crm/')).at(-1)!;
const CALLER = { NAME: 'Kim Lee', PHONE_NUMBER: '(222) 333-4444', EMAIL: 'kim@example.com' };

test('before authorization, operations say how to authorize', async () => {
  const r = await op('find_account', { EMAIL: 'kim@example.com' });
  expect(r.status).toBe(409);
  expect(r.body).toMatchObject({ code: 'oauth_not_authorized', authorize_path: '/v1/connectors/zoho/oauth/authorize' });
});

test('authorize → Zoho consent → callback: offline access yields a refresh token', async () => {
  const start = await fetch(`${h.gw.url}/v1/connectors/zoho/oauth/authorize`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorizeUrl = new URL(start.headers.get('location')!);
  expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${zoho.url}/oauth/v2/auth`);
  expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({
    response_type: 'code',
    scope: 'ZohoCRM.modules.ALL',
    access_type: 'offline',
    redirect_uri: `${h.gw.url}/v1/oauth/callback`,
    state: expect.stringMatching(/^crm-gateway-zoho:/),
  });
  const consent = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const done = await fetch(consent.headers.get('location')!);
  expect(done.status).toBe(200);
  expect(await done.json()).toEqual({ connector: 'zoho', authorized: true });
  expect(zoho.crm.state.tokens.issued.authorization_code).toBe(1);
  expect(Object.keys(zoho.crm.state.tokens.refreshTokens)).toHaveLength(1);
});

describe('contact → case → note/update/upload against the Zoho-like CRM', () => {
  let accountId: string;
  let recordId: string;

  test('find_account: no match → Zoho answers 204, the gateway says not_found', async () => {
    const r = await op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER, EMAIL: CALLER.EMAIL });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'not_found', ids: {} });
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([204]);
    const sent = lastApiRequest();
    expect(sent.path).toBe('/crm/v2/Contacts/search');
    // =CONCAT_OR with the phone in the international format (the search variant is the same).
    expect(sent.query).toEqual({
      criteria: '(Phone:equals:+1 222 333 4444) or (Mobile:equals:+1 222 333 4444) or (Email:equals:kim@example.com)',
    });
    expect(sent.auth).toEqual({ method: 'bearer', subject: 'sample-client' });
  });

  test('create_account: {"data":[…]} body, phone in the international format, id from data[0].details', async () => {
    const r = await op('create_account', CALLER);
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    accountId = r.body.ids.ACCOUNT_ID;
    expect(accountId).toMatch(/^\d{19}$/);
    expect(lastApiRequest().body).toEqual({ data: [{ First_Name: 'Kim', Last_Name: 'Lee', Email: 'kim@example.com', Phone: '+1 222 333 4444' }] });
    expect(zoho.crm.state.contacts.find((c) => c.id === accountId)).toMatchObject({
      First_Name: 'Kim',
      Last_Name: 'Lee',
      Full_Name: 'Kim Lee',
      Email: 'kim@example.com',
      Phone: '+1 222 333 4444',
    });
  });

  test('create_account: no name → Last_Name "--" (Zoho requires it)', async () => {
    const r = await op('create_account', { PHONE_NUMBER: '+44 20 7946 0958' });
    expect(r.body.outcome).toBe('ok');
    expect(zoho.crm.state.contacts.find((c) => c.id === r.body.ids.ACCOUNT_ID)).toMatchObject({ Last_Name: '--', First_Name: null, Phone: '+44 20 7946 0958' });
  });

  test('find_account: by phone in another input format, by email alone, by mobile', async () => {
    const byPhone = await op('find_account', { PHONE_NUMBER: '+1.222.333.4444' });
    expect(byPhone.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 1 });
    const byEmail = await op('find_account', { EMAIL: 'KIM@example.com' });
    expect(byEmail.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId } });
    expect(lastApiRequest().query).toEqual({ criteria: '(Email:equals:KIM@example.com)' });
    const mobile = zoho.crm.seedContact({ Last_Name: 'Mobile', Mobile: '+1 415 555 0100' });
    const byMobile = await op('find_account', { PHONE_NUMBER: '4155550100' });
    expect(byMobile.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: mobile.id } });
  });

  test('find_account: several matches → the most recently created', async () => {
    const older = zoho.crm.seedContact({ Last_Name: 'Old Kim', Phone: '+1 222 333 4444' }, { createdAt: Date.parse('2020-01-01T00:00:00Z') });
    const r = await op('find_account', { PHONE_NUMBER: '2223334444' });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 2 });
    expect(older.id).not.toBe(accountId);
  });

  test('find_account_by_id: known id', async () => {
    const r = await op('find_account_by_id', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, data: { Full_Name: 'Kim Lee' } });
    expect(r.body.fallback).toBeUndefined();
  });

  test('find_account_by_id: Zoho’s 204 for an unknown id falls back to find_account', async () => {
    const r = await op('find_account_by_id', { ACCOUNT_ID: '5725767000000499999', EMAIL: CALLER.EMAIL });
    expect(r.body).toMatchObject({ outcome: 'ok', fallback: 'find_account', ids: { ACCOUNT_ID: accountId } });
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([204, 200]);
  });

  test('create_record: a case linked to the contact, mandatory fields, handlebars description', async () => {
    const r = await op('create_record', {
      ACCOUNT_ID: accountId,
      PHONE_NUMBER: CALLER.PHONE_NUMBER,
      EMAIL: CALLER.EMAIL,
      SESSION_ID: 'call-1',
      SESSION_TYPE: 'IVR_Call',
      QUEUE_NAME: 'Billing',
    });
    expect(r.body.outcome).toBe('ok');
    recordId = r.body.ids.RECORD_ID;
    expect(recordId).toMatch(/^\d{19}$/);
    const kase = zoho.crm.state.cases.find((c) => c.id === recordId)!;
    expect(kase).toMatchObject({
      Subject: 'Call from +1 222 333 4444',
      Status: 'New',
      Case_Origin: 'Phone',
      Contact_Name: { id: accountId, name: 'Kim Lee' },
      Phone: '+1 222 333 4444',
      Email: 'kim@example.com',
    });
    expect(kase.Description).toContain('Session: call-1 (IVR_Call)');
    expect(kase.Description).toContain('Queue: Billing');
  });

  test('create_record: without subject or phone the nested DEFAULT_VALUE still fills the mandatory Subject', async () => {
    const r = await op('create_record', { ACCOUNT_ID: accountId });
    expect(r.body.outcome).toBe('ok');
    expect(zoho.crm.state.cases.find((c) => c.id === r.body.ids.RECORD_ID)!.Subject).toBe('Contact-center session');
    zoho.crm.state.cases.find((c) => c.id === r.body.ids.RECORD_ID)!.Status = 'Closed';
  });

  test('find_record: the open case of the contact (=CONCAT_AND criteria on the lookup and the status)', async () => {
    const r = await op('find_record', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { RECORD_ID: recordId }, matches: 1 });
    expect(lastApiRequest().query).toEqual({ criteria: `(Contact_Name:equals:${accountId}) and (Status:not_equal:Closed)` });
  });

  test('find_record: a contact without open cases → not_found; no ACCOUNT_ID → 422', async () => {
    const other = zoho.crm.seedContact({ Last_Name: 'Nobody' });
    zoho.crm.seedCase({ Contact_Name: { id: other.id }, Status: 'Closed' });
    expect((await op('find_record', { ACCOUNT_ID: other.id })).body).toMatchObject({ outcome: 'not_found' });
    const missing = await op('find_record', {});
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('missing_variable');
  });

  test('update_record: subject and description', async () => {
    const r = await op('update_record', { RECORD_ID: recordId, TICKET_SUBJECT: 'Billing question', TICKET_DESCRIPTION: 'Caller asked about invoice 7' });
    expect(r.body).toMatchObject({ outcome: 'ok', data: { id: recordId } });
    expect(lastApiRequest()).toMatchObject({
      method: 'PUT',
      path: `/crm/v2/Cases/${recordId}`,
      body: { data: [{ Subject: 'Billing question', Description: 'Caller asked about invoice 7' }] },
    });
    expect(zoho.crm.state.cases.find((c) => c.id === recordId)).toMatchObject({
      Subject: 'Billing question',
      Description: 'Caller asked about invoice 7',
      Status: 'New',
    });
  });

  test('update_record: an unknown case is Zoho’s 400 INVALID_DATA, final under this connector’s retry policy', async () => {
    const r = await op('update_record', { RECORD_ID: '5725767000000599999', TICKET_SUBJECT: 'x' });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 400, classification: 'fail' });
    expect(JSON.parse(r.body.crm_body)).toEqual({
      data: [{ code: 'INVALID_DATA', details: { id: '5725767000000599999' }, message: 'the id given seems to be invalid', status: 'error' }],
    });
  });

  test('add_comment: a note on the case', async () => {
    const r = await op('add_comment', { RECORD_ID: recordId, COMMENT_BODY: 'Rating 5/5 — thanks!' });
    expect(r.body.outcome).toBe('ok');
    expect(r.body.ids.COMMENT_ID).toMatch(/^\d{19}$/);
    const note = zoho.crm.state.notes.find((n) => n.id === r.body.ids.COMMENT_ID)!;
    expect(note).toMatchObject({ Note_Title: 'Contact center', Note_Content: 'Rating 5/5 — thanks!', Parent_Id: { id: recordId }, $se_module: 'Cases' });
  });

  test('upload_file: multipart upload, attachment by id, its URL built from the id, then a note with it', async () => {
    const bytes = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7) % 256));
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'audio/mpeg' }), 'call-1.mp3');
    form.append('variables', JSON.stringify({ RECORD_ID: recordId, FILE_KIND: 'call_recording' }));
    const res = await fetch(`${h.gw.url}/v1/connectors/zoho/operations/upload_file`, { method: 'POST', body: form });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.outcome).toBe('ok');
    const attachment = zoho.crm.state.attachments.at(-1)!;
    expect(body.ids.ATTACHMENT_ID).toBe(attachment.id);
    expect(body.ids.ATTACHMENT_URL).toBe(`https://www.zohoapis.com/crm/v2/Cases/${recordId}/Attachments/${attachment.id}`);
    expect(attachment).toMatchObject({ File_Name: 'call-1.mp3', Size: String(bytes.length), content_type: 'audio/mpeg', Parent_Id: { id: recordId } });
    expect(attachment.content.equals(bytes)).toBe(true);
    // The same path on the emulator serves the bytes back.
    const token = Object.keys(zoho.crm.state.tokens.accessTokens).at(-1)!;
    const download = await fetch(`${zoho.url}/crm/v2/Cases/${recordId}/Attachments/${attachment.id}`, {
      headers: { authorization: `Zoho-oauthtoken ${token}` },
    });
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    // The follow-up note carries the link.
    expect(body.follow_up).toMatchObject({ operation: 'add_comment', outcome: 'ok' });
    const last = zoho.crm.state.notes.filter((n) => n.Parent_Id.id === recordId).at(-1)!;
    expect(last.Note_Content).toBe(`call_recording call-1.mp3 (attachment ${attachment.id}): ${body.ids.ATTACHMENT_URL}`);
  });

  test('upload_file: base64 FILE_DATA is sent as the same multipart upload', async () => {
    const r = await op('upload_file', {
      RECORD_ID: recordId,
      FILE_KIND: 'chat_transcript',
      FILE_DATA: Buffer.from('agent: hi\n').toString('base64'),
      FILE_NAME: 'chat.txt',
    });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
  });

  test('links: screen pops into Zoho’s web UI', async () => {
    const r = await h.get(`/v1/connectors/zoho/links?ACCOUNT_ID=${accountId}&RECORD_ID=${recordId}`);
    expect(r.status).toBe(200);
    expect(r.body.links).toEqual({
      account: `https://crm.zoho.com/crm/tab/Contacts/${accountId}`,
      record: `https://crm.zoho.com/crm/tab/Cases/${recordId}`,
    });
  });
});

describe('tokens and limits', () => {
  test('expired access tokens are refreshed with the same (non-rotated) refresh token, again and again', async () => {
    const before = zoho.crm.state.tokens.issued.refresh_token;
    for (let i = 0; i < 3; i++) {
      zoho.crm.expireAllTokens();
      const r = await op('find_account', { EMAIL: 'kim@example.com' });
      expect(r.body.outcome).toBe('ok');
    }
    expect(zoho.crm.state.tokens.issued.refresh_token).toBe(before + 3);
    // Zoho never issued another refresh token: the gateway kept the first one.
    expect(Object.keys(zoho.crm.state.tokens.refreshTokens)).toHaveLength(1);
  });

  test('a 401 INVALID_TOKEN (revoked early) triggers one refresh and one resend', async () => {
    for (const t of Object.values(zoho.crm.state.tokens.accessTokens)) delete zoho.crm.state.tokens.accessTokens[t.token];
    const r = await op('find_account', { EMAIL: 'kim@example.com' });
    expect(r.body.outcome).toBe('ok');
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([401, 200]);
  });

  test('Zoho’s 429 with Retry-After → 503 crm_retry_later naming the wait', async () => {
    zoho.crm.setRateLimit({ max: 0, windowSec: 60 });
    try {
      const r = await op('find_account', { EMAIL: 'kim@example.com' });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: 'crm_retry_later', crm_status: 429, from_retry_after: true });
      expect(r.body.retry_after_ms).toBeGreaterThan(0);
      expect(r.body.retry_after_ms).toBeLessThanOrEqual(60_000);
    } finally {
      zoho.crm.setRateLimit(null);
    }
  });
});

test('a search filter the CRM ignores does not return a stranger (find guard)', async () => {
  for (let i = 0; i < 3; i++) zoho.crm.seedContact({ Last_Name: `Stranger${i}`, Phone: `+1 555 030 00${10 + i}`, Email: `stranger${i}@example.com` });
  const caller = zoho.crm.seedContact({ Last_Name: 'Guarded', Phone: '+12224446666', Email: 'guarded@example.com' });
  const fault = zoho.crm.injectFault({ method: 'GET', path: '/crm/v2/Contacts/search', ignoreFilter: true, always: true });
  try {
    const found = await op('find_account', { PHONE_NUMBER: '(222) 444-6666' });
    expect(found.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: caller.id }, matches: 1 });
    expect(found.body.dropped_matches).toBeGreaterThanOrEqual(3);
    expect((await op('find_account', { PHONE_NUMBER: '(222) 444-7777' })).body).toMatchObject({ outcome: 'not_found' });
  } finally {
    zoho.crm.removeFault(fault.id);
  }
});
