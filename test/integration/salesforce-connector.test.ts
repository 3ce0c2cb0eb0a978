/**
 * Every operation of the bundled config/salesforce.yaml, end to end over loopback HTTP:
 * platform → gateway → Salesforce-like sample CRM, asserting on what the CRM now holds.
 * OAuth is client credentials: the gateway fetches the token itself on first use.
 */
import type { SampleCrm } from '../../src/sample-crm';
import { salesforceRateLimitFault, type SalesforceContentVersion } from '../../src/sample-crm/salesforce';
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
let crm: SampleCrm<'salesforce'>;
beforeAll(async () => {
  h = await startHarness({ connectors: { 'salesforce.yaml': bundled('salesforce.yaml') }, crm: { flavor: 'salesforce' }, env: { SALESFORCE_URL: '{{CRM}}' } });
  crm = h.crm.crm as unknown as SampleCrm<'salesforce'>;
});
afterAll(async () => {
  await h.close();
});

const op = (operation: string, variables: Record<string, unknown> = {}, query?: string) => h.op(operation, variables, { connector: 'salesforce', query });
const lastQuery = (): string => {
  const q = crm.requests.filter((r) => r.path === '/services/data/v59.0/query').at(-1)!.query.q;
  return String(q);
};
const SELECT = 'SELECT Id, Name, Phone, Email, CreatedDate FROM Contact WHERE Id = null';
const CALLER = { NAME: 'Kim Lee', PHONE_NUMBER: '+1 222 333 4444', EMAIL: 'kim@example.com' };
const BYTES = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));

