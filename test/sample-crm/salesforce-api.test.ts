/**
 * The Salesforce-like sample CRM over real HTTP: OAuth sessions (client credentials,
 * authorization code, refresh, idle timeout), SOQL queries and their errors, sObject writes
 * with Salesforce's exact error bodies, and files uploaded and read back byte for byte.
 */
import { createHash } from 'node:crypto';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { canonicalId, idSuffix, salesforceRateLimitFault, SALESFORCE_DEFAULT_AUTH } from '../../src/sample-crm/salesforce';
import { manualClock, postForm, request, T0, type Reply } from './helpers';

type Json = any;

const V = '/services/data/v59.0';
const CLIENT = SALESFORCE_DEFAULT_AUTH.oauth;

let running: RunningSampleCrm<'salesforce'>;
const clock = manualClock();
let token: string;

beforeAll(async () => {
  running = await startSampleCrm({ flavor: 'salesforce', port: 0, clock: clock.now });
});
afterAll(() => running.close());
beforeEach(async () => {
  running.crm.reset();
  clock.set(T0);
  token = (await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret })).body.access_token;
});

const tokenRequest = (params: Record<string, string>) => postForm(`${running.url}/services/oauth2/token`, params);

/** A data API call with the session's token (auth: another Authorization value, or null for none). */
const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; auth?: string | null } = {}): Promise<Reply<Json>> =>
  request(running.url + path, { ...init, headers: { authorization: init.auth === undefined ? `Bearer ${token}` : init.auth, ...init.headers } });

const query = (soql: string, headers?: Record<string, string>) => api(`${V}/query?q=${encodeURIComponent(soql)}`, { headers });

