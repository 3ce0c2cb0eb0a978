/**
 * Recovery after an ambiguous create lands on the right record, or says it cannot know.
 * Customers already have open tickets (what a careless "find the newest open ticket" recovery
 * would take); the CRM swallows requests, or commits, resets and then refuses connections.
 * Every check is made against the sample CRM's own state.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const fastTiming = (yaml: string, id: string) =>
  yaml
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1\nretry:\n  initial_delay_seconds: 0.5\n  max_delay_seconds: 1');
/** The bundled connector as a user without a created marker would have it. */
const withoutMarker = (yaml: string) => yaml.replace(/\n {4}created_marker:\n( {6}.*\n)+/, '\n').replace(/^ +external_id: "\{CREATED_MARKER\}"\n/m, '');

beforeAll(async () => {
  const slowPlain = fastTiming(withoutMarker(bundled('zendesk.yaml')), 'zd-slow-plain').replace(/^timeout_seconds: 1$/m, 'timeout_seconds: 3');
  h = await startHarness({
    connectors: {
      'zd-fast.yaml': fastTiming(bundled('zendesk.yaml'), 'zd-fast'),
      'zd-plain.yaml': fastTiming(withoutMarker(bundled('zendesk.yaml')), 'zd-plain'),
      'zd-slow-plain.yaml': slowPlain,
    },
  });
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.crm.crm.clearFaults());

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const delivery = (id: string) => h.get(`/v1/deliveries/${id}`).then((r) => r.body);
const settled = (id: string) =>
  until(
    () => delivery(id),
    (d) => ['delivered', 'dead', 'cancelled', 'unknown_outcome'].includes(d.status),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Customers who already have an open ticket each. */
function customers(n: number, tag: string): number[] {
  return Array.from({ length: n }, (_, i) => {
    const u = h.crm.crm.seedUser({ name: `${tag} customer ${i}` });
    h.crm.crm.seedTicket({ requester_id: u.id, subject: `${tag}: older open ticket ${i}`, status: 'open' });
    return u.id;
  });
}

async function createTickets(connector: string, owners: number[], count: number, tag: string) {
  const out: Array<{ id: string; subject: string }> = [];
  for (let i = 0; i < count; i++) {
    const subject = `${tag} create ${i}`;
    const r = await h.op('create_record', { ACCOUNT_ID: owners[i % owners.length], TICKET_SUBJECT: subject }, { connector, query: '?async=true' });
    expect(r.status).toBe(202);
    out.push({ id: r.body.id, subject });
  }
  return out;
}

/** Count against the CRM: each create exists once, and a delivered one carries its own ticket's id. */
async function audit(creates: Array<{ id: string; subject: string }>) {
  const tickets = h.crm.crm.state.tickets;
  const report = { delivered: 0, lost: 0, duplicated: 0, misattributed: 0, unknown: [] as string[], dead: [] as string[] };
  for (const c of creates) {
    const d = await settled(c.id);
    const mine = tickets.filter((t) => t.subject === c.subject);
    if (mine.length > 1) report.duplicated++;
    if (d.status === 'unknown_outcome') {
      report.unknown.push(c.id);
      continue;
    }
    if (d.status !== 'delivered') {
      report.dead.push(`${c.id} ${d.status} ${JSON.stringify(d.last_error)}`);
      continue;
    }
    report.delivered++;
    if (mine.length === 0) report.lost++;
    else if (!mine.some((t) => t.id === d.result.ids.RECORD_ID)) report.misattributed++;
  }
  return report;
}

test('a black hole that commits: every create exists once and is delivered with its own ticket id (finding 1)', async () => {
  const owners = customers(5, 'bh-commit');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, commit: true, delayMs: 2000, always: true });
  const creates = await createTickets('zd-fast', owners, 20, 'bh-commit');
  await sleep(2500);
  h.crm.crm.clearFaults();
  const r = await audit(creates);
  expect(r).toEqual({ delivered: 20, lost: 0, duplicated: 0, misattributed: 0, unknown: [], dead: [] });
}, 60_000);

test('a black hole that drops the writes: nothing is taken as already created (finding 1)', async () => {
  const owners = customers(5, 'bh-lost');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 2000, always: true });
  const creates = await createTickets('zd-fast', owners, 20, 'bh-lost');
  await sleep(2500);
  h.crm.crm.clearFaults();
  const r = await audit(creates);
  expect(r).toEqual({ delivered: 20, lost: 0, duplicated: 0, misattributed: 0, unknown: [], dead: [] });
}, 60_000);

