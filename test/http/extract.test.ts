import { compileConnector } from '../../src/config/compile';
import type { CompiledEndpoint, OperationName } from '../../src/config/types';
import { extract } from '../../src/http/extract';
import { parseJsonPath, readPath } from '../../src/util/json-path';

function endpoint(op: OperationName, location: string, idLocation = 'id', sortBy?: string): CompiledEndpoint {
  const yaml = `auth: {type: none}
endpoints:
  find_account: {method: GET, url: "https://x.test/a", response_data_location: "${op === 'find_account' ? location : 'a'}", id_location: "${idLocation}"${sortBy ? `, sort_by: "${sortBy}"` : ''}}
  create_account: {method: POST, url: "https://x.test/a", response_data_location: "${op === 'create_account' ? location : 'a'}", id_location: "${idLocation}"}
`;
  const r = compileConnector(yaml, 'x.yaml', {});
  if (!r.connector) throw new Error(JSON.stringify(r.issues));
  return r.connector.endpoints.get(op)!;
}

describe('json paths', () => {
  test.each<[string, Array<string | number>]>([
    ['', []],
    ['user', ['user']],
    ['data[0].id', ['data', 0, 'id']],
    ["a['odd key'].b", ['a', 'odd key', 'b']],
    ['results[12]', ['results', 12]],
  ])('%s', (src, path) => expect(parseJsonPath(src)).toEqual(path));

  test.each(['a[', 'a[x]', 'a..b]'])('rejects %s', (src) => expect(() => parseJsonPath(src)).toThrow());

  test('readPath says where it failed', () => {
    expect(readPath({ data: [{ id: 1 }] }, ['data', 0, 'id'])).toEqual({ found: true, value: 1 });
    expect(readPath({ data: [] }, ['data', 0, 'id'])).toEqual({ found: false, failedAt: 'data[0]' });
  });
});

describe('extract', () => {
  test.each<[string, unknown, unknown]>([
    ['list with one match', { results: [{ id: 7 }] }, { found: true, id: 7, matches: 1 }],
    ['empty list → not found', { results: [] }, { found: false }],
    ['null → not found', { results: null }, { found: false }],
    ['no body (204) → not found', undefined, { found: false }],
  ])('find: %s', (_n, body, expected) => {
    expect(extract(endpoint('find_account', 'results'), body)).toMatchObject(expected as object);
  });

  test('several matches → the most recently created', () => {
    const body = {
      results: [
        { id: 1, created_at: '2026-01-02T00:00:00Z' },
        { id: 2, created_at: '2026-03-01T00:00:00Z' },
        { id: 3, created_at: '2025-12-31T00:00:00Z' },
      ],
    };
    expect(extract(endpoint('find_account', 'results'), body)).toMatchObject({ found: true, id: 2, matches: 3 });
  });

  test('sort field is configurable (numbers too)', () => {
    const body = {
      data: [
        { Id: 'a', Created_Time: 5 },
        { Id: 'b', Created_Time: 9 },
      ],
    };
    expect(extract(endpoint('find_account', 'data', 'Id', 'Created_Time'), body)).toMatchObject({ id: 'b' });
  });

  test('a data location missing from the response is an error naming the path and the keys found', () => {
    expect(() => extract(endpoint('find_account', 'results'), { users: [] })).toThrow(
      'find_account: response_data_location "results" not found in the response (failed at "results"; keys there: users)',
    );
  });

  test('a create without an id at id_location is an error', () => {
    expect(() => extract(endpoint('create_account', 'user', 'id'), { user: { name: 'x' } })).toThrow(
      'create_account: id_location "id" not found in the object at response_data_location',
    );
    expect(extract(endpoint('create_account', 'data[0].details', 'id'), { data: [{ details: { id: 'z1' } }] })).toMatchObject({ id: 'z1' });
  });
});

