/**
 * Fallback searches (config/zendesk.yaml find_account: by phone, then e-mail, then SDK id):
 * the first search that finds the caller wins and is shown as matched_by; a search whose
 * variables are all empty is skipped. A returning customer with a new phone is found by
 * e-mail instead of getting a second account.
 */
import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => h.crm.crm.reset());

const searches = () => h.crm.crm.requests.filter((r) => r.method === 'GET' && r.path.includes('search')).map((r) => r.query);

test('found by phone: one search, matched_by phone', async () => {
  const kim = h.crm.crm.seedUser({ name: 'Kim', phone: '+1 222 333 4444', email: 'kim@example.com' });
  const r = await h.op('find_account', { PHONE_NUMBER: '222-333-4444', EMAIL: 'kim@example.com' });
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: kim.id }, matched_by: 'phone' });
  expect(searches()).toHaveLength(1);
});

test('a returning customer with a new phone is found by e-mail', async () => {
  const kim = h.crm.crm.seedUser({ name: 'Kim', phone: '+1 222 333 4444', email: 'kim@example.com' });
  const r = await h.op('find_account', { PHONE_NUMBER: '+1 777 888 9999', EMAIL: 'Kim@Example.com' });
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: kim.id }, matched_by: 'email' });
  expect(searches()).toEqual([
    expect.objectContaining({ query: 'type:user phone:*777*888*9999' }),
    expect.objectContaining({ query: 'type:user email:Kim@Example.com' }),
  ]);
});

test('searches whose variables are all empty are skipped: only the SDK id is known', async () => {
  const kim = h.crm.crm.seedUser({ name: 'Kim', external_id: 'sdk-42' });
  const r = await h.op('find_account', { SDK_IDENTIFIER: 'sdk-42' });
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: kim.id }, matched_by: 'sdk_identifier' });
  expect(h.crm.crm.requests.map((x) => x.path)).toEqual(['/api/v2/users/search.json']);
});

test('nobody found: not_found, with the searches that ran', async () => {
  const r = await h.op('find_account', { PHONE_NUMBER: '+1 222 333 4444', EMAIL: 'new@example.com' });
  expect(r.body).toMatchObject({ outcome: 'not_found', ids: {}, searched_by: ['phone', 'email'] });
});

test('dry run shows the searches that would run', async () => {
  const r = await h.op('find_account', { EMAIL: 'kim@example.com', SDK_IDENTIFIER: 'sdk-1' }, { query: '?dry_run=true' });
  expect(r.body.outcome).toBe('dry_run');
  expect(r.body.requests.map((x: any) => x.search)).toEqual(['email', 'sdk_identifier']);
});

test('a session of a returning customer with a new phone goes onto the existing account', async () => {
  const kim = h.crm.crm.seedUser({ name: 'Kim', phone: '+1 222 333 4444', email: 'kim@example.com' });
  const post = (body: unknown) =>
    fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/returning-1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post({
    type: 'Session_Started',
    event_id: 'r1',
    data: {
      call_id: 601,
      session_type: 'IVR_Call',
      channel: 'voice_call',
      queue_name: 'Billing',
      end_user: { name: 'Kim', phone: '+1 777 888 9999', email: 'kim@example.com' },
    },
  });
  let view: any;
  for (let i = 0; i < 300; i++) {
    view = (await h.get('/v1/connectors/zendesk/sessions/returning-1')).body;
    if (view.account_id !== undefined && view.account_id !== null) break;
    await new Promise((res) => setTimeout(res, 30));
  }
  expect(view.account_id).toBe(kim.id);
  expect(h.crm.crm.state.users).toHaveLength(1);
});
