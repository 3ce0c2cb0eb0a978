/**
 * A write that is not a create (a comment, an update) whose answer was lost: before sending it
 * again, the endpoint's `dedupe` check looks for it. Found → delivered without a second write.
 * A check whose answer cannot be read proves nothing → the delivery dies naming the YAML line,
 * rather than sending a write that may already be in the CRM. Checked against the CRM's state.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const fastTiming = (yaml: string, id: string) =>
  yaml
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1\nretry:\n  initial_delay_seconds: 0.5\n  max_delay_seconds: 1');
/** add_comment's check reads a location the CRM's answer does not have. */
const brokenCheck = (yaml: string) =>
  yaml.replace(/( {2}add_comment:[\s\S]*?dedupe:\n {6}url: [^\n]+\n {6}response_data_location: )comments/, '$1no_such_list');

beforeAll(async () => {
  const zendesk = bundled('zendesk.yaml');
  expect(brokenCheck(zendesk)).not.toBe(zendesk);
  h = await startHarness({
    connectors: { 'zd-fast.yaml': fastTiming(zendesk, 'zd-fast'), 'zd-badcheck.yaml': fastTiming(brokenCheck(zendesk), 'zd-badcheck') },
  });
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.crm.crm.clearFaults());

async function settled(id: string): Promise<Record<string, any>> {
  const end = Date.now() + 20_000;
  for (;;) {
    const d = (await h.get(`/v1/deliveries/${id}`)).body;
    if (['delivered', 'dead', 'cancelled', 'unknown_outcome'].includes(d.status) || Date.now() > end) return d;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ticket(tag: string): number {
  const u = h.crm.crm.seedUser({ name: `${tag} customer` });
  return h.crm.crm.seedTicket({ requester_id: u.id, subject: `${tag} ticket`, status: 'open' }).id;
}
const commentsWith = (body: string) => h.crm.crm.state.comments.filter((c) => c.body === body);

test('a comment whose answer was lost after the CRM added it is found by the check, not sent twice', async () => {
  const id = ticket('dedupe-found');
  // The CRM adds the comment, then holds the answer past the connector's 1 s timeout.
  h.crm.crm.injectFault({ method: 'PUT', path: `/api/v2/tickets/${id}.json`, swallow: true, commit: true, delayMs: 1500 });
  const body = 'Call summary: the customer asked for a refund';
  const r = await h.op('add_comment', { RECORD_ID: id, COMMENT_BODY: body }, { connector: 'zd-fast', query: '?async=true' });
  expect(r.status).toBe(202);
  const d = await settled(r.body.id);
  expect(d).toMatchObject({ status: 'delivered', result: { recovered_by: 'dedupe' } });
  expect(d.history[0]).toMatchObject({ network_error: expect.any(String) });
  expect(commentsWith(body)).toHaveLength(1);
});

test('a comment whose request was lost (the CRM did nothing) is sent again after the check', async () => {
  const id = ticket('dedupe-absent');
  h.crm.crm.injectFault({ method: 'PUT', path: `/api/v2/tickets/${id}.json`, swallow: true, delayMs: 1500 });
  const body = 'Call summary: nothing was added the first time';
  const r = await h.op('add_comment', { RECORD_ID: id, COMMENT_BODY: body }, { connector: 'zd-fast', query: '?async=true' });
  const d = await settled(r.body.id);
  expect(d.status).toBe('delivered');
  expect(d.result.recovered_by).toBeUndefined();
  expect(commentsWith(body)).toHaveLength(1);
});

test('a check whose answer cannot be read makes the write dead, naming the YAML line, and sends nothing again', async () => {
  const id = ticket('dedupe-broken');
  h.crm.crm.injectFault({ method: 'PUT', path: `/api/v2/tickets/${id}.json`, swallow: true, commit: true, delayMs: 1500 });
  const body = 'Call summary: a check that reads the wrong place';
  const r = await h.op('add_comment', { RECORD_ID: id, COMMENT_BODY: body }, { connector: 'zd-badcheck', query: '?async=true' });
  const d = await settled(r.body.id);
  expect(d.status).toBe('dead');
  expect(d.last_error.code).toBe('crm_response_invalid');
  expect(d.last_error.message).toMatch(/dedupe\.response_data_location "no_such_list".*Fix endpoints\.add_comment\.dedupe near line \d+/);
  expect(commentsWith(body)).toHaveLength(1);
});