describe('account → record → update/comment/upload against the Salesforce-like CRM', () => {
  let accountId: string;
  let recordId: string;

  test('the connector loads without errors', async () => {
    const r = await h.get('/v1/connectors/salesforce');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'valid', errors: [] });
  });

  test('find_account: no match yet → not_found; the token came from the client credentials flow', async () => {
    const r = await op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER, EMAIL: CALLER.EMAIL });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'not_found', ids: {} });
    // The SOQL built by the nested CONCAT_OR, phone in the us_local_standard search format.
    expect(lastQuery()).toBe(`${SELECT} or Phone = '(222) 333-4444' or Email = 'kim@example.com'`);
    const tokenCall = crm.requests.find((x) => x.path === '/services/oauth2/token')!;
    expect(tokenCall.body).toMatchObject({ grant_type: 'client_credentials', client_id: 'sample-client', client_secret: 'sample-secret' });
    expect(crm.state.tokens.issued.client_credentials).toBe(1);
    expect(crm.requests.at(-1)!.headers.authorization).toMatch(/^Bearer \S+$/);
  });

  test('find_account: arguments whose variables are missing are left out; with none the query matches nothing', async () => {
    await op('find_account', { EMAIL: CALLER.EMAIL });
    expect(lastQuery()).toBe(`${SELECT} or Email = 'kim@example.com'`);
    const none = await op('find_account', {});
    expect(none.body.outcome).toBe('not_found');
    expect(lastQuery()).toBe(SELECT);
  });

  test('create_account: properties body, phone as (222) 333-4444, 18-character id', async () => {
    const r = await op('create_account', CALLER);
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    accountId = r.body.ids.ACCOUNT_ID;
    expect(accountId).toMatch(/^003[A-Za-z0-9]{15}$/);
    expect(crm.requests.at(-1)!.body).toEqual({ FirstName: 'Kim', LastName: 'Lee', Phone: '(222) 333-4444', Email: 'kim@example.com' });
    expect(crm.recordById(accountId)).toMatchObject({ Name: 'Kim Lee', Phone: '(222) 333-4444', Email: 'kim@example.com' });
  });

  test('create_account without a name: LastName "--" (Salesforce requires one)', async () => {
    const r = await op('create_account', { PHONE_NUMBER: '(555) 010-0000' });
    expect(r.body.outcome).toBe('ok');
    expect(crm.recordById(r.body.ids.ACCOUNT_ID)).toMatchObject({ LastName: '--', FirstName: null, Phone: '(555) 010-0000' });
  });

  test('find_account: found by phone written in another format, and by email', async () => {
    const byPhone = await op('find_account', { PHONE_NUMBER: '222.333.4444' });
    expect(byPhone.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 1, data: { Id: accountId, Name: 'Kim Lee' } });
    const byEmail = await op('find_account', { EMAIL: 'KIM@example.com' });
    expect(byEmail.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId } });
  });

  test('find_account: several matches → the most recently created (sort_by CreatedDate)', async () => {
    const older = crm.seedContact({ LastName: 'Old Kim', Phone: '(222) 333-4444', createdAt: Date.parse('2020-01-01T00:00:00Z') });
    const r = await op('find_account', { PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, matches: 2 });
    expect(older.Id).not.toBe(accountId);
  });

  test('find_account_by_id: a known id, the 15-character form too', async () => {
    for (const id of [accountId, accountId.slice(0, 15)]) {
      const r = await op('find_account_by_id', { ACCOUNT_ID: id });
      expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: accountId }, data: { Name: 'Kim Lee', Phone: '(222) 333-4444' } });
      expect(r.body.fallback).toBeUndefined();
    }
    expect(crm.requests.at(-1)!.query).toEqual({ fields: 'Id,Name,Phone,Email,CreatedDate' });
  });

  test('find_account_by_id: unknown or deleted id → 404 → falls back to find_account', async () => {
    const r = await op('find_account_by_id', { ACCOUNT_ID: '003Dn0000000000AAA', PHONE_NUMBER: CALLER.PHONE_NUMBER });
    expect(r.body).toMatchObject({ outcome: 'ok', fallback: 'find_account', ids: { ACCOUNT_ID: accountId } });
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([404, 200]);
    const gone = crm.seedContact({ LastName: 'Gone' });
    await fetch(`${h.crm.url}/services/data/v59.0/sobjects/Contact/${gone.Id}`, {
      method: 'DELETE',
      headers: { authorization: crm.requests.at(-1)!.headers.authorization as string },
    });
    const deleted = await op('find_account_by_id', { ACCOUNT_ID: gone.Id, EMAIL: CALLER.EMAIL });
    expect(deleted.body).toMatchObject({ outcome: 'ok', fallback: 'find_account', ids: { ACCOUNT_ID: accountId } });
  });

  test('find_record: the contact has no open Case yet', async () => {
    const r = await op('find_record', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'not_found' });
    expect(lastQuery()).toBe(`SELECT Id, CaseNumber, Subject, Status, CreatedDate, ContactId FROM Case WHERE ContactId = '${accountId}' AND IsClosed = false`);
  });

  test('find_record / create_record need ACCOUNT_ID → 422 before anything is sent', async () => {
    const before = crm.requests.length;
    for (const name of ['find_record', 'create_record']) {
      const r = await op(name, { PHONE_NUMBER: CALLER.PHONE_NUMBER });
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('missing_variable');
    }
    expect(crm.requests.length).toBe(before);
  });

  test('create_record: a Case linked to the contact, handlebars description', async () => {
    const r = await op('create_record', {
      ACCOUNT_ID: accountId,
      PHONE_NUMBER: CALLER.PHONE_NUMBER,
      SESSION_ID: 'call-1',
      SESSION_TYPE: 'IVR_Call',
      QUEUE_NAME: 'Billing',
    });
    expect(r.body.outcome).toBe('ok');
    recordId = r.body.ids.RECORD_ID;
    expect(recordId).toMatch(/^500[A-Za-z0-9]{15}$/);
    const kase = crm.recordById(recordId)!;
    expect(kase).toMatchObject({ Subject: 'Call from (222) 333-4444', ContactId: accountId, Status: 'New', Origin: 'Phone', IsClosed: false });
    expect((kase as { Description: string }).Description).toContain('Session: call-1 (IVR_Call)');
    expect((kase as { Description: string }).Description).toContain('Queue: Billing');
  });

  test('find_record: the open Case of the contact', async () => {
    const r = await op('find_record', { ACCOUNT_ID: accountId });
    expect(r.body).toMatchObject({ outcome: 'ok', ids: { RECORD_ID: recordId }, data: { Status: 'New', CaseNumber: expect.any(String) } });
  });

  test('update_record: PATCH → 204, subject and description changed', async () => {
    const r = await op('update_record', { RECORD_ID: recordId, TICKET_SUBJECT: 'Billing question', TICKET_DESCRIPTION: 'Caller asked about invoice 7' });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    expect(r.body.attempts.at(-1)).toMatchObject({ status: 204 });
    expect(crm.recordById(recordId)).toMatchObject({ Subject: 'Billing question', Description: 'Caller asked about invoice 7' });
  });

  test('update_record on an unknown Case → the CRM 404 is a final failure', async () => {
    const r = await op('update_record', { RECORD_ID: '500Dn0000000000AAA', TICKET_SUBJECT: 'x' });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 404 });
    expect(r.body.crm_body).toContain('NOT_FOUND');
  });

  test('add_comment: an internal CaseComment on the Case', async () => {
    const r = await op('add_comment', { RECORD_ID: recordId, COMMENT_BODY: 'Rating 5/5 — thanks!' });
    expect(r.body.outcome).toBe('ok');
    expect(r.body.ids.COMMENT_ID).toMatch(/^00a/);
    expect(crm.recordById(r.body.ids.COMMENT_ID)).toMatchObject({ ParentId: recordId, CommentBody: 'Rating 5/5 — thanks!', IsPublished: false });
  });

  test('upload_file (FILE_DATA): ContentVersion on the Case, bytes exact, attachment id + URL, comment with the link', async () => {
    const r = await op('upload_file', { RECORD_ID: recordId, FILE_NAME: 'call-1.mp3', FILE_KIND: 'call_recording', FILE_DATA: BYTES.toString('base64') });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ok');
    const attachmentId = r.body.ids.ATTACHMENT_ID;
    expect(attachmentId).toMatch(/^068/);
    expect(r.body.ids.ATTACHMENT_URL).toBe(`${h.crm.url}/services/data/v59.0/sobjects/ContentVersion/${attachmentId}/VersionData`);
    const version = crm.recordById(attachmentId) as SalesforceContentVersion;
    expect(version).toMatchObject({
      Title: 'call-1.mp3',
      PathOnClient: 'call-1.mp3',
      FileType: 'MP3',
      FirstPublishLocationId: recordId,
      ContentSize: BYTES.length,
    });
    expect(version.VersionData.equals(BYTES)).toBe(true);
    // The link serves the bytes (relative to the instance, with a session).
    const auth = crm.requests.at(-1)!.headers.authorization as string;
    const served = await fetch(r.body.ids.ATTACHMENT_URL, { headers: { authorization: auth } });
    expect(Buffer.from(await served.arrayBuffer()).equals(BYTES)).toBe(true);
    // Then the comment with the link.
    expect(r.body.follow_up).toMatchObject({ operation: 'add_comment', outcome: 'ok' });
    const comment = crm.recordById(r.body.follow_up.ids.COMMENT_ID)!;
    expect(comment).toMatchObject({ ParentId: recordId, CommentBody: `call_recording call-1.mp3: ${r.body.ids.ATTACHMENT_URL}` });
  });

  test('upload_file (multipart to the gateway): the file is base64-encoded into VersionData', async () => {
    const form = new FormData();
    form.append('file', new Blob([BYTES], { type: 'text/plain' }), 'chat.txt');
    form.append('variables', JSON.stringify({ RECORD_ID: recordId, FILE_KIND: 'chat_transcript' }));
    const res = await fetch(`${h.gw.url}/v1/connectors/salesforce/operations/upload_file`, { method: 'POST', body: form });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    const version = crm.recordById(body.ids.ATTACHMENT_ID) as SalesforceContentVersion;
    expect(version).toMatchObject({ PathOnClient: 'chat.txt', FileType: 'TEXT', FirstPublishLocationId: recordId });
    expect(version.VersionData.equals(BYTES)).toBe(true);
    expect(
      crm.requests.find((x) => x.path.endsWith('/ContentVersion') && x.method === 'POST' && (x.body as { PathOnClient?: string }).PathOnClient === 'chat.txt')!
        .body,
    ).toMatchObject({ VersionData: BYTES.toString('base64') });
  });

  test('find_record: a closed Case is not reused', async () => {
    crm.seedCase({ ContactId: accountId, Subject: 'closed', Status: 'Closed' });
    const open = await op('find_record', { ACCOUNT_ID: accountId });
    expect(open.body.ids.RECORD_ID).toBe(recordId);
    const patched = await fetch(`${h.crm.url}/services/data/v59.0/sobjects/Case/${recordId}`, {
      method: 'PATCH',
      headers: { authorization: crm.requests.at(-1)!.headers.authorization as string, 'content-type': 'application/json' },
      body: JSON.stringify({ Status: 'Closed' }),
    });
    expect(patched.status).toBe(204);
    expect((await op('find_record', { ACCOUNT_ID: accountId })).body.outcome).toBe('not_found');
  });

  test('links: Lightning record pages', async () => {
    const r = await h.get(`/v1/connectors/salesforce/links?ACCOUNT_ID=${accountId}&RECORD_ID=${recordId}`);
    expect(r.status).toBe(200);
    expect(r.body.links).toMatchObject({
      account: `${h.crm.url}/lightning/r/Contact/${accountId}/view`,
      record: `${h.crm.url}/lightning/r/Case/${recordId}/view`,
    });
  });
});