test("a location error points at the setting's own line when the file sets it, else at the endpoint's", () => {
  const endpoints = `  find_account: {method: GET, url: "https://x.test/a", response_data_location: results}
  create_account:
    method: POST
    url: https://x.test/a
    response_data_location: user
    id_location: key
  create_record:
    method: POST
    url: https://x.test/r
`;
  const c = connector(endpoints);
  // The file's lines: auth, phone and endpoints come first (3 lines).
  const lineOf = (text: string) => 3 + endpoints.split('\n').findIndex((l) => l.startsWith(text)) + 1;
  const failure = (op: OperationName, body: unknown) => {
    try {
      extract(c.endpoints.get(op)!, body);
    } catch (e) {
      return { fix: (e as Error).message.replace(/^.*Fix /, 'Fix '), line: (e as { extensions: { yaml_line?: number } }).extensions.yaml_line };
    }
    throw new Error('no error');
  };
  const data = lineOf('    response_data_location: user');
  const id = lineOf('    id_location: key');
  expect(failure('create_account', { person: {} })).toEqual({ fix: `Fix endpoints.create_account.response_data_location near line ${data}`, line: data });
  expect(failure('create_account', { user: { id: 1 } })).toEqual({ fix: `Fix endpoints.create_account.id_location near line ${id}`, line: id });
  // Not set: the default ("id") applies at the endpoint, which is where to add it.
  const record = c.endpoints.get('create_record')!.line;
  expect(record).toBeGreaterThan(id);
  expect(failure('create_record', { name: 'x' }).fix).toBe(`Fix endpoints.create_record.id_location near line ${record}`);
});

function connector(yamlEndpoints: string) {
  const r = compileConnector(
    `auth: {type: none}
phone: {default_region: US}
endpoints:
${yamlEndpoints}`,
    'x.yaml',
    {},
  );
  if (!r.connector) throw new Error(JSON.stringify(r.issues));
  return r.connector;
}
const BASE = `  find_account: {method: GET, url: "https://x.test/a", response_data_location: results, match: {phone: PHONE_NUMBER, email: EMAIL}}
  create_account: {method: POST, url: "https://x.test/a", response_data_location: user}
  create_record: {method: POST, url: "https://x.test/r", response_data_location: ""}
  update_record: {method: PUT, url: "https://x.test/r/{RECORD_ID}", response_data_location: ticket}
  add_comment: {method: PUT, url: "https://x.test/r/{RECORD_ID}", response_data_location: ticket, expect: no_body}
`;

describe('extract: what success looks like (expect)', () => {
  const c = connector(BASE);
  test.each<[string, 'update_record' | 'add_comment', unknown, object]>([
    ['update: the ticket and its id', 'update_record', { ticket: { id: 5 } }, { found: true, id: 5 }],
    ['update: 200 []', 'update_record', [], { found: true, data: null }],
    ['update: a list of messages', 'update_record', [{ message: 'Updated' }], { found: true, data: null }],
    ['update: empty body / 204', 'update_record', undefined, { found: true, data: null }],
    ['update: an object without the ticket', 'update_record', { status: 'ok' }, { found: true, data: null }],
    ['update: the ticket without an id', 'update_record', { ticket: { subject: 'x' } }, { found: true, id: undefined }],
    ['comment with expect: no_body ignores the body', 'add_comment', { ticket: { id: 5 } }, { found: true, data: null }],
  ])('%s', (_n, op, body, expected) => {
    expect(extract(c.endpoints.get(op)!, body)).toMatchObject(expected);
  });

  test.each<[string, 'create_account' | 'create_record', unknown, RegExp]>([
    [
      'create: no body',
      'create_account',
      undefined,
      /^create_account: the CRM answered success with no body.*Fix response_data_location and id_location of endpoints\.create_account near line \d+/,
    ],
    [
      'create: 201 []',
      'create_record',
      [],
      /^create_record: response_data_location "" is an empty list\. Fix response_data_location of endpoints\.create_record near line \d+/,
    ],
    ['create: location missing', 'create_account', { person: {} }, /^create_account: response_data_location "user" not found.*near line \d+/],
    ['create: no id', 'create_account', { user: { name: 'x' } }, /^create_account: id_location "id" not found.*near line \d+/],
  ])('%s → an error naming the YAML line', (_n, op, body, message) => {
    expect(() => extract(c.endpoints.get(op)!, body)).toThrow(message);
  });
});

