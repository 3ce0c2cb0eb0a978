/**
 * buildRequest: (connector, endpoint, variables, file) → the exact HTTP request, pure. One row
 * per rule: where params go for each method and body format, what a missing variable drops,
 * which header values are refused, how files travel; previewRequest shows it without the file.
 */
import { compileConnector } from '../../src/config/compile';
import type { OperationName } from '../../src/config/types';
import { isGatewayError } from '../../src/errors';
import { buildRequest, previewRequest, type FileInput, type RenderedRequest } from '../../src/operations/request';

const connector = (endpoints: string, extra = '') => {
  const r = compileConnector(
    `auth: {type: none}
base_url: https://crm.test/api
${extra}endpoints:
  find_account: {method: GET, url: /users/search, params: {phone: "{PHONE_NUMBER}", email: "{EMAIL}"}}
  create_account: {method: POST, url: /users, params: {name: "{NAME}"}}
${endpoints}`,
    'x.yaml',
    {},
  );
  if (!r.connector) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.connector;
};

function build(endpoints: string, op: OperationName, vars: Record<string, unknown>, file?: FileInput, extra = ''): RenderedRequest {
  const c = connector(endpoints, extra);
  return buildRequest(c, c.endpoints.get(op)!, vars, file);
}

const FILE: FileInput = { data: Buffer.from('hello'), name: 'a.txt', type: 'text/plain' };