test('reset then refused: ECONNRESET POST, refused find, refused POSTs, then 201 does not duplicate (finding 2)', async () => {
  const owners = customers(1, 'rr');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', drop: true, commit: true, refuseMs: 3000 });
  const [c] = await createTickets('zd-fast', owners, 1, 'rr');
  const r = await audit([c]);
  const d = await delivery(c.id);
  expect(d.history.map((a: { status?: number; network_error?: string }) => a.status ?? a.network_error)).toContain('ECONNREFUSED');
  expect(r).toEqual({ delivered: 1, lost: 0, duplicated: 0, misattributed: 0, unknown: [], dead: [] });
}, 60_000);

test('without a created marker: recovery takes only its own ticket, never another one', async () => {
  const owners = customers(5, 'plain');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, commit: true, delayMs: 2000, always: true });
  const creates = await createTickets('zd-plain', owners, 10, 'plain');
  await sleep(2500);
  h.crm.crm.clearFaults();
  const r = await audit(creates);
  expect(r).toMatchObject({ lost: 0, duplicated: 0, misattributed: 0, dead: [] });
  expect(r.delivered + r.unknown.length).toBe(10);
}, 60_000);

const post = (path: string, body?: unknown) =>
  fetch(h.gw.url + path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

/** A create (no marker) lost in a black hole while another ticket of the same customer appears: nobody can tell. */
async function unknownCreate(tag: string) {
  const [owner] = customers(1, tag);
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 3000 });
  const [c] = await createTickets('zd-plain', [owner], 1, tag);
  const comment = await fetch(`${h.gw.url}/v1/connectors/zd-plain/operations/add_comment?async=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ variables: { COMMENT_BODY: `${tag} comment` }, depends_on: c.id }),
  }).then((r) => r.json() as Promise<any>);
  h.crm.crm.seedTicket({ requester_id: owner, subject: `${tag}: someone else's new ticket`, status: 'new' });
  const d = await settled(c.id);
  return { c, d, owner, comment: comment.id as string };
}

test('without a marker and with evidence either way: unknown_outcome, with the evidence; dependents wait; attach resolves it', async () => {
  const { c, d, comment } = await unknownCreate('uo-attach');
  expect(d.status).toBe('unknown_outcome');
  expect(d.last_error).toMatchObject({
    code: 'unknown_outcome',
    evidence: {
      rule: expect.stringContaining('no created_marker'),
      searched: expect.stringContaining('GET'),
      found: expect.arrayContaining([expect.objectContaining({ fields_match: false })]),
    },
  });
  expect(h.crm.crm.state.tickets.filter((t) => t.subject === c.subject)).toHaveLength(0);
  expect((await h.get(`/v1/deliveries?status=unknown_outcome&connector=zd-plain`)).body.deliveries.map((x: { id: string }) => x.id)).toContain(c.id);
  await sleep(300);
  expect((await delivery(comment)).status).toBe('pending');

  // The operator creates the ticket by hand (or finds it) and attaches it.
  const owner = h.crm.crm.state.tickets.find((t) => t.subject?.startsWith('uo-attach: someone'))!.requester_id;
  const byHand = h.crm.crm.seedTicket({ requester_id: owner, subject: c.subject });
  const r = await post(`/v1/deliveries/${c.id}/resolve`, { action: 'attach', ids: { RECORD_ID: byHand.id } });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ status: 'delivered', result: { ids: { RECORD_ID: byHand.id }, outcome: 'attached', recovered_by: 'operator' } });
  expect(await settled(comment)).toMatchObject({ status: 'delivered' });
  expect(h.crm.crm.state.comments.filter((x) => x.ticket_id === byHand.id).map((x) => x.body)).toContain('uo-attach comment');
  // Resolved once: a second resolve is a conflict.
  expect((await post(`/v1/deliveries/${c.id}/resolve`, { action: 'cancel' })).status).toBe(409);
}, 30_000);

test('resolve retry_as_new creates the ticket once; cancel drops it and its dependents', async () => {
  const a = await unknownCreate('uo-new');
  expect(a.d.status).toBe('unknown_outcome');
  expect((await post(`/v1/deliveries/${a.c.id}/resolve`, { action: 'retry_as_new' })).body.status).toMatch(/pending|running|delivered/);
  const done = await settled(a.c.id);
  expect(done.status).toBe('delivered');
  const mine = h.crm.crm.state.tickets.filter((t) => t.subject === a.c.subject);
  expect(mine.map((t) => t.id)).toEqual([done.result.ids.RECORD_ID]);
  expect(await settled(a.comment)).toMatchObject({ status: 'delivered' });

  const b = await unknownCreate('uo-cancel');
  expect((await post(`/v1/deliveries/${b.c.id}/resolve`, { action: 'cancel' })).body.status).toBe('cancelled');
  expect(await delivery(b.comment)).toMatchObject({ status: 'dead', last_error: { code: 'dependency_dead' } });
}, 30_000);

