/**
 * The Zoho CRM-like sample CRM over real HTTP: Zoho Accounts OAuth (offline access,
 * non-rotating refresh tokens, HTTP 200 token errors), the Zoho-oauthtoken header, criteria
 * search (incl. "(A) or (B)" as =CONCAT_OR writes it, and 204 for no match), the {"data":[…]}
 * write envelopes with Zoho's error codes, notes, byte-exact attachments, 429 and faults.
 */
import { createHash } from 'node:crypto';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { ZOHO_DEFAULT_CREDENTIALS } from '../../src/sample-crm/zoho';
import { manualClock, postForm, request, T0, type Reply } from './helpers';

type Json = Record<string, any>;

const clock = manualClock();

let crm: RunningSampleCrm<'zoho'>;
let token: string;

beforeAll(async () => {
  crm = await startSampleCrm({ flavor: 'zoho', port: 0, clock: clock.now });
});
afterAll(() => crm.close());

const REDIRECT = 'http://127.0.0.1:9/callback';

async function authorize(extra: Record<string, string> = { access_type: 'offline' }): Promise<string> {
  const url = new URL(`${crm.url}/oauth/v2/auth`);
  const params = { scope: 'ZohoCRM.modules.ALL', client_id: 'sample-client', response_type: 'code', redirect_uri: REDIRECT, state: 'st-1', ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(REDIRECT);
  expect(location.searchParams.get('state')).toBe('st-1');
  return location.searchParams.get('code')!;
}

async function tokenCall(params: Record<string, string>, via: 'form' | 'query' = 'form'): Promise<{ status: number; body: Json }> {
  const form = { client_id: 'sample-client', client_secret: 'sample-secret', ...params };
  if (via === 'form') return postForm(`${crm.url}/oauth/v2/token`, form);
  const res = await fetch(`${crm.url}/oauth/v2/token?${new URLSearchParams(form)}`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Json };
}

/** A CRM API call with the OAuth token, as Zoho spells it (auth: another Authorization value, or null for none). */
const api = (path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Reply> =>
  request(crm.url + path, { ...init, headers: { authorization: init.auth === undefined ? `Zoho-oauthtoken ${token}` : init.auth } });

async function freshToken(): Promise<string> {
  const code = await authorize();
  const r = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  return r.body.access_token as string;
}

beforeEach(async () => {
  crm.crm.reset();
  clock.set(T0);
  token = await freshToken();
  crm.crm.clearRequests();
});

describe('OAuth like Zoho Accounts', () => {
  test('code grant with access_type=offline: Zoho token shape, with a refresh token', async () => {
    const code = await authorize();
    const r = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      api_domain: crm.url,
      token_type: 'Bearer',
      expires_in: 3600,
    });
    expect(ZOHO_DEFAULT_CREDENTIALS).toMatchObject({ clientId: 'sample-client', clientSecret: 'sample-secret', accessTokenTtlSec: 3600 });
  });

  test('without access_type=offline there is no refresh token', async () => {
    const code = await authorize({});
    const r = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(r.body.access_token).toEqual(expect.any(String));
    expect(r.body).not.toHaveProperty('refresh_token');
  });

  test('parameters in the query string work too', async () => {
    const code = await authorize();
    const r = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, 'query');
    expect(r.body.refresh_token).toEqual(expect.any(String));
  });

  test('refresh does not rotate: no refresh_token in the answer, the old one keeps working', async () => {
    const code = await authorize();
    const first = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    const refresh = first.body.refresh_token as string;
    const a = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh });
    expect(a.body).toEqual({ access_token: expect.any(String), api_domain: crm.url, token_type: 'Bearer', expires_in: 3600 });
    const b = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh });
    expect(b.body.access_token).toEqual(expect.any(String));
    expect(b.body.access_token).not.toBe(a.body.access_token);
    expect(crm.crm.state.tokens.issued.refresh_token).toBe(2);
    expect((await api('/crm/v2/Contacts', { auth: `Zoho-oauthtoken ${b.body.access_token}` })).status).toBe(204);
  });

  test('token errors are HTTP 200 with {"error": …}, as Zoho answers them', async () => {
    const code = await authorize();
    expect(await tokenCall({ grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT })).toEqual({
      status: 200,
      body: { error: 'invalid_code' },
    });
    expect(await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_secret: 'wrong' })).toEqual({
      status: 200,
      body: { error: 'invalid_client' },
    });
    expect(await tokenCall({ grant_type: 'refresh_token', refresh_token: 'nope' })).toEqual({ status: 200, body: { error: 'invalid_code' } });
  });

  test('Zoho-oauthtoken and Bearer are accepted; anything else is a 401 with Zoho’s body', async () => {
    expect((await api('/crm/v2/Contacts')).status).toBe(204);
    expect((await api('/crm/v2/Contacts', { auth: `Bearer ${token}` })).status).toBe(204);
    const bad = await api('/crm/v2/Contacts', { auth: 'Zoho-oauthtoken 1000.not-a-token' });
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' });
    const none = await api('/crm/v2/Contacts', { auth: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ code: 'AUTHENTICATION_FAILURE', details: {}, message: 'Authentication failed', status: 'error' });
    const basic = await api('/crm/v2/Contacts', { auth: `Basic ${Buffer.from('agent@example.com/token:sample-token').toString('base64')}` });
    expect(basic.status).toBe(401);
  });

  test('tokens expire after expires_in; a refresh gives a working one', async () => {
    const code = await authorize();
    const first = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    clock.advance(3600_000);
    const expired = await api('/crm/v2/Contacts', { auth: `Zoho-oauthtoken ${first.body.access_token}` });
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('INVALID_TOKEN');
    const again = await tokenCall({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect((await api('/crm/v2/Contacts', { auth: `Zoho-oauthtoken ${again.body.access_token}` })).status).toBe(204);
  });

  test('a short expiry can be configured', async () => {
    const short = await startSampleCrm({ flavor: 'zoho', port: 0, auth: { oauth: { clientId: 'c', clientSecret: 's', accessTokenTtlSec: 2 } } });
    try {
      const res = await fetch(`${short.url}/oauth/v2/auth?client_id=c&response_type=code&access_type=offline&scope=ZohoCRM.modules.ALL`, {
        redirect: 'manual',
      });
      const { code } = (await res.json()) as Json;
      const t = await fetch(`${short.url}/oauth/v2/token?grant_type=authorization_code&client_id=c&client_secret=s&code=${code}`, { method: 'POST' });
      expect(((await t.json()) as Json).expires_in).toBe(2);
    } finally {
      await short.close();
    }
  });
});