describe('sessions and limits', () => {
  test('an expired session (401 INVALID_SESSION_ID) → one new token, one resend', async () => {
    const issued = crm.state.tokens.issued.client_credentials;
    crm.expireAllTokens();
    const r = await op('find_account', { EMAIL: CALLER.EMAIL });
    expect(r.body.outcome).toBe('ok');
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([401, 200]);
    expect(crm.state.tokens.issued.client_credentials).toBe(issued + 1);
  });

  test('idle timeout: a session unused for longer than the timeout is renewed the same way', async () => {
    crm.setSessionTimeout(1);
    try {
      expect((await op('find_account', { EMAIL: CALLER.EMAIL })).body.outcome).toBe('ok');
      const issued = crm.state.tokens.issued.client_credentials;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const r = await op('find_account', { EMAIL: CALLER.EMAIL });
      expect(r.body.outcome).toBe('ok');
      expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([401, 200]);
      expect(crm.state.tokens.issued.client_credentials).toBe(issued + 1);
    } finally {
      crm.setSessionTimeout(null);
    }
  });

  test('a rate limit (429 + Retry-After) reaches the caller with Salesforce’s body', async () => {
    crm.injectFault(salesforceRateLimitFault({ retryAfter: 12, path: '/services/data/v59.0/query' }));
    const r = await op('find_account', { EMAIL: CALLER.EMAIL });
    expect(r.body).toMatchObject({ crm_status: 429 });
    expect(r.body.crm_body).toContain('REQUEST_LIMIT_EXCEEDED');
  });

  test('dry run shows the SOQL and masks the session', async () => {
    const r = await op('find_account', { PHONE_NUMBER: '2223334444' }, '?dry_run=true');
    expect(r.body.outcome).toBe('dry_run');
    const url = new URL(r.body.requests[0].url);
    expect(url.searchParams.get('q')).toBe(`${SELECT} or Phone = '(222) 333-4444'`);
    expect(r.body.requests[0].headers.Authorization).toBe('Bearer ****');
  });
});

test("a SOQL filter the CRM ignores does not return a stranger or a stranger's case (find guard)", async () => {
  const strangers = [0, 1, 2].map((i) => crm.seedContact({ LastName: `Stranger${i}`, Phone: `+1 555 040 00${10 + i}`, Email: `stranger${i}@example.com` }));
  strangers.forEach((s) => crm.seedCase({ ContactId: s.Id, Subject: 'not yours', Status: 'New' }));
  const caller = crm.seedContact({ LastName: 'Guarded', Phone: '+12224446666', Email: 'guarded@example.com' });
  const fault = crm.injectFault({ method: 'GET', path: '/services/data/v59.0/query', ignoreFilter: true, always: true });
  try {
    const found = await op('find_account', { PHONE_NUMBER: '(222) 444-6666' });
    expect(found.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: caller.Id }, matches: 1 });
    expect(found.body.dropped_matches).toBeGreaterThanOrEqual(3);
    const records = await op('find_record', { ACCOUNT_ID: caller.Id });
    expect(records.body).toMatchObject({ outcome: 'not_found' });
    expect(records.body.dropped_matches).toBeGreaterThanOrEqual(3);
  } finally {
    crm.removeFault(fault.id);
  }
});