describe('where params go', () => {
  test.each<[string, string, OperationName, Record<string, unknown>, Partial<{ url: string; body: unknown; dropped: string[]; contentType?: string }>]>([
    [
      'GET: params become the query, a missing one is left out',
      '',
      'find_account',
      { PHONE_NUMBER: '+12223334444' },
      { url: 'https://crm.test/api/users/search?phone=%2B12223334444', body: { kind: 'none' }, dropped: ['EMAIL'] },
    ],
    [
      'POST: a JSON body',
      '',
      'create_account',
      { NAME: 'Ada' },
      { url: 'https://crm.test/api/users', body: { kind: 'json', value: { name: 'Ada' } }, dropped: [], contentType: 'application/json' },
    ],
    [
      'container_map wraps the params in an object',
      '  create_record: {method: POST, url: /tickets, body_format: container_map, container_name: ticket, params: {subject: "{TICKET_SUBJECT}"}}\n',
      'create_record',
      { TICKET_SUBJECT: 'Hi' },
      { body: { kind: 'json', value: { ticket: { subject: 'Hi' } } } },
    ],
    [
      'container_array wraps them in a one-element list',
      '  create_record: {method: POST, url: /tickets, body_format: container_array, container_name: data, params: {subject: "{TICKET_SUBJECT}"}}\n',
      'create_record',
      { TICKET_SUBJECT: 'Hi' },
      { body: { kind: 'json', value: { data: [{ subject: 'Hi' }] } } },
    ],
    [
      'query: keys beside a POST body; list values repeat the key',
      '  create_record: {method: POST, url: /tickets, query: {tag: ["a", "{QUEUE_NAME}"]}, params: {subject: "{TICKET_SUBJECT}"}}\n',
      'create_record',
      { TICKET_SUBJECT: 'Hi', QUEUE_NAME: 'Billing' },
      { url: 'https://crm.test/api/tickets?tag=a&tag=Billing' },
    ],
    [
      'a {VAR} in the path is encoded',
      '  find_record: {method: GET, url: "/users/{ACCOUNT_ID}/tickets"}\n',
      'find_record',
      { ACCOUNT_ID: 'a/b c' },
      { url: 'https://crm.test/api/users/a%2Fb%20c/tickets' },
    ],
  ])('%s', (_what, endpoints, op, vars, want) => {
    const r = build(endpoints, op, vars);
    if (want.url) expect(r.url).toBe(want.url);
    if (want.body) expect(r.body).toEqual(want.body);
    if (want.dropped) expect(r.dropped).toEqual(want.dropped);
    if (want.contentType) expect(r.headers['Content-Type']).toBe(want.contentType);
    expect(r.headers['User-Agent']).toMatch(/^crm-gateway\//);
  });
});

describe('headers', () => {
  const ep = '  find_record: {method: GET, url: /tickets, headers: {X-Agent: "{AGENT_EMAIL}", X-Fixed: "yes"}}\n';
  test.each<[string, Record<string, unknown>, Record<string, string> | string]>([
    ['rendered', { AGENT_EMAIL: 'kim@example.com' }, { 'X-Agent': 'kim@example.com', 'X-Fixed': 'yes' }],
    ['a header whose variable is missing is not sent', {}, { 'X-Fixed': 'yes' }],
    ['a line break would split the header: refused', { AGENT_EMAIL: 'kim\r\nX-Admin: 1' }, 'line break or control character'],
    ['beyond Latin-1 cannot be sent: refused', { AGENT_EMAIL: 'kím☃@example.com' }, 'beyond Latin-1'],
  ])('%s', (_what, vars, want) => {
    let r: RenderedRequest | undefined;
    let error: unknown;
    try {
      r = build(ep, 'find_record', vars);
    } catch (e) {
      error = e;
    }
    if (typeof want === 'string') {
      expect(isGatewayError(error) && error.code).toBe('invalid_variable_value');
      expect((error as Error).message).toContain(want);
    } else {
      expect(r!.headers['X-Agent']).toBe(want['X-Agent']);
      expect(r!.headers['X-Fixed']).toBe(want['X-Fixed']);
    }
  });
});

describe('files', () => {
  const upload = (encoding: string) => `  find_record: {method: GET, url: /tickets}
  create_record: {method: POST, url: /tickets, params: {subject: s}}
  upload_file: {method: POST, url: "/files?name={FILE_NAME}", ${encoding === 'multipart' ? 'params: {note: "{FILE_KIND}"}, ' : ''}upload: {encoding: ${encoding}${encoding === 'multipart' ? ', file_field: upload' : ''}}}
`;

  test('multipart: the fields and the file part', async () => {
    const r = build(upload('multipart'), 'upload_file', { FILE_NAME: 'a.txt', FILE_KIND: 'photo' }, FILE);
    expect(r.body.kind).toBe('multipart');
    if (r.body.kind !== 'multipart') return;
    expect(r.body.fields).toEqual({ note: 'photo' });
    expect(r.body.file).toEqual({ field: 'upload', name: 'a.txt', type: 'text/plain', bytes: 5 });
    expect(await (r.body.value.get('upload') as Blob).text()).toBe('hello');
    expect(r.headers['Content-Type']).toBeUndefined(); // the client sets it, with the boundary
  });

  test('binary: the file is the body, with its own type', () => {
    const r = build(upload('binary'), 'upload_file', { FILE_NAME: 'a.txt' }, FILE);
    expect(r.body).toEqual({ kind: 'binary', value: FILE.data, type: 'text/plain' });
    expect(r.headers['Content-Type']).toBe('text/plain');
  });

  test('no file for a multipart or binary upload: missing_variable', () => {
    for (const encoding of ['multipart', 'binary']) {
      expect(() => build(upload(encoding), 'upload_file', { FILE_NAME: 'a.txt' })).toThrow(expect.objectContaining({ code: 'missing_variable' }));
    }
  });

  test('previewRequest summarises files and lists dropped params', () => {
    expect(previewRequest(build(upload('multipart'), 'upload_file', { FILE_NAME: 'a.txt' }, FILE))).toMatchObject({
      method: 'POST',
      body: { multipart: { fields: {}, file: { field: 'upload', bytes: 5 } } },
      dropped_for_missing_variables: ['FILE_KIND'],
    });
    expect(previewRequest(build(upload('binary'), 'upload_file', { FILE_NAME: 'a.txt' }, FILE)).body).toEqual({ binary: { type: 'text/plain', bytes: 5 } });
    expect(previewRequest(build('', 'find_account', { PHONE_NUMBER: '1', EMAIL: 'a@b.c' }))).not.toHaveProperty('body');
  });
});

test('escape_values: caller data composed into a query is escaped for that query language', () => {
  const r = build(
    '  find_record: {method: GET, url: /query, params: {q: "SELECT Id FROM Case WHERE Subject = \'{TICKET_SUBJECT}\'"}}\n',
    'find_record',
    { TICKET_SUBJECT: "O'Brien" },
    undefined,
    'settings: {escape_values: soql}\n',
  );
  expect(new URL(r.url).searchParams.get('q')).toBe("SELECT Id FROM Case WHERE Subject = 'O\\'Brien'");
});