const CONTACT = { First_Name: 'Kim', Last_Name: 'Lee', Email: 'kim@example.com', Phone: '+1 222 333 4444' };

async function createContact(fields: Json = CONTACT): Promise<string> {
  const r = await api('/crm/v2/Contacts', { body: { data: [fields] } });
  expect(r.status).toBe(201);
  return r.body.data[0].details.id as string;
}

describe('Contacts', () => {
  test('insert: 201 with Zoho’s per-record envelope; get by id returns the record', async () => {
    const r = await api('/crm/v2/Contacts', { body: { data: [CONTACT] } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      data: [
        {
          code: 'SUCCESS',
          details: {
            Modified_Time: '2024-05-01T10:00:00+00:00',
            Modified_By: { name: 'Sample Agent', id: '5725767000000100001' },
            Created_Time: '2024-05-01T10:00:00+00:00',
            id: expect.stringMatching(/^\d{19}$/),
            Created_By: { name: 'Sample Agent', id: '5725767000000100001' },
          },
          message: 'record added',
          status: 'success',
        },
      ],
    });
    const id = r.body.data[0].details.id;
    const got = await api(`/crm/v2/Contacts/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.data[0]).toMatchObject({ id, ...CONTACT, Full_Name: 'Kim Lee', Owner: { name: 'Sample Agent' }, Email_Opt_Out: false });
    expect(crm.crm.state.contacts[0]).toMatchObject({ id, Phone: '+1 222 333 4444' });
  });

  test('missing Last_Name → 400 MANDATORY_NOT_FOUND (v3 also names the json_path)', async () => {
    const v2 = await api('/crm/v2/Contacts', { body: { data: [{ First_Name: 'No', Email: 'no@example.com' }] } });
    expect(v2.status).toBe(400);
    expect(v2.body).toEqual({
      data: [{ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Last_Name' }, message: 'required field not found', status: 'error' }],
    });
    const v3 = await api('/crm/v3/Contacts', { body: { data: [{ First_Name: 'No' }] } });
    expect(v3.body.data[0].details).toEqual({ api_name: 'Last_Name', json_path: '$.data[0].Last_Name' });
    expect(crm.crm.state.contacts).toHaveLength(0);
  });

  test('invalid values → INVALID_DATA naming the field; a mixed batch → 207', async () => {
    const r = await api('/crm/v2/Contacts', { body: { data: [{ Last_Name: 'Ok' }, { Last_Name: 'Bad', Email: 'not-an-email' }] } });
    expect(r.status).toBe(207);
    expect(r.body.data[0]).toMatchObject({ code: 'SUCCESS', status: 'success' });
    expect(r.body.data[1]).toEqual({
      code: 'INVALID_DATA',
      details: { api_name: 'Email', expected_data_type: 'email' },
      message: 'invalid data',
      status: 'error',
    });
    const long = await api('/crm/v2/Contacts', { body: { data: [{ Last_Name: 'x'.repeat(81) }] } });
    expect(long.body.data[0]).toMatchObject({ code: 'INVALID_DATA', details: { api_name: 'Last_Name', maximum_length: 80 } });
  });

  test('request-level errors: no data, data not a list, unreadable JSON, unknown module, unknown URL', async () => {
    const noData = await api('/crm/v2/Contacts', { body: { Last_Name: 'x' } });
    expect(noData.status).toBe(400);
    expect(noData.body).toEqual({
      code: 'REQUIRED_PARAM_MISSING',
      details: { param_name: 'data' },
      message: 'One of the expected parameter is missing',
      status: 'error',
    });
    expect((await api('/crm/v2/Contacts', { body: { data: { Last_Name: 'x' } } })).body).toMatchObject({
      code: 'INVALID_DATA',
      details: { expected_data_type: 'jsonarray' },
    });
    const res = await fetch(`${crm.url}/crm/v2/Contacts`, {
      method: 'POST',
      headers: { authorization: `Zoho-oauthtoken ${token}`, 'content-type': 'application/json' },
      body: '{"data": [',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_DATA', message: 'body', status: 'error' });
    expect((await api('/crm/v2/Widgets')).body).toEqual({
      code: 'INVALID_MODULE',
      details: {},
      message: 'the module name given seems to be invalid',
      status: 'error',
    });
    const url = await api('/crm/v2/Contacts/1/Nope/2/3');
    expect(url.status).toBe(404);
    expect(url.body.code).toBe('INVALID_URL_PATTERN');
  });

  test('get by id: unknown id → 204 with no body; malformed id → 404 INVALID_URL_PATTERN', async () => {
    const unknown = await api('/crm/v2/Contacts/5725767000000499999');
    expect(unknown.status).toBe(204);
    expect(unknown.text).toBe('');
    const malformed = await api('/crm/v2/Contacts/abc');
    expect(malformed.status).toBe(404);
    expect(malformed.body.code).toBe('INVALID_URL_PATTERN');
  });

  describe('search', () => {
    let kim: string;
    let ann: string;
    beforeEach(async () => {
      kim = await createContact();
      ann = await createContact({ First_Name: 'Ann', Last_Name: 'Smith', Email: 'ann@example.com', Phone: '+44 20 7946 0958', Mobile: '+1 555 010 9999' });
    });
    const search = (query: string) => api(`/crm/v2/Contacts/search?${query}`);
    const ids = (r: { body: any }) => (r.body?.data ?? []).map((c: Json) => c.id);

    test.each([
      ['(Phone:equals:+1 222 333 4444)', 'kim'],
      ['(Phone:equals:+12223334444)', 'kim'],
      ['(Email:equals:KIM@example.com)', 'kim'],
      ['((Phone:equals:+1 999 999 9999)or(Email:equals:ann@example.com))', 'ann'],
      ['(Phone:equals:+1 999 999 9999) or (Email:equals:ann@example.com)', 'ann'],
      ['(Id:equals:nothing) or (Phone:equals:+44 20 7946 0958) or (Email:equals:none@example.com)', 'ann'],
      ['((Last_Name:starts_with:Sm) and (First_Name:equals:ann))', 'ann'],
      ['(Last_Name:in:Lee,Nobody)', 'kim'],
      ['(Mobile:equals:+1 555 010 9999)', 'ann'],
    ])('criteria %s', async (criteria, who) => {
      const r = await search(`criteria=${encodeURIComponent(criteria)}`);
      expect(r.status).toBe(200);
      expect(ids(r)).toEqual([who === 'kim' ? kim : ann]);
      expect(r.body.info).toEqual({ per_page: 200, count: 1, page: 1, more_records: false });
    });

    test('or across both, and the email/phone parameters', async () => {
      expect(ids(await search(`criteria=${encodeURIComponent('(Email:equals:kim@example.com)or(Email:equals:ann@example.com)')}`))).toEqual([kim, ann]);
      expect(ids(await search('email=ANN@example.com'))).toEqual([ann]);
      expect(ids(await search(`phone=${encodeURIComponent('+1 (222) 333-4444')}`))).toEqual([kim]);
      expect(ids(await search('word=smith'))).toEqual([ann]);
    });

    test('no match → 204 with an empty body', async () => {
      const r = await search(`criteria=${encodeURIComponent('(Email:equals:nobody@example.com)')}`);
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
    });

    test('escaped parentheses and commas in values', async () => {
      const odd = await createContact({ Last_Name: 'O(Brien), Jr' });
      expect(ids(await search(`criteria=${encodeURIComponent('(Last_Name:equals:O\\(Brien\\)\\, Jr)')}`))).toEqual([odd]);
    });

    test('bad criteria → 400 INVALID_QUERY', async () => {
      for (const [criteria, details] of [
        ['(Phone:equals:(222) 333-4444)', { reason: expect.stringContaining('invalid query formed') }],
        ['(Nope:equals:x)', { reason: 'invalid field found', api_name: 'Nope' }],
        ['(Email:contains:x)', { reason: 'invalid operator found', api_name: 'Email', operator: 'contains' }],
        ['(Email:equals:x', { reason: expect.stringContaining('missing ")"') }],
      ] as const) {
        const r = await search(`criteria=${encodeURIComponent(criteria)}`);
        expect(r.status).toBe(400);
        expect(r.body).toEqual({ code: 'INVALID_QUERY', details: expect.objectContaining(details), message: 'Invalid query formed', status: 'error' });
      }
      const none = await search('');
      expect(none.body).toMatchObject({ code: 'REQUIRED_PARAM_MISSING', details: { param_name: 'criteria' } });
    });

    test('pagination: per_page and page, with more_records', async () => {
      await createContact({ Last_Name: 'Lee', First_Name: 'Third' });
      const p1 = await search(`criteria=${encodeURIComponent('(Last_Name:starts_with:)')}&per_page=2`);
      expect(p1.body.info).toEqual({ per_page: 2, count: 2, page: 1, more_records: true });
      const p2 = await search(`criteria=${encodeURIComponent('(Last_Name:starts_with:)')}&per_page=2&page=2`);
      expect(p2.body.info).toEqual({ per_page: 2, count: 1, page: 2, more_records: false });
    });
  });
});

describe('Cases, notes, attachments', () => {
  let contactId: string;
  beforeEach(async () => {
    contactId = await createContact();
  });

  async function createCase(fields: Json = {}): Promise<string> {
    const r = await api('/crm/v2/Cases', {
      body: { data: [{ Subject: 'Call', Status: 'New', Case_Origin: 'Phone', Contact_Name: { id: contactId }, ...fields }] },
    });
    expect(r.status).toBe(201);
    return r.body.data[0].details.id;
  }

  test('create links the contact (lookup shown with its name); mandatory fields and lookups are checked', async () => {
    const id = await createCase({ Description: 'first call' });
    expect(crm.crm.state.cases[0]).toMatchObject({
      id,
      Subject: 'Call',
      Case_Number: '00001',
      Contact_Name: { id: contactId, name: 'Kim Lee' },
      Description: 'first call',
    });
    const noOrigin = await api('/crm/v2/Cases', { body: { data: [{ Subject: 'x', Status: 'New' }] } });
    expect(noOrigin.body.data[0]).toMatchObject({ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Case_Origin' } });
    const badLookup = await api('/crm/v2/Cases', {
      body: { data: [{ Subject: 'x', Status: 'New', Case_Origin: 'Web', Contact_Name: { id: '5725767000000499999' } }] },
    });
    expect(badLookup.body.data[0]).toEqual({
      code: 'INVALID_DATA',
      details: { api_name: 'Contact_Name', id: '5725767000000499999' },
      message: 'the related id given seems to be invalid',
      status: 'error',
    });
    const badStatus = await api('/crm/v2/Cases', { body: { data: [{ Subject: 'x', Status: 'Open', Case_Origin: 'Web' }] } });
    expect(badStatus.body.data[0]).toMatchObject({ code: 'INVALID_DATA', details: { api_name: 'Status', expected_data_type: 'picklist' } });
  });

  test('search the open cases of a contact (lookup id, not_equal)', async () => {
    const open = await createCase();
    await createCase({ Status: 'Closed' });
    const other = await createContact({ Last_Name: 'Other' });
    await createCase({ Contact_Name: { id: other } });
    for (const criteria of [
      `((Contact_Name:equals:${contactId})and(Status:not_equal:Closed))`,
      `(Contact_Name.id:equals:${contactId}) and (Status:not_equal:Closed)`,
    ]) {
      const r = await api(`/crm/v2/Cases/search?criteria=${encodeURIComponent(criteria)}`);
      expect(r.status).toBe(200);
      expect(r.body.data.map((c: Json) => c.id)).toEqual([open]);
      expect(r.body.data[0].Contact_Name).toEqual({ name: 'Kim Lee', id: contactId });
    }
  });

  test('update: 200 "record updated"; unknown id → 400 INVALID_DATA; a mandatory field cannot be emptied', async () => {
    const id = await createCase();
    clock.advance(60_000);
    const r = await api(`/crm/v2/Cases/${id}`, { method: 'PUT', body: { data: [{ Subject: 'Billing', Status: 'Escalated' }] } });
    expect(r.status).toBe(200);
    expect(r.body.data[0]).toMatchObject({
      code: 'SUCCESS',
      message: 'record updated',
      details: { id, Modified_Time: '2024-05-01T10:01:00+00:00', Created_Time: '2024-05-01T10:00:00+00:00' },
    });
    expect(crm.crm.state.cases[0]).toMatchObject({ Subject: 'Billing', Status: 'Escalated', Case_Origin: 'Phone' });
    const unknown = await api('/crm/v2/Cases/5725767000000599999', { method: 'PUT', body: { data: [{ Subject: 'x' }] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      data: [{ code: 'INVALID_DATA', details: { id: '5725767000000599999' }, message: 'the id given seems to be invalid', status: 'error' }],
    });
    const emptied = await api(`/crm/v2/Cases/${id}`, { method: 'PUT', body: { data: [{ Subject: '' }] } });
    expect(emptied.body.data[0]).toMatchObject({ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Subject' } });
    const bulk = await api('/crm/v2/Cases', { method: 'PUT', body: { data: [{ id, Priority: 'High' }] } });
    expect(bulk.status).toBe(200);
    expect(crm.crm.state.cases[0].Priority).toBe('High');
  });

  test('notes: add to a case (201), list them; Note_Content is mandatory', async () => {
    const id = await createCase();
    const r = await api(`/crm/v2/Cases/${id}/Notes`, { body: { data: [{ Note_Title: 'Call', Note_Content: 'Rated 5/5' }] } });
    expect(r.status).toBe(201);
    expect(r.body.data[0]).toMatchObject({ code: 'SUCCESS', message: 'record added', details: { id: expect.stringMatching(/^\d{19}$/) } });
    expect(crm.crm.state.notes[0]).toMatchObject({ Note_Title: 'Call', Note_Content: 'Rated 5/5', Parent_Id: { id, name: 'Call' }, $se_module: 'Cases' });
    const list = await api(`/crm/v2/Cases/${id}/Notes`);
    expect(list.body.data).toHaveLength(1);
    const missing = await api(`/crm/v2/Cases/${id}/Notes`, { body: { data: [{ Note_Title: 'x' }] } });
    expect(missing.status).toBe(400);
    expect(missing.body.data[0]).toMatchObject({ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Note_Content' } });
    const viaModule = await api('/crm/v2/Notes', { body: { data: [{ Note_Content: 'on the contact', Parent_Id: contactId, se_module: 'Contacts' }] } });
    expect(viaModule.status).toBe(201);
    expect(crm.crm.state.notes[1]).toMatchObject({ Parent_Id: { id: contactId, name: 'Kim Lee' }, $se_module: 'Contacts' });
  });

  test('attachments: multipart upload is stored byte-exact and downloads identical', async () => {
    const id = await createCase();
    const bytes = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'audio/mpeg' }), 'call 1.mp3');
    const r = await api(`/crm/v2/Cases/${id}/Attachments`, { body: form });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      data: [
        {
          code: 'SUCCESS',
          details: expect.objectContaining({ id: expect.stringMatching(/^\d{19}$/), Created_Time: '2024-05-01T10:00:00+00:00' }),
          message: 'attachment uploaded successfully',
          status: 'success',
        },
      ],
    });
    const attId = r.body.data[0].details.id;
    const stored = crm.crm.state.attachments[0];
    expect(stored).toMatchObject({ id: attId, File_Name: 'call 1.mp3', Size: String(bytes.length), content_type: 'audio/mpeg', $type: 'Attachment' });
    expect(stored.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const download = await fetch(`${crm.url}/crm/v2/Cases/${id}/Attachments/${attId}`, { headers: { authorization: `Zoho-oauthtoken ${token}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    const list = await api(`/crm/v2/Cases/${id}/Attachments`);
    expect(list.body.data[0]).toMatchObject({ id: attId, File_Name: 'call 1.mp3', Size: '1024', Parent_Id: { id } });
    expect(list.body.data[0]).not.toHaveProperty('content');
  });

  test('attachments: no file → 400 REQUIRED_PARAM_MISSING; unknown parent → 400 INVALID_DATA', async () => {
    const id = await createCase();
    const empty = new FormData();
    empty.append('title', 'x');
    const r = await api(`/crm/v2/Cases/${id}/Attachments`, { body: empty });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'REQUIRED_PARAM_MISSING', details: { param_name: 'file' } });
    const form = new FormData();
    form.append('file', new Blob(['x']), 'x.txt');
    const orphan = await api('/crm/v2/Cases/5725767000000599999/Attachments', { body: form });
    expect(orphan.status).toBe(400);
    expect(orphan.body).toMatchObject({ code: 'INVALID_DATA', message: 'the related id given seems to be invalid' });
  });
});