describe('OAuth 2 sessions', () => {
  it('client credentials: Salesforce token answer without expires_in', async () => {
    const r = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      access_token: expect.any(String),
      signature: expect.any(String),
      scope: 'api',
      instance_url: running.url,
      id: expect.stringMatching(new RegExp(`^${running.url}/id/00D\\w{15}/005\\w{15}$`)),
      token_type: 'Bearer',
      issued_at: String(T0),
    });
    expect(r.body).not.toHaveProperty('expires_in');
    expect(r.body).not.toHaveProperty('refresh_token');
  });

  it('rejects bad client credentials and unknown grants with 400 like Salesforce', async () => {
    expect(await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: 'wrong' })).toEqual({
      status: 400,
      body: { error: 'invalid_client', error_description: 'invalid client credentials' },
    });
    expect(await tokenRequest({ grant_type: 'password', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret })).toEqual({
      status: 400,
      body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' },
    });
  });

  it('401 INVALID_SESSION_ID without a session, with an unknown token, and with non-OAuth credentials', async () => {
    const expected = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
    for (const auth of [null, 'Bearer not-a-token', `Basic ${Buffer.from('agent@example.com/token:sample-token').toString('base64')}`]) {
      const r = await api(`${V}/sobjects/Contact`, { auth, body: { LastName: 'X' } });
      expect(r.status).toBe(401);
      expect(r.body).toEqual(expected);
    }
    expect(running.crm.state.Contact).toHaveLength(0);
  });

  it('sessions expire after the idle timeout; every call restarts it', async () => {
    const short = await startSampleCrm({
      flavor: 'salesforce',
      port: 0,
      clock: clock.now,
      auth: { oauth: { clientId: 'c', clientSecret: 's', accessTokenTtlSec: 60 } },
    });
    try {
      const t = await fetch(`${short.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=c&client_secret=s',
      });
      const access = ((await t.json()) as Json).access_token;
      const call = async () => (await fetch(`${short.url}${V}/sobjects`, { headers: { authorization: `Bearer ${access}` } })).status;
      clock.advance(50_000);
      expect(await call()).toBe(200);
      clock.advance(50_000); // 100 s after issue, 50 s after the last call
      expect(await call()).toBe(200);
      clock.advance(61_000);
      expect(await call()).toBe(401);
      clock.advance(1);
      expect(await call()).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('setSessionTimeout overrides the idle window', async () => {
    running.crm.setSessionTimeout(10);
    clock.advance(5_000);
    expect((await api(`${V}/sobjects`)).status).toBe(200);
    clock.advance(10_000);
    const r = await api(`${V}/sobjects`);
    expect(r.status).toBe(401);
    expect(r.body[0].errorCode).toBe('INVALID_SESSION_ID');
  });

  it('authorization code → token with refresh token → refresh; a used code is refused', async () => {
    const authorize = await fetch(
      `${running.url}/services/oauth2/authorize?response_type=code&client_id=${CLIENT.clientId}&redirect_uri=${encodeURIComponent('http://localhost:9/cb')}&state=s1`,
      { redirect: 'manual' },
    );
    expect(authorize.status).toBe(302);
    const location = new URL(authorize.headers.get('location')!);
    expect(location.searchParams.get('state')).toBe('s1');
    const code = location.searchParams.get('code')!;
    const exchange = {
      grant_type: 'authorization_code',
      code,
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      redirect_uri: 'http://localhost:9/cb',
    };
    const first = await tokenRequest(exchange);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', instance_url: running.url, refresh_token: expect.any(String) });
    expect(await tokenRequest(exchange)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'authentication failure' } });
    const refreshed = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token,
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
    expect(refreshed.status).toBe(200);
    expect((await api(`${V}/sobjects`, { auth: `Bearer ${refreshed.body.access_token}` })).status).toBe(200);
    expect(running.crm.state.tokens.issued).toMatchObject({ authorization_code: 1, refresh_token: 1 });
  });
});

describe('18-character ids', () => {
  it('have the case-safety suffix; 15-character and re-cased ids resolve to the same record', async () => {
    const c = running.crm.seedContact({ LastName: 'Ids' });
    expect(c.Id).toMatch(/^003[A-Za-z0-9]{15}$/);
    expect(c.Id.slice(15)).toBe(idSuffix(c.Id.slice(0, 15)));
    expect(canonicalId(c.Id.toLowerCase())).toBe(c.Id);
    for (const id of [c.Id, c.Id.slice(0, 15), c.Id.toUpperCase()]) {
      const r = await api(`${V}/sobjects/Contact/${id}`);
      expect(r.status).toBe(200);
      expect(r.body.Id).toBe(c.Id);
    }
  });
});

describe('SOQL query', () => {
  let kim: Json;
  let older: Json;
  beforeEach(() => {
    older = running.crm.seedContact({ FirstName: 'Old', LastName: 'Kim', Phone: '(222) 333-4444', createdAt: T0 - 86_400_000 });
    kim = running.crm.seedContact({ FirstName: 'Kim', LastName: 'Lee', Phone: '(222) 333-4444', Email: 'kim@example.com' });
    running.crm.seedContact({ FirstName: 'Ann', LastName: "O'Brien", Phone: '(555) 000-1111', Email: 'ann@example.com' });
  });

  it('phone OR email, newest first, with Salesforce record shape', async () => {
    const r = await query(
      "SELECT Id, Name, Phone, Email, CreatedDate FROM Contact WHERE Phone = '(222) 333-4444' OR Email = 'kim@example.com' ORDER BY CreatedDate DESC LIMIT 10",
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      totalSize: 2,
      done: true,
      records: [
        {
          attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${kim.Id}` },
          Id: kim.Id,
          Name: 'Kim Lee',
          Phone: '(222) 333-4444',
          Email: 'kim@example.com',
          CreatedDate: '2024-05-01T10:00:00.000+0000',
        },
        {
          attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${older.Id}` },
          Id: older.Id,
          Name: 'Old Kim',
          Phone: '(222) 333-4444',
          Email: null,
          CreatedDate: '2024-04-30T10:00:00.000+0000',
        },
      ],
    });
  });

  it('no match → 200 with empty records', async () => {
    const r = await query("SELECT Id FROM Contact WHERE Phone = '(999) 999-9999'");
    expect(r).toMatchObject({ status: 200, body: { totalSize: 0, done: true, records: [] } });
  });

  it('keywords case-insensitive, = on text case-insensitive, LIKE, IN, NOT IN, !=, <>, NOT, parentheses, escaped quotes', async () => {
    const ids = async (soql: string) => {
      const r = await query(soql);
      expect(r.status).toBe(200);
      return r.body.records.map((x: Json) => x.Name);
    };
    expect(await ids("select Name from contact where EMAIL = 'KIM@example.com'")).toEqual(['Kim Lee']);
    expect(await ids("SELECT Name FROM Contact WHERE LastName = 'O\\'Brien'")).toEqual(["Ann O'Brien"]);
    expect(await ids("SELECT Name FROM Contact WHERE Email LIKE '%@example.com' ORDER BY Name")).toEqual(["Ann O'Brien", 'Kim Lee']);
    expect(await ids("SELECT Name FROM Contact WHERE FirstName LIKE 'K_m'")).toEqual(['Kim Lee']);
    expect(await ids("SELECT Name FROM Contact WHERE LastName IN ('Kim', 'Lee') ORDER BY Name ASC")).toEqual(['Kim Lee', 'Old Kim']);
    expect(await ids("SELECT Name FROM Contact WHERE LastName NOT IN ('Kim', 'Lee')")).toEqual(["Ann O'Brien"]);
    expect(await ids('SELECT Name FROM Contact WHERE Email != null ORDER BY Name DESC')).toEqual(['Kim Lee', "Ann O'Brien"]);
    expect(await ids("SELECT Name FROM Contact WHERE Email <> 'kim@example.com' ORDER BY Email NULLS LAST")).toEqual(["Ann O'Brien", 'Old Kim']);
    expect(await ids("SELECT Name FROM Contact WHERE Phone = '(222) 333-4444' AND (Email = null OR FirstName = 'Kim') ORDER BY CreatedDate")).toEqual([
      'Old Kim',
      'Kim Lee',
    ]);
    expect(await ids("SELECT Name FROM Contact WHERE NOT Phone = '(222) 333-4444'")).toEqual(["Ann O'Brien"]);
    expect(await ids(`SELECT Name FROM Contact WHERE Id = '${kim.Id.slice(0, 15)}'`)).toEqual(['Kim Lee']);
    expect(await ids('SELECT Name FROM Contact WHERE CreatedDate < 2024-05-01T00:00:00Z')).toEqual(['Old Kim']);
    expect(await ids('SELECT Name FROM Contact ORDER BY CreatedDate ASC LIMIT 1 OFFSET 1')).toEqual(['Kim Lee']);
  });

  it('SELECT COUNT()', async () => {
    const r = await query("SELECT COUNT() FROM Contact WHERE Phone = '(222) 333-4444'");
    expect(r.body).toEqual({ totalSize: 2, done: true, records: [] });
  });

  it('AND and OR mixed without parentheses → 400 MALFORMED_QUERY, like Salesforce', async () => {
    const r = await query("SELECT Id FROM Contact WHERE Id != null AND Phone = '1' OR Email = 'x'");
    expect(r.status).toBe(400);
    expect(r.body).toHaveLength(1);
    expect(r.body[0].errorCode).toBe('MALFORMED_QUERY');
    expect(r.body[0].message).toContain('ERROR at Row:1:Column:57\nunexpected token: OR');
  });

  it.each([
    ['SELECT Id FROM Contact WHERE', 'MALFORMED_QUERY', 'unexpected token: <EOF>'],
    ["SELECT Id FROM Contact WHERE Phone = 'open", 'MALFORMED_QUERY', "mismatched character '<EOF>' expecting '''"],
    ['SELECT Id, Foo FROM Contact', 'INVALID_FIELD', "No such column 'Foo' on entity 'Contact'"],
    ['SELECT Id FROM Account', 'INVALID_TYPE', "sObject type 'Account' is not supported"],
    ['SELECT Id, Account.Name FROM Contact', 'INVALID_FIELD', "Didn't understand relationship 'Account' in field path"],
    [
      "SELECT Id FROM Case WHERE IsClosed = 'false'",
      'INVALID_QUERY_FILTER_OPERATOR',
      "value of filter criterion for field 'IsClosed' must be of type boolean and should not be enclosed in quotes",
    ],
    ["SELECT Id FROM Case WHERE ContactId = 'nope'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid ID field: nope'],
    ['SELECT Id FROM Contact WHERE Phone = 2223334444', 'INVALID_QUERY_FILTER_OPERATOR', 'must be of type string and should be enclosed in quotes'],
    ["SELECT Id FROM Case WHERE Description = 'x'", 'INVALID_FIELD', "field 'Description' can not be filtered in a query call"],
    ['SELECT Id FROM Contact OFFSET 2001', 'NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000'],
  ])('%s → 400 %s', async (soql, errorCode, text) => {
    const r = await query(soql);
    expect(r.status).toBe(400);
    expect(r.body).toEqual([{ errorCode, message: expect.stringContaining(text) }]);
  });

  it('without q → 400 MALFORMED_QUERY', async () => {
    const r = await api(`${V}/query`);
    expect(r).toMatchObject({ status: 400, body: [{ message: 'A query string has to be specified', errorCode: 'MALFORMED_QUERY' }] });
  });

  it('pages large results with nextRecordsUrl (Sforce-Query-Options batchSize)', async () => {
    for (let i = 0; i < 247; i++) running.crm.seedContact({ LastName: `Bulk ${String(i).padStart(3, '0')}`, Department: 'Bulk' });
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    const first = await query("SELECT Id, LastName FROM Contact WHERE Department = 'Bulk' ORDER BY LastName", headers);
    expect(first.body).toMatchObject({
      totalSize: 247,
      done: false,
      nextRecordsUrl: expect.stringMatching(/^\/services\/data\/v59\.0\/query\/01g\w{15}-200$/),
    });
    expect(first.body.records).toHaveLength(200);
    const second = await api(first.body.nextRecordsUrl, { headers });
    expect(second.body.totalSize).toBe(247);
    expect(second.body.done).toBe(true);
    expect(second.body.nextRecordsUrl).toBeUndefined();
    expect(second.body.records.map((r: Json) => r.LastName)).toEqual(Array.from({ length: 47 }, (_, i) => `Bulk ${String(200 + i).padStart(3, '0')}`));
    // A finished locator is gone.
    expect(await api(first.body.nextRecordsUrl)).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_QUERY_LOCATOR' }] });
  });

  it('queryAll includes deleted records; query does not', async () => {
    expect((await api(`${V}/sobjects/Contact/${older.Id}`, { method: 'DELETE' })).status).toBe(204);
    const soql = "SELECT Id, IsDeleted FROM Contact WHERE LastName = 'Kim'";
    expect((await query(soql)).body.totalSize).toBe(0);
    const all = await api(`${V}/queryAll?q=${encodeURIComponent(soql)}`);
    expect(all.body.records).toEqual([expect.objectContaining({ Id: older.Id, IsDeleted: true })]);
  });
});

describe('sObjects', () => {
  it('creates a Contact: 201 {id, success, errors}; GET returns every field', async () => {
    const r = await api(`${V}/sobjects/Contact`, { body: { FirstName: 'Kim', LastName: 'Lee', Email: 'kim@example.com', Phone: '(222) 333-4444' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(/^003\w{15}$/), success: true, errors: [] });
    const got = await api(`${V}/sobjects/Contact/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${r.body.id}` },
      Id: r.body.id,
      IsDeleted: false,
      FirstName: 'Kim',
      LastName: 'Lee',
      Name: 'Kim Lee',
      Email: 'kim@example.com',
      Phone: '(222) 333-4444',
      MobilePhone: null,
      OwnerId: expect.stringMatching(/^005/),
      CreatedDate: '2024-05-01T10:00:00.000+0000',
    });
    const some = await api(`${V}/sobjects/Contact/${r.body.id}?fields=Name,Phone`);
    expect(some.body).toEqual({ attributes: got.body.attributes, Name: 'Kim Lee', Phone: '(222) 333-4444' });
  });

  it('missing LastName → 400 REQUIRED_FIELD_MISSING, exactly', async () => {
    const r = await api(`${V}/sobjects/Contact`, { body: { FirstName: 'Kim', Email: 'kim@example.com' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual([{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }]);
    expect(running.crm.state.Contact).toHaveLength(0);
  });

  it.each([
    [
      'a bad email',
      { LastName: 'X', Email: 'not-an-email' },
      [{ message: 'Email: invalid email address: not-an-email', errorCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] }],
    ],
    [
      'an unknown field',
      { LastName: 'X', Shoe_Size__c: 42 },
      [{ message: "No such column 'Shoe_Size__c' on sobject of type Contact", errorCode: 'INVALID_FIELD' }],
    ],
    [
      'a read-only field',
      { LastName: 'X', Name: 'Y' },
      [
        {
          message:
            'Unable to create/update fields: Name. Please check the security settings of this field and verify that it is read/write for your profile or permission set.',
          errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
          fields: ['Name'],
        },
      ],
    ],
    [
      'a value too long',
      { LastName: 'x'.repeat(81) },
      [{ message: expect.stringMatching(/^Last Name: data value too large: x+\.\.\. \(max length=80\)$/), errorCode: 'STRING_TOO_LONG', fields: ['LastName'] }],
    ],
  ])('Contact with %s → 400', async (_label, body, errors) => {
    const r = await api(`${V}/sobjects/Contact`, { body });
    expect(r.status).toBe(400);
    expect(r.body).toEqual(errors);
  });

  it('malformed JSON → 400 JSON_PARSER_ERROR; unknown object, id, route and version → 404 NOT_FOUND', async () => {
    const bad = await api(`${V}/sobjects/Contact`, { body: '{"LastName":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body[0].errorCode).toBe('JSON_PARSER_ERROR');
    const notFound = [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];
    const c = running.crm.seedContact({ LastName: 'X' });
    const kase = running.crm.seedCase({ Subject: 'S' });
    for (const path of [
      `${V}/sobjects/Contact/003Dn0000000000AAA`,
      `${V}/sobjects/Contact/${kase.Id}`, // a Case id under Contact
      `${V}/sobjects/Contact/abc`,
      `${V}/sobjects/Account/${c.Id}`,
      `${V}/nothing-here`,
      `/services/data/v99.0/sobjects/Contact/${c.Id}`,
    ]) {
      const r = await api(path);
      expect([path, r.status, r.body]).toEqual([path, 404, notFound]);
    }
  });

  it('Case: defaults, link to the Contact, PATCH → 204, Status Closed sets IsClosed/ClosedDate', async () => {
    const contact = running.crm.seedContact({ LastName: 'Lee' });
    const created = await api(`${V}/sobjects/Case`, { body: { Subject: 'Call', Description: 'Long text', Origin: 'Phone', ContactId: contact.Id } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(id).toMatch(/^500/);
    expect(running.crm.recordById(id)).toMatchObject({ Status: 'New', Priority: 'Medium', IsClosed: false, ContactId: contact.Id, CaseNumber: '00001001' });
    clock.advance(60_000);
    const patched = await api(`${V}/sobjects/Case/${id}`, { method: 'PATCH', body: { Status: 'Closed', Subject: 'Billing' } });
    expect(patched.status).toBe(204);
    expect(patched.raw.length).toBe(0);
    const got = await api(`${V}/sobjects/Case/${id}`);
    expect(got.body).toMatchObject({
      Status: 'Closed',
      Subject: 'Billing',
      IsClosed: true,
      ClosedDate: '2024-05-01T10:01:00.000+0000',
      LastModifiedDate: '2024-05-01T10:01:00.000+0000',
    });
    const open = await query(`SELECT Id FROM Case WHERE ContactId = '${contact.Id}' AND IsClosed = false`);
    expect(open.body.totalSize).toBe(0);
  });

  it.each([
    [
      'Status outside the picklist',
      { Status: 'Open' },
      [{ message: 'Status: bad value for restricted picklist field: Open', errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['Status'] }],
    ],
    [
      'Origin outside the picklist',
      { Origin: 'Fax' },
      [{ message: 'Case Origin: bad value for restricted picklist field: Fax', errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['Origin'] }],
    ],
    [
      'a malformed ContactId',
      { ContactId: 'abc' },
      [{ message: 'Contact ID: id value of incorrect type: abc', errorCode: 'MALFORMED_ID', fields: ['ContactId'] }],
    ],
    [
      'a Case id as ContactId',
      { ContactId: '500Dn0000000000AAA' },
      [{ message: 'Contact ID: id value of incorrect type: 500Dn0000000000AAA', errorCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['ContactId'] }],
    ],
    [
      'an unknown ContactId',
      { ContactId: '003Dn0000000000AAA' },
      [{ message: 'invalid cross reference id', errorCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['ContactId'] }],
    ],
  ])('Case with %s → 400', async (_label, body, errors) => {
    const r = await api(`${V}/sobjects/Case`, { body: { Subject: 'S', ...body } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual(errors);
  });

  it('PATCH of an unknown id → 404; of a read-only field → 400', async () => {
    expect((await api(`${V}/sobjects/Case/500Dn0000000000AAA`, { method: 'PATCH', body: { Subject: 'x' } })).status).toBe(404);
    const kase = running.crm.seedCase({ Subject: 'S' });
    const r = await api(`${V}/sobjects/Case/${kase.Id}`, { method: 'PATCH', body: { CaseNumber: '1' } });
    expect(r.status).toBe(400);
    expect(r.body[0].errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
  });

  it('CaseComment on a Case; ParentId required; queryable by ParentId', async () => {
    const kase = running.crm.seedCase({ Subject: 'S' });
    const r = await api(`${V}/sobjects/CaseComment`, { body: { ParentId: kase.Id, CommentBody: 'Called back', IsPublished: false } });
    expect(r.status).toBe(201);
    expect(r.body.id).toMatch(/^00a/);
    expect(running.crm.state.CaseComment[0]).toMatchObject({ ParentId: kase.Id, CommentBody: 'Called back', IsPublished: false });
    const missing = await api(`${V}/sobjects/CaseComment`, { body: { CommentBody: 'orphan' } });
    expect(missing.body).toEqual([{ message: 'Required fields are missing: [ParentId]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['ParentId'] }]);
    const found = await query(`SELECT Id, CommentBody, IsPublished FROM CaseComment WHERE ParentId = '${kase.Id}'`);
    expect(found.body.records).toEqual([
      { attributes: { type: 'CaseComment', url: `${V}/sobjects/CaseComment/${r.body.id}` }, Id: r.body.id, CommentBody: 'Called back', IsPublished: false },
    ]);
  });

  it('DELETE → 204, then 404 ENTITY_IS_DELETED', async () => {
    const c = running.crm.seedContact({ LastName: 'Gone' });
    expect((await api(`${V}/sobjects/Contact/${c.Id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await api(`${V}/sobjects/Contact/${c.Id}`)).toMatchObject({ status: 404, body: [{ errorCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' }] });
  });

  it('unsupported method → 405; describe lists fields with picklists', async () => {
    const r = await api(`${V}/sobjects/Contact`, { method: 'PUT', body: {} });
    expect(r.status).toBe(405);
    expect(r.body[0].errorCode).toBe('METHOD_NOT_ALLOWED');
    const d = await api(`${V}/sobjects/Case/describe`);
    expect(d.body.fields.find((f: Json) => f.name === 'Status')).toMatchObject({
      type: 'picklist',
      restrictedPicklist: true,
      picklistValues: ['New', 'Working', 'Escalated', 'Closed'].map((v) => expect.objectContaining({ value: v })),
    });
  });
});

describe('files (ContentVersion)', () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  it('base64 JSON upload, read back byte for byte; metadata like Salesforce', async () => {
    const kase = running.crm.seedCase({ Subject: 'S' });
    const r = await api(`${V}/sobjects/ContentVersion`, {
      body: { Title: 'call-1', PathOnClient: 'call-1.mp3', VersionData: bytes.toString('base64'), FirstPublishLocationId: kase.Id },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(/^068\w{15}$/), success: true, errors: [] });
    const meta = await api(`${V}/sobjects/ContentVersion/${r.body.id}`);
    expect(meta.body).toMatchObject({
      Title: 'call-1',
      PathOnClient: 'call-1.mp3',
      FileExtension: 'mp3',
      FileType: 'MP3',
      ContentSize: 256,
      Checksum: createHash('md5').update(bytes).digest('hex'),
      VersionNumber: '1',
      IsLatest: true,
      ContentDocumentId: expect.stringMatching(/^069/),
      FirstPublishLocationId: kase.Id,
      VersionData: `${V}/sobjects/ContentVersion/${r.body.id}/VersionData`,
    });
    const data = await api(meta.body.VersionData);
    expect(data.status).toBe(200);
    expect(data.headers.get('content-type')).toContain('application/octetstream');
    expect(data.raw.equals(bytes)).toBe(true);
  });

  it('multipart upload (entity_content + VersionData part)', async () => {
    const form = new FormData();
    form.append('entity_content', new Blob([JSON.stringify({ PathOnClient: 'transcript.txt' })], { type: 'application/json' }));
    form.append('VersionData', new Blob([bytes], { type: 'text/plain' }), 'transcript.txt');
    const r = await api(`${V}/sobjects/ContentVersion`, { body: form });
    expect(r.status).toBe(201);
    const v = running.crm.recordById(r.body.id) as Json;
    expect(v.Title).toBe('transcript');
    expect(Buffer.compare(v.VersionData, bytes)).toBe(0);
  });

  it('missing VersionData / PathOnClient → REQUIRED_FIELD_MISSING; bad base64 → JSON_PARSER_ERROR', async () => {
    const missing = await api(`${V}/sobjects/ContentVersion`, { body: { Title: 't' } });
    expect(missing.body).toEqual([
      { message: 'Required fields are missing: [PathOnClient, VersionData]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['PathOnClient', 'VersionData'] },
    ]);
    const bad = await api(`${V}/sobjects/ContentVersion`, { body: { PathOnClient: 'a.txt', VersionData: '***' } });
    expect(bad.status).toBe(400);
    expect(bad.body[0].errorCode).toBe('JSON_PARSER_ERROR');
  });
});

describe('faults and the request log', () => {
  it('a rate-limit fault answers 429 with Retry-After and Salesforce’s body, then the API works again', async () => {
    running.crm.injectFault(salesforceRateLimitFault({ retryAfter: 7 }));
    const limited = await query('SELECT Id FROM Contact');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    expect((await query('SELECT Id FROM Contact')).status).toBe(200);
    const log = running.crm.requests;
    expect(log.map((e) => [e.path, e.status, e.faultId !== undefined])).toEqual([
      ['/services/oauth2/token', 200, false],
      [`${V}/query`, 429, true],
      [`${V}/query`, 200, false],
    ]);
    expect(log[2].auth).toMatchObject({ method: 'bearer' });
  });

  it('the control API works for this flavour', async () => {
    running.crm.seedContact({ LastName: 'Snap' });
    const state = (await (await fetch(`${running.url}/__control/state`)).json()) as Json;
    expect(state.Contact[0]).toMatchObject({ LastName: 'Snap' });
    const fault = await fetch(`${running.url}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: `${V}/sobjects/Contact`, status: 503, body: [{ message: 'down', errorCode: 'SERVER_UNAVAILABLE' }] }),
    });
    expect(fault.status).toBe(201);
    expect((await api(`${V}/sobjects/Contact`, { body: { LastName: 'X' } })).status).toBe(503);
  });
});
