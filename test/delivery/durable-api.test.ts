/**
 * Durable writes through the HTTP API, end to end over loopback: committed before 202,
 * delivered by the worker, idempotent, ordered, dependent, replayable, cancellable, and an
 * ambiguous create that is not duplicated.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const fast = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-fast')
  .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1\nretry:\n  initial_delay_seconds: 1\n  max_delay_seconds: 2');
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'fast.yaml': fast } });
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.crm.crm.clearFaults());

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}
const delivery = (id: string) => h.get(`/v1/deliveries/${id}`).then((r) => r.body);
const settled = (id: string) =>
  until(
    () => delivery(id),
    (d) => ['delivered', 'dead', 'cancelled'].includes(d.status),
  );
const post = (path: string) => fetch(h.gw.url + path, { method: 'POST' }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

test('?async=true: 202 with the delivery, committed before the answer, then delivered', async () => {
  const r = await h.op('create_account', { NAME: 'Async Kim', EMAIL: 'async@example.com' }, { query: '?async=true' });
  expect(r.status).toBe(202);
  expect(r.headers.get('location')).toBe(`/v1/deliveries/${r.body.id}`);
  expect(r.body).toMatchObject({ status: expect.stringMatching(/pending|running|delivered/), operation: 'create_account', connector: 'zendesk' });
  expect(await h.gw.store.get(r.body.id)).toBeDefined();
  const d = await settled(r.body.id);
  expect(d).toMatchObject({ status: 'delivered', attempts: 1, result: { ids: { ACCOUNT_ID: expect.any(Number) } } });
  expect(d.history).toEqual([expect.objectContaining({ n: 1, status: 201, classification: 'ok' })]);
});

test('Prefer: respond-async works too; bad input is still a 4xx, not a dead letter', async () => {
  const ok = await h.op('create_account', { NAME: 'Prefer' }, { headers: { Prefer: 'respond-async' } });
  expect(ok.status).toBe(202);
  expect((await settled(ok.body.id)).status).toBe('delivered');
  const bad = await h.op('create_account', { NAME: 'Bad', PHONE_NUMBER: 'nope' }, { query: '?async=true' });
  expect(bad.status).toBe(422);
  expect(bad.body.code).toBe('invalid_phone_number');
});

test('Idempotency-Key: the same key returns the same delivery and the CRM gets one create', async () => {
  const before = h.crm.crm.state.users.length;
  const a = await h.op(
    'create_account',
    { NAME: 'Once Only', EMAIL: 'once@example.com' },
    { query: '?async=true', headers: { 'Idempotency-Key': 'call-77-account' } },
  );
  const b = await h.op(
    'create_account',
    { NAME: 'Once Only', EMAIL: 'once@example.com' },
    { query: '?async=true', headers: { 'Idempotency-Key': 'call-77-account' } },
  );
  expect(a.status).toBe(202);
  expect(b.status).toBe(200);
  expect(b.body).toMatchObject({ id: a.body.id, replayed: true });
  await settled(a.body.id);
  const c = await h.op('create_account', { NAME: 'Once Only', EMAIL: 'once@example.com' }, { headers: { 'Idempotency-Key': 'call-77-account' } });
  expect(c.status).toBe(200);
  expect(c.body).toMatchObject({ id: a.body.id, status: 'delivered', replayed: true });
  expect(h.crm.crm.state.users.length).toBe(before + 1);
});

test('a synchronous write with an Idempotency-Key is durable and answers with the outcome', async () => {
  const r = await h.op('create_account', { NAME: 'Sync Durable' }, { headers: { 'Idempotency-Key': 'sync-1' } });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ status: 'delivered', result: { ids: { ACCOUNT_ID: expect.any(Number) } } });
});

test('depends_on: the comment waits for the ticket and gets its RECORD_ID; same-record writes keep their order', async () => {
  const account = await h.op('create_account', { NAME: 'Ticket Owner' }, { query: '?async=true' });
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', delayMs: 300 });
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/operations/create_record?async=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ variables: { TICKET_SUBJECT: 'Ordered' }, depends_on: account.body.id }),
  });
  const record = (await res.json()) as any;
  const comments = [];
  for (const body of ['one', 'two', 'three']) {
    const r = await fetch(`${h.gw.url}/v1/connectors/zendesk/operations/add_comment?async=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { COMMENT_BODY: body }, depends_on: record.id }),
    });
    comments.push((await r.json()) as any);
  }
  for (const c of comments) expect(await settled(c.id)).toMatchObject({ status: 'delivered' });
  const recordId = (await delivery(record.id)).result.ids.RECORD_ID;
  const bodies = h.crm.crm.state.comments.filter((c) => c.ticket_id === recordId).map((c) => c.body);
  expect(bodies.slice(1)).toEqual(['one', 'two', 'three']);
});

test('a final CRM error makes the write dead; replay after the fix delivers it', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 422, body: { error: 'RecordInvalid' } });
  const r = await h.op('create_account', { NAME: 'Replay Me' }, { query: '?async=true' });
  const dead = await settled(r.body.id);
  expect(dead).toMatchObject({ status: 'dead', last_error: { code: 'crm_request_failed', crm_status: 422 } });
  expect((await h.get('/v1/deliveries?status=dead')).body.deliveries.map((d: { id: string }) => d.id)).toContain(r.body.id);
  const replay = await post(`/v1/deliveries/${r.body.id}/retry`);
  expect(replay).toMatchObject({ status: 200, body: { status: 'pending' } });
  expect(await settled(r.body.id)).toMatchObject({ status: 'delivered', attempts: 2 });
  expect((await post(`/v1/deliveries/${r.body.id}/retry`)).status).toBe(409);
});

test('400 is retried with backoff; a pending write can be cancelled', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 400, always: true });
  const r = await h.op('create_account', { NAME: 'Cancel Me' }, { query: '?async=true' });
  const waiting = await until(
    () => delivery(r.body.id),
    (d) => d.status === 'pending' && d.attempts >= 1,
  );
  expect(waiting).toMatchObject({ status: 'pending', last_error: { crm_status: 400 }, next_attempt_at: expect.any(String) });
  const cancelled = await post(`/v1/deliveries/${r.body.id}/cancel`);
  expect(cancelled.body.status).toBe('cancelled');
  expect((await post(`/v1/deliveries/${r.body.id}/cancel`)).status).toBe(409);
});

test('an ambiguous create (timeout after the CRM acted) is not duplicated: the retry finds it first', async () => {
  // The CRM processes the create after 1.2 s, but the connector times out after 1 s (and retries 0.5–1 s later).
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', delayMs: 1200 });
  const r = await h.op('create_account', { NAME: 'Slow Create', EMAIL: 'ambiguous@example.com' }, { connector: 'zd-fast', query: '?async=true' });
  const d = await settled(r.body.id);
  expect(d).toMatchObject({ status: 'delivered', result: { recovered_by: 'find_account' } });
  expect(d.history[0]).toMatchObject({ network_error: 'ECONNABORTED', classification: 'retry' });
  expect(h.crm.crm.state.users.filter((u) => u.email === 'ambiguous@example.com')).toHaveLength(1);
});

test('list: filters and paging; unknown id and bad filters are problems', async () => {
  const page = await h.get('/v1/deliveries?connector=zendesk&limit=2');
  expect(page.body.deliveries).toHaveLength(2);
  const next = await h.get(`/v1/deliveries?connector=zendesk&limit=2&before=${page.body.next_before}`);
  expect(next.body.deliveries[0].cursor).toBeLessThan(page.body.deliveries[1].cursor);
  expect((await h.get('/v1/deliveries/nope')).status).toBe(404);
  expect((await h.get('/v1/deliveries?status=lost')).status).toBe(422);
  expect((await h.get('/readyz')).body.store).toEqual({ kind: 'sqlite', reachable: true });
});

test('misuse is a 422: a key reused for another request, a dead dependency, repeated or empty filters', async () => {
  const a = await h.op('create_account', { NAME: 'Key Owner' }, { query: '?async=true', headers: { 'Idempotency-Key': 'reused-key' } });
  expect(a.status).toBe(202);
  const other = await h.op('create_account', { NAME: 'Someone Else' }, { query: '?async=true', headers: { 'Idempotency-Key': 'reused-key' } });
  expect(other.status).toBe(422);
  expect(other.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'reused for a different request' }]);

  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 422 });
  const dead = await h.op('create_account', { NAME: 'Dies' }, { query: '?async=true' });
  await settled(dead.body.id);
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/operations/create_record?async=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ variables: { TICKET_SUBJECT: 'x' }, depends_on: dead.body.id }),
  });
  expect(res.status).toBe(422);
  expect(((await res.json()) as any).detail).toMatch(/is dead; replay it first/);

  expect((await h.get('/v1/deliveries?connector=a&connector=b')).status).toBe(422);
  expect((await h.get('/v1/deliveries?before=')).status).toBe(422);
});