test('resolve: bad bodies are 422 naming the field; other states are 409', async () => {
  const a = await unknownCreate('uo-bad');
  for (const [body, field] of [
    [{}, 'action'],
    [{ action: 'undo' }, 'action'],
    [{ action: 'attach' }, 'ids'],
    [{ action: 'attach', ids: { TICKET: 1 } }, 'ids.TICKET'],
    [{ action: 'cancel', ids: { RECORD_ID: 1 } }, 'ids'],
    [{ action: 'cancel', why: 'x' }, 'why'],
  ] as const) {
    const r = await post(`/v1/deliveries/${a.c.id}/resolve`, body);
    expect(r.status).toBe(422);
    expect(r.body.errors[0].field).toBe(field);
  }
  const wrongId = await post(`/v1/deliveries/${a.c.id}/resolve`, { action: 'attach', ids: { ACCOUNT_ID: 1 } });
  expect(wrongId).toMatchObject({ status: 422, body: { errors: [{ field: 'ids.RECORD_ID', message: 'required' }] } });
  const [owner] = customers(1, 'uo-ok');
  const ok = await h.op('create_record', { ACCOUNT_ID: owner, TICKET_SUBJECT: 'fine' }, { connector: 'zd-plain', query: '?async=true' });
  await settled(ok.body.id);
  expect((await post(`/v1/deliveries/${ok.body.id}/resolve`, { action: 'cancel' })).status).toBe(409);
  await post(`/v1/deliveries/${a.c.id}/resolve`, { action: 'cancel' });
}, 30_000);

test('the marker search is checked, not trusted: a CRM that ignores the filter gives strangers, which are not taken', async () => {
  const [owner] = customers(1, 'ignored');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 2000 });
  const [c] = await createTickets('zd-fast', [owner], 1, 'ignored');
  // The search answers with every ticket, none carrying this write's marker.
  h.crm.crm.injectFault({
    method: 'GET',
    path: '/api/v2/tickets.json',
    status: 200,
    body: {
      tickets: [
        { id: 903, external_id: 'someone-else' },
        { id: 904, external_id: null, subject: c.subject },
      ],
    },
  });
  const d = await settled(c.id);
  const mine = h.crm.crm.state.tickets.filter((t) => t.subject === c.subject);
  expect(mine).toHaveLength(1);
  expect(d).toMatchObject({ status: 'delivered', result: { ids: { RECORD_ID: mine[0].id } } });
}, 30_000);

test('two objects carrying the same marker: unknown_outcome (duplicates exist), never one picked', async () => {
  const [owner] = customers(1, 'twice');
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 2000 });
  const [c] = await createTickets('zd-fast', [owner], 1, 'twice');
  h.crm.crm.injectFault({
    method: 'GET',
    path: '/api/v2/tickets.json',
    status: 200,
    body: {
      tickets: [
        { id: 905, external_id: c.id },
        { id: 906, external_id: c.id },
      ],
    },
  });
  const d = await settled(c.id);
  expect(d).toMatchObject({
    status: 'unknown_outcome',
    last_error: {
      evidence: {
        rule: expect.stringContaining('2 objects carry'),
        marker: c.id,
        found: [
          { id: 905, marker_match: true },
          { id: 906, marker_match: true },
        ],
      },
    },
  });
  await post(`/v1/deliveries/${c.id}/resolve`, { action: 'cancel' });
}, 30_000);

test("without a marker, a try that timed out after several seconds still finds what it created at its start (the try's time is when it was sent)", async () => {
  const owners = customers(1, 'slow-plain');
  // The CRM creates the ticket at once and answers never; the connector gives up after 3 s.
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, commit: true, delayMs: 3500 });
  const creates = await createTickets('zd-slow-plain', owners, 1, 'slow-plain');
  const r = await audit(creates);
  expect(r).toEqual({ delivered: 1, lost: 0, duplicated: 0, misattributed: 0, unknown: [], dead: [] });
  expect((await delivery(creates[0].id)).result.recovered_by).toBe('find_record');
}, 60_000);

test('without a marker and with nothing to search by, an ambiguous create is unknown_outcome, not created twice', async () => {
  // Only a name: none of find_account's searches (phone, e-mail, SDK id) has a value.
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', drop: true, commit: true });
  const r = await h.op('create_account', { NAME: 'Solo Nameonly' }, { connector: 'zd-plain', query: '?async=true' });
  const d = await settled(r.body.id);
  expect(d.status).toBe('unknown_outcome');
  expect(d.last_error.message).toMatch(/resolve/);
  expect(h.crm.crm.state.users.filter((u) => u.name === 'Solo Nameonly')).toHaveLength(1);
}, 60_000);

test("a caller cannot set CREATED_MARKER (recovery would take its object for another write's)", async () => {
  const r = await h.op('create_record', { ACCOUNT_ID: 1, TICKET_SUBJECT: 'x', CREATED_MARKER: 'someone-else' }, { connector: 'zd-fast' });
  expect(r.status).toBe(422);
  expect(r.body.errors[0].field).toBe('variables.CREATED_MARKER');
});
