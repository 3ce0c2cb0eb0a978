/** `{NAME:number}`, `{NAME:boolean}`, `{NAME:string}`, `{NAME:json}`: compiled once, cast when rendered. */
import { compileConnector } from '../../src/config/compile';
import { isGatewayError } from '../../src/errors';
import { buildRequest } from '../../src/operations/request';
import { castValue } from '../../src/template/casts';
import { compileValue, type TemplateIssue } from '../../src/template/compile';
import { DROP, renderNode } from '../../src/template/render';

function render(value: unknown, vars: Record<string, unknown>) {
  const issues: TemplateIssue[] = [];
  const node = compileValue(value, issues);
  expect(issues).toEqual([]);
  const out = renderNode(node, { vars, html: false, missing: new Set() });
  return out === DROP ? 'DROPPED' : out;
}

describe('castValue', () => {
  test.each<[unknown, 'number' | 'boolean' | 'string', unknown]>([
    ['1001', 'number', 1001],
    [' 42 ', 'number', 42],
    ['-3.5', 'number', -3.5],
    ['1e3', 'number', 1000],
    [7, 'number', 7],
    ['true', 'boolean', true],
    ['FALSE', 'boolean', false],
    ['yes', 'boolean', true],
    ['0', 'boolean', false],
    [1, 'boolean', true],
    [false, 'boolean', false],
    [1001, 'string', '1001'],
    [true, 'string', 'true'],
    ['x', 'string', 'x'],
  ])('%j as %s → %j', (v, cast, out) => {
    expect(castValue(v, cast)).toEqual({ ok: true, value: out });
  });

  test.each<[unknown, 'number' | 'boolean']>([
    ['12a', 'number'],
    ['', 'number'],
    ['0x10', 'number'],
    [true, 'number'],
    ['99999999999999999999', 'number'],
    ['maybe', 'boolean'],
    [2, 'boolean'],
    ['', 'boolean'],
  ])('%j cannot be cast to %s', (v, cast) => {
    expect(castValue(v, cast).ok).toBe(false);
  });
});

describe('rendering', () => {
  test.each<[unknown, Record<string, unknown>, unknown]>([
    ['{ACCOUNT_ID:number}', { ACCOUNT_ID: '1001' }, 1001],
    ['{ACCOUNT_ID}', { ACCOUNT_ID: '1001' }, '1001'],
    ['{VERIFIED:boolean}', { VERIFIED: 'yes' }, true],
    ['{RATING:string}', { RATING: 5 }, '5'],
    ['{ACCOUNT_ID:number}', {}, 'DROPPED'],
    ['id {ACCOUNT_ID:number}', { ACCOUNT_ID: ' 7 ' }, 'id 7'],
    [
      { requester_id: '{ACCOUNT_ID:number}', tags: ['{CHANNEL:string}'] },
      { ACCOUNT_ID: '12', CHANNEL: 'chat' },
      { requester_id: 12, tags: ['chat'] },
    ],
    ['=DEFAULT_VALUE({ACCOUNT_ID:number}, 0)', { ACCOUNT_ID: '5' }, '5'],
  ])('%j with %j → %j', (src, vars, out) => {
    expect(render(src, vars)).toEqual(out);
  });

  test('a value that cannot be cast is a 422 invalid_variable_value naming the variable', () => {
    const node = compileValue({ id: '{ACCOUNT_ID:number}' });
    let err: unknown;
    try {
      renderNode(node, { vars: { ACCOUNT_ID: 'temp-1' }, html: false, missing: new Set() });
    } catch (e) {
      err = e;
    }
    expect(isGatewayError(err) && err.code).toBe('invalid_variable_value');
    expect(isGatewayError(err) && err.status).toBe(422);
    expect((err as Error).message).toContain('ACCOUNT_ID');
    expect(isGatewayError(err) && err.extensions.field).toBe('variables.ACCOUNT_ID');
  });
});

describe('load time', () => {
  test('an unknown cast name is a template issue at its path', () => {
    const issues: TemplateIssue[] = [];
    compileValue({ a: { b: '{ACCOUNT_ID:int}' } }, issues);
    expect(issues).toEqual([{ path: ['a', 'b'], message: '{ACCOUNT_ID:int}: unknown cast "int"; casts are number, boolean, string, json' }]);
  });

  test('the connector error names file, line and YAML path; in params and in the URL', () => {
    const yaml = `auth: {type: none}
endpoints:
  create_account:
    method: POST
    url: "https://crm.test/c/{ACCOUNT_ID:integer}"
    params:
      id: "{ACCOUNT_ID:int}"
`;
    const r = compileConnector(yaml, 'x.yaml', {});
    const text = JSON.stringify(r.issues);
    expect(r.connector).toBeUndefined();
    expect(text).toMatch(/unknown cast \\"int\\"/);
    expect(text).toMatch(/unknown cast \\"integer\\"/);
    const params = r.issues.find((i) => /"int"/.test(i.message))!;
    expect(params).toMatchObject({ file: 'x.yaml', line: 7 });
    expect(params.path).toContain('params');
  });

  test('a known variable with a cast passes the unknown-variable check; an unknown one still fails', () => {
    const ok = compileConnector(
      `auth: {type: none}
endpoints:
  find_account: {method: GET, url: "https://crm.test/f"}
  create_account: {method: POST, url: "https://crm.test/c", params: {n: "{RATING:number}"}}
`,
      'ok.yaml',
      {},
    );
    expect(ok.issues.filter((i) => i.severity !== 'warning')).toEqual([]);
    const bad = compileConnector(
      `auth: {type: none}
endpoints:
  create_account: {method: POST, url: "https://crm.test/c", params: {n: "{RATTING:number}"}}
`,
      'bad.yaml',
      {},
    );
    expect(JSON.stringify(bad.issues)).toContain('unknown variable {RATTING}');
  });

  test('a request body carries the cast value', () => {
    const c = compileConnector(
      `auth: {type: none}
endpoints:
  find_account: {method: GET, url: "https://crm.test/f"}
  create_account: {method: POST, url: "https://crm.test/c", params: {owner: "{ACCOUNT_ID:number}", vip: "{VERIFIED:boolean}"}}
`,
      'x.yaml',
      {},
    ).connector!;
    const req = buildRequest(c, c.endpoints.get('create_account')!, { ACCOUNT_ID: '1001', VERIFIED: 'no' });
    expect(req.body).toEqual({ kind: 'json', value: { owner: 1001, vip: false } });
  });
});

test('a bad cast in a lookup URL is a load error at its line', () => {
  const r = compileConnector(
    `auth: {type: none}
lookup_urls:
  record: "https://crm.test/r/{RECORD_ID:nmber}"
endpoints:
  find_account: {method: GET, url: "https://crm.test/f"}
  create_account: {method: POST, url: "https://crm.test/c"}
`,
    'x.yaml',
    {},
  );
  expect(r.issues.find((i) => /unknown cast "nmber"/.test(i.message))).toMatchObject({ file: 'x.yaml', line: 3 });
});
