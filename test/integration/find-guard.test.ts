/**
 * Finding: a find returned a stranger. A CRM that ignores a search filter it does not support
 * returns every user (unordered, without created_at); the gateway took the first and wrote
 * the call onto that stranger's ticket. With the find guard (match:) the find returns the
 * caller, not found, or a visible ambiguous_match, never a stranger.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

// The bundled connector without any find guard: what an integrator has before adding match:.
const unguarded = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-unguarded')
  .replace(/^( {4}| {8})(match|on_several_matches):.*\n/gm, '');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'unguarded.yaml': unguarded } });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => h.crm.crm.reset());

const ignoreSearchFilter = () => h.crm.crm.injectFault({ method: 'GET', path: '/api/v2/search', ignoreFilter: true, always: true });

function seedStrangers(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const user = h.crm.crm.seedUser({ name: `Stranger ${i}`, phone: `+1 555 010 00${10 + i}`, email: `stranger${i}@example.com` });
    h.crm.crm.seedTicket({ requester_id: user.id, subject: `Stranger ${i}'s problem`, status: 'open' });
    out.push(user);
  }
  return out;
}

test('the fault: the sample CRM returns every user, unordered and without created_at', async () => {
  seedStrangers(3);
  ignoreSearchFilter();
  const res = await fetch(`${h.crm.url}/api/v2/search.json?query=${encodeURIComponent('type:user phone:*222*333*4444')}&sort_by=created_at`, {
    headers: { 'X-Api-Key': 'sample-key' },
  });
  const body = (await res.json()) as any;
  expect(body.results.map((u: any) => u.name)).toEqual(['Stranger 0', 'Stranger 1', 'Stranger 2']);
  expect(body.results[0].created_at).toBeUndefined();
});

test('find_account returns the caller, not the first stranger', async () => {
  seedStrangers(3);
  const caller = h.crm.crm.seedUser({ name: 'Kim Caller', phone: '+1 222 333 4444', email: 'kim@example.com' });
  ignoreSearchFilter();
  const r = await h.op('find_account', { PHONE_NUMBER: '(222) 333-4444' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: caller.id }, matches: 1, dropped_matches: 3 });
  // Not silent: the log says the CRM returned results that are not the caller.
  expect(h.logs.some((l) => l.includes('find guard dropped') && l.includes('"dropped_matches":3'))).toBe(true);
});

test('a caller the CRM does not have is not found (the strangers are dropped)', async () => {
  seedStrangers(3);
  ignoreSearchFilter();
  const r = await h.op('find_account', { PHONE_NUMBER: '(222) 333-4444' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ outcome: 'not_found', ids: {}, dropped_matches: 3 });
});

test("find_record returns the caller's ticket, not a stranger's", async () => {
  seedStrangers(2);
  const caller = h.crm.crm.seedUser({ name: 'Kim Caller', phone: '+1 222 333 4444' });
  const ticket = h.crm.crm.seedTicket({ requester_id: caller.id, subject: 'Kim', status: 'open' });
  ignoreSearchFilter();
  const r = await h.op('find_record', { ACCOUNT_ID: caller.id });
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { RECORD_ID: ticket.id } });
});

test('without a guard, several unordered matches are a visible ambiguous_match naming the YAML line', async () => {
  seedStrangers(3);
  ignoreSearchFilter();
  const r = await h.op('find_account', { PHONE_NUMBER: '(222) 333-4444' }, { connector: 'zd-unguarded' });
  expect(r.status).toBe(409);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ code: 'ambiguous_match', operation: 'find_account', matches: 3, yaml_line: expect.any(Number) });
  expect(r.body.detail).toMatch(/3 matches.*no sort field.*endpoints\.find_account near line \d+.*match.*sort_by.*on_several_matches/);
});

test("a session does not go onto a stranger's ticket", async () => {
  const strangers = seedStrangers(3);
  ignoreSearchFilter();
  const post = (body: unknown) =>
    fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/guard-1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post({
    type: 'Session_Started',
    event_id: 'g1',
    data: {
      call_id: 501,
      session_type: 'IVR_Call',
      channel: 'voice_call',
      queue_name: 'Billing',
      end_user: { name: 'Kim Caller', phone: '+1 222 333 4444', email: 'kim@example.com' },
    },
  });
  await post({ type: 'End_Call', event_id: 'g2', data: { call_id: 501, call_duration: 10 } });
  let view: any;
  for (let i = 0; i < 300; i++) {
    view = (await h.get('/v1/connectors/zendesk/sessions/guard-1')).body;
    const counts = await h.gw.store.counts();
    if (view.steps?.length && view.steps.every((s: any) => ['delivered', 'dead', 'cancelled'].includes(s.status)) && counts.pending + counts.running === 0)
      break;
    await new Promise((res) => setTimeout(res, 30));
  }
  const strangerIds = new Set(strangers.map((s) => s.id));
  const strangerTickets = new Set(h.crm.crm.state.tickets.filter((t) => strangerIds.has(t.requester_id!)).map((t) => t.id));
  expect(strangerIds.has(view.account_id)).toBe(false);
  expect(strangerTickets.has(view.record_id)).toBe(false);
  // No comment of this session landed on a stranger's ticket.
  expect(h.crm.crm.state.comments.filter((c) => strangerTickets.has(c.ticket_id) && /guard-1|501/.test(c.body))).toEqual([]);
});

test('in a session, an ambiguous find is a dead step with the reason and the YAML line, not a write on a stranger', async () => {
  seedStrangers(3);
  ignoreSearchFilter();
  const post = (body: unknown) =>
    fetch(`${h.gw.url}/v1/connectors/zd-unguarded/sessions/guard-2/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post({
    type: 'Session_Started',
    event_id: 'a1',
    data: { call_id: 502, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Kim Caller', phone: '+1 222 333 4444' } },
  });
  let account: any;
  for (let i = 0; i < 300; i++) {
    const view = (await h.get('/v1/connectors/zd-unguarded/sessions/guard-2')).body;
    account = view.steps?.find((s: any) => s.name === 'account');
    if (account && ['delivered', 'dead'].includes(account.status)) break;
    await new Promise((res) => setTimeout(res, 30));
  }
  expect(account).toMatchObject({ status: 'dead', last_error: { code: 'ambiguous_match' } });
  expect(account.last_error.message).toMatch(/find_account: 3 matches .*near line \d+/);
  expect(h.crm.crm.state.users).toHaveLength(3);
});