describe('rate limit, faults, request log, seed helpers', () => {
  test('429 TOO_MANY_REQUESTS with Retry-After once the window is used up', async () => {
    crm.crm.setRateLimit({ max: 2, windowSec: 60 });
    expect((await api('/crm/v2/Contacts')).status).toBe(204);
    expect((await api('/crm/v2/Contacts')).status).toBe(204);
    const limited = await api('/crm/v2/Contacts');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: {}, status: 'error' });
    clock.advance(60_000);
    expect((await api('/crm/v2/Contacts')).status).toBe(204);
  });

  test('fault injection and the request log through the control API', async () => {
    const fault = await fetch(`${crm.url}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        path: '/crm/v2/Contacts',
        status: 429,
        retryAfter: 7,
        body: { code: 'TOO_MANY_REQUESTS', details: {}, message: 'slow down', status: 'error' },
      }),
    });
    expect(fault.status).toBe(201);
    const r = await api('/crm/v2/Contacts', { body: { data: [CONTACT] } });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(crm.crm.state.contacts).toHaveLength(0);
    expect((await api('/crm/v2/Contacts', { body: { data: [CONTACT] } })).status).toBe(201);
    const log = (await (await fetch(`${crm.url}/__control/requests`)).json()) as Json;
    expect(log.requests.map((e: Json) => [e.method, e.path, e.status])).toEqual([
      ['POST', '/crm/v2/Contacts', 429],
      ['POST', '/crm/v2/Contacts', 201],
    ]);
    expect(log.requests[1]).toMatchObject({ body: { data: [CONTACT] }, auth: { method: 'bearer' } });
  });

  test('seed helpers validate like the API', () => {
    const c = crm.crm.seedContact({ Last_Name: 'Seeded', Phone: '+1 222 333 4444' }, { createdAt: Date.parse('2020-01-01T00:00:00Z') });
    expect(c.Created_Time).toBe('2020-01-01T00:00:00+00:00');
    const k = crm.crm.seedCase({ Contact_Name: { id: c.id } });
    expect(k).toMatchObject({ Status: 'New', Case_Origin: 'Phone', Contact_Name: { id: c.id, name: 'Seeded' } });
    expect(crm.crm.seedNote('Cases', k.id, { Note_Content: 'hi' }).Parent_Id.id).toBe(k.id);
    expect(crm.crm.seedAttachment('Cases', k.id, { name: 'a.txt', content: 'abc' }).Size).toBe('3');
    expect(() => crm.crm.seedContact({ Last_Name: '' })).toThrow(/MANDATORY_NOT_FOUND/);
  });
});
