/** created_marker: compiled into a search by the marker; mistakes are config errors naming file, line and path. */
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';

const FILE = 'config/test.yaml';
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
  find_record:
    method: GET
    url: /search
    params:
      query: "requester:{ACCOUNT_ID}"
    response_data_location: results
  create_record:
    method: POST
    url: /tickets
    body_format: container_map
    container_name: ticket
    params:
      subject: "{TICKET_SUBJECT}"
      external_id: "{CREATED_MARKER}"
    response_data_location: ticket
`;
const compile = (text: string) => compileConnector(text, FILE, {});
const errors = (text: string) =>
  compile(text)
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);

test('the search inherits the find endpoint; only its params change', () => {
  const r = compile(`${head}    created_marker:
      param: external_id
      find:
        params:
          query: "external_id:{CREATED_MARKER}"
`);
  expect(errors(`${head}`)).toEqual([]);
  const m = r.connector!.endpoints.get('create_record')!.createdMarker!;
  expect(m).toMatchObject({
    param: 'external_id',
    location: ['external_id'],
    find: { method: 'GET', urlSource: '/search', responseDataLocationSource: 'results', isFind: true },
  });
  expect(m.find.requiredVariables).toContain('CREATED_MARKER');
});

test.each([
  [
    'a param that does not carry the marker',
    `    created_marker:
      param: subject
      find:
        params: { query: "external_id:{CREATED_MARKER}" }
`,
    /endpoints\.create_record\.created_marker\.param: "subject" must name the param of create_record that carries the marker/,
  ],
  [
    'a search that does not use the marker',
    `    created_marker:
      param: external_id
      find:
        params: { query: "requester:{ACCOUNT_ID}" }
`,
    /endpoints\.create_record\.created_marker\.find\.params: created_marker\.find\.params must search by "\{CREATED_MARKER\}"/,
  ],
])('%s is an error naming the line', (_name, block, message) => {
  expect(errors(head + block)).toEqual([expect.stringMatching(message)]);
  // The line is the one of the offending key.
  const text = head + block;
  const key = String(message).includes('must search by') ? 'params: { query' : 'param: subject';
  const line = text.split('\n').findIndex((l) => l.includes(key)) + 1;
  expect(errors(text)[0]).toContain(`config/test.yaml:${line}:`);
});

test('only creates carry a marker', () => {
  const text = head.replace(
    '  create_record:',
    `  add_comment:
    method: POST
    url: /comments
    params: { body: "{COMMENT_BODY}", ref: "{CREATED_MARKER}" }
    created_marker:
      param: ref
      find: { params: { q: "{CREATED_MARKER}" } }
  create_record:`,
  );
  expect(errors(text)).toEqual([expect.stringMatching(/endpoints\.add_comment\.created_marker: created_marker is for create_account and create_record/)]);
});

test('without a find endpoint the search needs its own url', () => {
  const text =
    head.replace(/ {2}find_record:[\s\S]*?response_data_location: results\n/, '') +
    `    created_marker:
      param: external_id
      find:
        params: { query: "{CREATED_MARKER}" }
`;
  expect(errors(text)).toEqual([expect.stringMatching(/created_marker: created_marker needs a search: give created_marker\.find\.url, or define find_record/)]);
});
