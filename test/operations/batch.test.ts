/**
 * Bulk batching, pure parts first: `batch:` compiled (and its mistakes reported with file, line
 * and path), items rendered from each delivery's variables and wrapped into one request, and
 * the CRM's answer mapped back to one result per item (by position, by id, HubSpot's 207 errors).
 */
import { compileConnector } from '../../src/config/compile';
import type { CompiledBatch, Connector } from '../../src/config/types';
import { formatIssue } from '../../src/config/yaml-source';
import { buildBatchRequest, jobProgress, mapBatchResults, renderBatchItem, type BatchItem } from '../../src/operations/batch';
import { prepareCall } from '../../src/operations/variables';

const FILE = 'config/bulk.yaml';
const head = `auth:
  type: none
base_url: https://crm.example.com
endpoints:
  find_account:
    method: GET
    url: /users
    params: { phone: "{PHONE_NUMBER}" }
    response_data_location: users
  create_account:
    method: POST
    url: /users
    params: { name: "{NAME}" }
  create_record:
    method: POST
    url: /tickets
    params: { subject: "{TICKET_SUBJECT}" }
  update_record:
    method: PATCH
    url: /tickets/{RECORD_ID}
    params:
      properties: { subject: "{TICKET_SUBJECT}", content: "{TICKET_DESCRIPTION}" }
`;
const hubspotBatch = `    batch:
      url: /tickets/batch/update
      items_location: inputs
      item:
        id: "{RECORD_ID}"
        properties: { subject: "{TICKET_SUBJECT}", content: "{TICKET_DESCRIPTION}" }
      max_items: 3
      window_seconds: 2
      results:
        location: results
        match: id
        item_id: "{RECORD_ID}"
        errors_location: errors
`;
const compile = (text: string) => compileConnector(text, FILE, {});
const errors = (text: string) =>
  compile(text)
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);

