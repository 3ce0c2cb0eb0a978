/**
 * Finding: a successful write with nothing to extract was treated as failure. Some CRMs answer
 * an update or a comment with `200 []`, a list of messages, an empty body or 204; the delivery
 * went dead with 'response_data_location "" is an empty list' and no YAML line. Updates and
 * comments now accept those as success without an id (`expect: id_optional`, their default);
 * creates still need their id, and every such failure names the YAML line to fix.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
let recordId: number;
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml') } });
  const user = h.crm.crm.seedUser({ name: 'Empty Answers', phone: '+1 222 333 9999' });
  recordId = h.crm.crm.seedTicket({ requester_id: user.id, subject: 'x', status: 'open' }).id;
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.crm.crm.clearFaults());

const answers: Array<[string, { status: number; body?: unknown }]> = [
  ['200 []', { status: 200, body: [] }],
  ['200 with a list of messages', { status: 200, body: [{ message: 'Ticket updated' }] }],
  ['200 with an empty body', { status: 200, body: null }],
  ['204', { status: 204 }],
];

describe.each(['update_record', 'add_comment'])('%s', (operation) => {
  test.each(answers)('%s is success without an id', async (_name, answer) => {
    h.crm.crm.injectFault({ method: 'PUT', path: '/api/v2/tickets/', ...answer });
    const r = await h.op(operation, { RECORD_ID: recordId, COMMENT_BODY: 'hello', TICKET_SUBJECT: 's', TICKET_DESCRIPTION: 'd' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'ok', ids: {} });
  });

  test('a durable write answered 200 [] is delivered, not dead', async () => {
    h.crm.crm.injectFault({ method: 'PUT', path: '/api/v2/tickets/', status: 200, body: [] });
    const r = await h.op(
      operation,
      { RECORD_ID: recordId, COMMENT_BODY: 'durable', TICKET_SUBJECT: 's', TICKET_DESCRIPTION: 'd' },
      { headers: { 'Idempotency-Key': `empty-${operation}` } },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'delivered' });
  });
});

test('a create answered 201 [] is still an error, naming the YAML line and what to set', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 201, body: [] });
  const r = await h.op('create_account', { NAME: 'No Id' });
  expect(r.status).toBe(502);
  expect(r.body).toMatchObject({ code: 'crm_response_invalid', operation: 'create_account', yaml_line: expect.any(Number) });
  expect(r.body.detail).toMatch(/^create_account: .*Fix endpoints\.create_account\S* near line \d+/);
});

test('a create answered 201 with no body names the YAML line', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 201, body: null });
  const r = await h.op('create_account', { NAME: 'No Body' });
  expect(r.status).toBe(502);
  expect(r.body.detail).toMatch(/near line \d+/);
});