describe('extract: the find guard', () => {
  const c = connector(BASE);
  const ep = c.endpoints.get('find_account')!;
  const values = { PHONE_NUMBER: '+1 222 333 4444' };
  test.each<[string, unknown, object]>([
    [
      'strangers are dropped',
      {
        results: [
          { id: 1, phone: '+15550000001' },
          { id: 2, phone: '(222) 333-4444' },
        ],
      },
      { found: true, id: 2, matches: 1, dropped: 1 },
    ],
    ['only strangers → not found', { results: [{ id: 1, phone: '+15550000001' }] }, { found: false, dropped: 1 }],
    ['a single object that is not the caller → not found', { results: { id: 1, phone: '+15550000001' } }, { found: false }],
  ])('%s', (_n, body, expected) => expect(extract(ep, body, { values, region: 'US' })).toMatchObject(expected));

  test('several callers without a sort field → ambiguous_match naming the line and the fixes', () => {
    const body = {
      results: [
        { id: 1, phone: '2223334444' },
        { id: 2, phone: '+12223334444' },
        { id: 3, phone: '+15550000001' },
      ],
    };
    expect(() => extract(ep, body, { values, region: 'US' })).toThrow(
      /^find_account: 2 matches \(after dropping 1 that are not the caller\) and the matches carry no sort field.*Fix endpoints\.find_account near line \d+: add match:.*sort_by:.*on_several_matches: first$/,
    );
  });
});

describe('compile: find guard settings', () => {
  test.each<[string, string, RegExp]>([
    [
      'unknown variable in match',
      '  find_account: {method: GET, url: "https://x.test/a", match: {phone: PHONE}}\n',
      /endpoints\.find_account\.match\.phone: match values name a variable.*unknown variable "PHONE"/,
    ],
    [
      'a create may not give up its id',
      '  find_account: {method: GET, url: "https://x.test/a"}\n  create_account: {method: POST, url: "https://x.test/a", expect: id_optional}\n',
      /create_account must return the new object's id/,
    ],
    ['bad on_several_matches', '  find_account: {method: GET, url: "https://x.test/a", on_several_matches: newest}\n', /on_several_matches/],
  ])('%s', (_n, eps, message) => {
    const r = compileConnector(`auth: {type: none}\nsettings: {skip_account_creation: true}\nendpoints:\n${eps}`, 'x.yaml', {});
    const text = r.issues
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.line}:${i.path}: ${i.message}`)
      .join('\n');
    expect(text).toMatch(message);
    expect(text).toMatch(/^\d+:/);
  });

  test('searches inherit the endpoint and get their own line', () => {
    const c = connector(`  find_account:
    method: GET
    url: "https://x.test/search"
    response_data_location: results
    searches:
      - name: phone
        params: {q: "phone:{PHONE_NUMBER}"}
        match: {phone: PHONE_NUMBER}
      - params: {q: "email:{EMAIL}"}
        url: "https://x.test/other"
  create_account: {method: POST, url: "https://x.test/a"}
`);
    const ep = c.endpoints.get('find_account')!;
    expect(ep.searches.map((s) => s.name)).toEqual(['phone', 'searches[1]']);
    expect(ep.searches[0].endpoint).toMatchObject({
      urlSource: 'https://x.test/search',
      responseDataLocationSource: 'results',
      match: [{ source: 'phone', variable: 'PHONE_NUMBER', kind: 'phone' }],
      line: 9,
    });
    expect(ep.searches[1].endpoint).toMatchObject({ urlSource: 'https://x.test/other', match: [] });
    expect([...ep.searches[1].endpoint.variables]).toEqual(['EMAIL']);
  });
});