function connectorWith(block: string): Connector {
  const r = compile(head + block);
  expect(r.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
  return r.connector!;
}

describe('batch: compiled', () => {
  test('a HubSpot-style batch compiles with its defaults', () => {
    const c = connectorWith(hubspotBatch);
    const b = c.endpoints.get('update_record')!.batch!;
    expect(b).toMatchObject({
      method: 'POST',
      itemsLocation: ['inputs'],
      maxItems: 3,
      windowMs: 2000,
      results: { location: ['results'], match: 'id', idLocation: ['id'], errorsLocation: ['errors'], errorIdsLocation: ['context', 'ids'] },
    });
    expect(b.url).toEqual(['https://crm.example.com/tickets/batch/update']);
  });

  test('the window defaults to flows.batching.window_seconds, else 5 s', () => {
    const minimal = `    batch:
      url: /tickets/batch
      items_location: tickets
      results: { location: results, match: position }
`;
    expect(connectorWith(minimal).endpoints.get('update_record')!.batch!.windowMs).toBe(5000);
    const withFlows = compile(`${head}${minimal}flows:\n  batching: { operations: [update_record], window_seconds: 12 }\n`);
    expect(withFlows.connector!.endpoints.get('update_record')!.batch!.windowMs).toBe(12_000);
  });

  test.each([
    [
      'a per-item variable in the bulk URL',
      hubspotBatch.replace('/tickets/batch/update', '/tickets/{RECORD_ID}/batch'),
      /config\/bulk\.yaml:\d+:\d+ endpoints\.update_record\.batch\.url: the bulk URL is one for all items/,
    ],
    [
      'match: id without item_id',
      hubspotBatch.replace('        item_id: "{RECORD_ID}"\n', ''),
      /endpoints\.update_record\.batch\.results\.item_id: match: id needs item_id/,
    ],
    [
      'errors_location with match: position',
      hubspotBatch.replace('match: id', 'match: position').replace('        item_id: "{RECORD_ID}"\n', ''),
      /endpoints\.update_record\.batch\.results\.errors_location: item_id and errors_location need match: id/,
    ],
    [
      'an unknown variable in an item',
      hubspotBatch.replace('{TICKET_SUBJECT}', '{TICKET_SUBJCT}'),
      /batch\.item\.properties\.subject: unknown variable \{TICKET_SUBJCT\}/,
    ],
    ['a window over 60 s', hubspotBatch.replace('window_seconds: 2', 'window_seconds: 90'), /endpoints\.update_record\.batch\.window_seconds: /],
    ['no results mapping', hubspotBatch.replace(/ {6}results:[\s\S]*$/, ''), /endpoints\.update_record\.batch: missing required property "results"/],
  ])('%s is an error naming file, line and path', (_name, block, message) => {
    expect(errors(head + block)).toEqual([expect.stringMatching(message)]);
  });

  test('batch on a create is refused: a bulk create could not be recovered item by item', () => {
    const text = head.replace('    params: { subject: "{TICKET_SUBJECT}" }\n', `    params: { subject: "{TICKET_SUBJECT}" }\n${hubspotBatch}`);
    expect(errors(text)).toEqual([
      expect.stringMatching(/endpoints\.create_record\.batch: batch is for update_record and add_comment; create_record is always sent alone/),
    ]);
  });
});

describe('items and the bulk request', () => {
  const c = connectorWith(hubspotBatch);
  const ep = c.endpoints.get('update_record')!;
  const b = ep.batch!;
  const item = (vars: Record<string, unknown>) => renderBatchItem(c, ep, b, prepareCall(vars, c, ep, 0));

  test.each([
    [
      'every variable',
      { RECORD_ID: 7, TICKET_SUBJECT: 'S', TICKET_DESCRIPTION: 'D' },
      { value: { id: 7, properties: { subject: 'S', content: 'D' } }, key: '7' },
    ],
    [
      'a missing variable drops its field, as in the single request',
      { RECORD_ID: '8', TICKET_SUBJECT: 'only' },
      { value: { id: '8', properties: { subject: 'only' } }, key: '8' },
    ],
  ])('%s', (_name, vars, expected) => {
    expect(item(vars)).toEqual(expected);
  });

  test('without item: the endpoint params are the item', () => {
    const c2 = connectorWith(`    batch:
      url: /tickets/batch
      items_location: data.tickets
      results: { location: results, match: position }
`);
    const ep2 = c2.endpoints.get('update_record')!;
    const items = [
      { RECORD_ID: 1, TICKET_SUBJECT: 'a' },
      { RECORD_ID: 2, TICKET_SUBJECT: 'b' },
    ].map((v) => renderBatchItem(c2, ep2, ep2.batch!, prepareCall(v, c2, ep2, 0)));
    const req = buildBatchRequest(ep2, ep2.batch!, items);
    expect(req).toMatchObject({ method: 'POST', url: 'https://crm.example.com/tickets/batch' });
    expect(req.body).toEqual({ kind: 'json', value: { data: { tickets: [{ properties: { subject: 'a' } }, { properties: { subject: 'b' } }] } } });
  });

  test('the request wraps the items in order under items_location', () => {
    const req = buildBatchRequest(ep, b, [item({ RECORD_ID: 1, TICKET_SUBJECT: 'a' }), item({ RECORD_ID: 2, TICKET_SUBJECT: 'b' })]);
    expect(req.body).toEqual({
      kind: 'json',
      value: {
        inputs: [
          { id: 1, properties: { subject: 'a' } },
          { id: 2, properties: { subject: 'b' } },
        ],
      },
    });
    expect(req.headers['Content-Type']).toBe('application/json');
  });
});

describe('results mapped back to items', () => {
  const byId: CompiledBatch['results'] = {
    location: ['results'],
    match: 'id',
    idLocation: ['id'],
    errorsLocation: ['errors'],
    errorIdsLocation: ['context', 'ids'],
    errorMessageLocation: ['message'],
  };
  const byPosition: CompiledBatch['results'] = {
    ...byId,
    match: 'position',
    errorsLocation: undefined,
    successLocation: ['success'],
    errorMessageLocation: ['errors'],
  };
  const items = (...keys: string[]): BatchItem[] => keys.map((key) => ({ value: {}, key }));
  const ok = (id: string) => ({ ok: true, data: expect.objectContaining({ id }) });
  const refused = (text: string) => ({ ok: false, ambiguous: false, reason: expect.stringContaining(text) });
  const unknown = (text: string) => ({ ok: false, ambiguous: true, reason: expect.stringContaining(text) });

  test.each([
    ['HubSpot 200: results in any order', byId, { status: 'COMPLETE', results: [{ id: '2' }, { id: '1' }] }, items('1', '2'), [ok('1'), ok('2')]],
    [
      'HubSpot 207: errors name the failed ids',
      byId,
      {
        status: 'COMPLETE',
        results: [{ id: '1' }],
        numErrors: 1,
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Object not found. objectId are usually numeric.', context: { ids: ['2'] } }],
      },
      items('1', '2'),
      [ok('1'), refused('Object not found')],
    ],
    [
      'every item failed: results empty',
      byId,
      { results: [], errors: [{ message: 'nope', context: { ids: ['1', '2'] } }] },
      items('1', '2'),
      [refused('nope'), refused('nope')],
    ],
    ['an item the answer does not mention is ambiguous', byId, { results: [{ id: '1' }] }, items('1', '3'), [ok('1'), unknown('no result for id 3')]],
    ['no result list at all: every item ambiguous', byId, { ok: true }, items('1'), [unknown('no result list at results')]],
    [
      'by position, with success: false',
      byPosition,
      {
        results: [
          { id: '1', success: true },
          { id: '2', success: false, errors: 'locked' },
        ],
      },
      items('1', '2'),
      [ok('1'), refused('locked')],
    ],
    [
      'Zendesk job results: error/details mark a failed ticket',
      {
        ...byId,
        location: ['job_status', 'results'],
        errorsLocation: undefined,
        successLocation: ['success'],
        errorLocation: ['error'],
        errorMessageLocation: ['details'],
      },
      {
        job_status: {
          status: 'completed',
          results: [
            { index: 0, id: 1, action: 'update', success: true, status: 'Updated' },
            { index: 1, id: 2, error: 'TicketUpdateFailed', details: 'Status: closed prevents ticket update' },
          ],
        },
      },
      items('1', '2'),
      [{ ok: true, data: expect.objectContaining({ id: 1 }) }, refused('closed prevents ticket update')],
    ],
    [
      // A CRM that leaves a failed item out shifts the rest: results[0] may be item 2's.
      'by position: a short list leaves every item ambiguous',
      byPosition,
      { results: [{ id: '2' }] },
      items('1', '2'),
      [unknown('1 result for 2 items'), unknown('1 result for 2 items')],
    ],
    [
      'by position: a longer list leaves every item ambiguous',
      byPosition,
      { results: [{ id: '1' }, { id: '2' }, { id: '3' }] },
      items('1', '2'),
      [unknown('3 results for 2 items'), unknown('3 results for 2 items')],
    ],
  ])('%s', (_name, spec, body, list, expected) => {
    expect(mapBatchResults(spec, body, list)).toEqual(expected);
  });
});

describe('asynchronous bulk jobs (poll:)', () => {
  const zendeskPoll = `    batch:
      url: /tickets/update_many.json
      method: PUT
      items_location: tickets
      item: { id: "{RECORD_ID}", subject: "{TICKET_SUBJECT}" }
      poll:
        url_location: job_status.url
        status_location: job_status.status
        done: [completed, failed, killed]
        interval_seconds: 0.5
      results:
        location: job_status.results
        match: id
        item_id: "{RECORD_ID}"
        error_location: error
        error_message_location: details
`;
  const poll = connectorWith(zendeskPoll).endpoints.get('update_record')!.batch!.poll!;
  const bulkUrl = 'https://crm.example.com/tickets/update_many.json';

  test('compiles with its defaults', () => {
    expect(poll).toEqual({
      urlLocation: ['job_status', 'url'],
      statusLocation: ['job_status', 'status'],
      done: new Set(['completed', 'failed', 'killed']),
      intervalMs: 500,
      timeoutMs: 60_000,
    });
  });

  test.each([
    [
      'queued: poll its URL',
      { job_status: { status: 'queued', url: 'https://crm.example.com/job_statuses/j1.json' } },
      { done: false, status: 'queued', url: 'https://crm.example.com/job_statuses/j1.json' },
    ],
    [
      'completed: done',
      { job_status: { status: 'completed', url: 'https://crm.example.com/job_statuses/j1.json' } },
      { done: true, status: 'completed', url: 'https://crm.example.com/job_statuses/j1.json' },
    ],
    [
      "a relative URL is on the bulk URL's origin",
      { job_status: { status: 'working', url: '/job_statuses/j2.json' } },
      { done: false, status: 'working', url: 'https://crm.example.com/job_statuses/j2.json' },
    ],
    [
      'a URL on another host is never polled (the credentials would go there)',
      { job_status: { status: 'queued', url: 'https://evil.example.net/job_statuses/j1.json' } },
      { done: false, status: 'queued', problem: expect.stringContaining("not on the bulk URL's origin") },
    ],
    ['no URL', { job_status: { status: 'queued' } }, { done: false, status: 'queued', problem: expect.stringContaining('no job URL at job_status.url') }],
  ])('%s', (_name, body, expected) => {
    expect(jobProgress(poll, body, bulkUrl)).toEqual(expected);
  });
});
