import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';

const FILE = 'config/test.yaml';

/** A minimal valid connector, as text, so tests can break one line and check where errors point. */
const BASE = `auth:
  type: basic
  username: u@example.com/token
  password: \${env:CRM_TOKEN}
base_url: https://crm.example.com
endpoints:
  find_account:
    method: GET
    url: /users/search
    params:
      phone: "{PHONE_NUMBER}"
    response_data_location: users
  create_account:
    method: POST
    url: /users
    body_format: container_map
    container_name: user
    params:
      name: "{NAME}"
    response_data_location: user
`;

const ENV = { CRM_TOKEN: 'tok-123456' };

function errors(text: string, env: NodeJS.ProcessEnv = ENV): string[] {
  return compileConnector(text, FILE, env)
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);
}

function withEndpoint(extra: string): string {
  return BASE + extra;
}

describe('a valid connector', () => {
  test('compiles into a frozen connector', () => {
    const r = compileConnector(BASE, FILE, ENV);
    expect(r.issues).toEqual([]);
    expect(r.connector?.id).toBe('test');
    expect(Object.isFrozen(r.connector)).toBe(true);
    expect(r.connector?.endpoints.get('create_account')?.containerName).toBe('user');
    expect(r.connector?.timeoutMs).toBe(5000);
  });

  test('the secret from ${env:} is resolved and listed as a secret, and masked in the shown source', () => {
    const c = compileConnector(BASE, FILE, ENV).connector!;
    expect(c.auth).toMatchObject({ type: 'basic', password: 'tok-123456' });
    expect(c.secrets).toContain('tok-123456');
    expect(JSON.stringify(c.source)).not.toContain('tok-123456');
  });

  test.each(fs.readdirSync(path.join(__dirname, '../../config')).filter((f) => f.endsWith('.yaml')))('bundled config/%s has no error or warning', (f) => {
    const text = fs.readFileSync(path.join(__dirname, '../../config', f), 'utf8');
    expect(compileConnector(text, f, {}).issues.map(formatIssue)).toEqual([]);
  });
});

describe('each rule names file, line, column and path', () => {
  test.each<[string, string, string]>([
    [
      'YAML syntax',
      BASE.replace('  type: basic', '  type: basic\n   bad: [unclosed'),
      'config/test.yaml:2:9: YAML: Nested mappings are not allowed in compact mappings\n',
    ],
    ['missing env secret', BASE, 'config/test.yaml:4:13 auth.password: environment variable CRM_TOKEN is not set'],
    [
      'schema: bad method',
      BASE.replace('method: GET', 'method: DELETE'),
      'config/test.yaml:8:13 endpoints.find_account.method: must be one of "GET", "POST", "PUT", "PATCH"',
    ],
    [
      'schema: unknown property, pointed at its key',
      BASE.replace('    response_data_location: users', '    response_location: users'),
      'config/test.yaml:12:5 endpoints.find_account.response_location: unknown property "response_location"',
    ],
    ['schema: timeout range', `timeout_seconds: 30\n${BASE}`, 'config/test.yaml:1:18 timeout_seconds: must be <= 10'],
    [
      'schema: container without name',
      BASE.replace('    container_name: user\n', ''),
      'config/test.yaml:14:5 endpoints.create_account: missing required property "container_name"',
    ],
    [
      'schema: oauth2 without token_url',
      BASE.replace(/auth:\n( {2}.*\n){3}/, 'auth:\n  type: oauth2\n  authorization_url: https://crm.example.com/auth\n  client_id: a\n  client_secret: b\n'),
      'config/test.yaml:2:3 auth: missing required property "token_url"',
    ],
    [
      'unknown variable with a hint',
      BASE.replace('"{PHONE_NUMBER}"', '"{PHONE_NUMBR}"'),
      'config/test.yaml:11:14 endpoints.find_account.params.phone: unknown variable {PHONE_NUMBR} (did you mean {PHONE_NUMBER}?)',
    ],
    [
      'unknown variable in a URL',
      BASE.replace('url: /users\n', 'url: /users/{USER}\n'),
      'config/test.yaml:15:10 endpoints.create_account.url: unknown variable {USER}',
    ],
    [
      'unknown variable inside a function',
      BASE.replace('"{NAME}"', '"=DEFAULT_VALUE({NAM}, x)"'),
      'endpoints.create_account.params.name: unknown variable {NAM} (did you mean {NAME}?)',
    ],
    ['unknown variable in handlebars text', BASE.replace('"{NAME}"', '"Hello {{NAMEE}}"'), 'endpoints.create_account.params.name: unknown variable {NAMEE}'],
    [
      'malformed function',
      BASE.replace('"{NAME}"', '"=CONCAT_OR({NAME}, {EMAIL}"'),
      'config/test.yaml:19:13 endpoints.create_account.params.name: function CONCAT_OR: missing closing ")"',
    ],
    ['unknown function', BASE.replace('"{NAME}"', '"=COALESCE({NAME}, x)"'), 'endpoints.create_account.params.name: unknown function COALESCE'],
    ['handlebars syntax error', BASE.replace('"{NAME}"', '"{{#if NAME}}x"'), 'endpoints.create_account.params.name: handlebars template:'],
    [
      'GET with a body format',
      BASE.replace('    method: GET\n', '    method: GET\n    body_format: properties\n'),
      'config/test.yaml:9:18 endpoints.find_account.body_format: a GET request has no body',
    ],
    [
      'GET with nested params',
      BASE.replace('      phone: "{PHONE_NUMBER}"', '      filter:\n        phone: "{PHONE_NUMBER}"'),
      'endpoints.find_account.params.filter: GET params become the query string',
    ],
    [
      'relative URL without base_url',
      BASE.replace('base_url: https://crm.example.com\n', ''),
      'endpoints.find_account.url: "/users/search" is relative but the connector has no base_url',
    ],
    [
      'record endpoints without account endpoints',
      `${BASE.replace(/ {2}create_account:[\s\S]*$/, '')}  create_record:\n    method: POST\n    url: /tickets\n`,
      'endpoints.create_record: create_record needs the account endpoints',
    ],
    [
      'update without record endpoints',
      withEndpoint('  update_record:\n    method: PUT\n    url: /tickets/{RECORD_ID}\n'),
      'config/test.yaml:22:5 endpoints.update_record: update_record needs the record endpoints',
    ],
    [
      'comment without record endpoints',
      withEndpoint('  add_comment:\n    method: POST\n    url: /tickets/{RECORD_ID}/comments\n'),
      'endpoints.add_comment: add_comment needs the record endpoints',
    ],
    [
      'upload without record endpoints',
      withEndpoint('  upload_file:\n    method: POST\n    url: /files\n'),
      'endpoints.upload_file: upload_file needs the record endpoints',
    ],
    [
      'create_account required',
      BASE.replace(/ {2}create_account:[\s\S]*$/, ''),
      'endpoints: create_account is required unless settings.skip_account_creation is true',
    ],
    [
      'base64 upload without FILE_DATA',
      withEndpoint('  create_record:\n    method: POST\n    url: /t\n  upload_file:\n    method: POST\n    url: /files\n    upload:\n      encoding: base64\n'),
      'endpoints.upload_file.params: upload.encoding is base64 but no param carries {FILE_DATA}',
    ],
    [
      'bad response path',
      BASE.replace('response_data_location: users', 'response_data_location: "users[x]"'),
      'endpoints.find_account.response_data_location: ',
    ],
    [
      'unknown lookup variable',
      `lookup_urls:\n  account: https://crm.example.com/c/{RECORD}\n${BASE}`,
      'config/test.yaml:2:12 lookup_urls.account: unknown variable {RECORD}',
    ],
  ])('%s', (_name, text, expected) => {
    const found = errors(text, _name === 'missing env secret' ? {} : ENV);
    expect(`${found.join('\n')}\n`).toContain(expected);
  });

  test('limits: params per endpoint and template size', () => {
    const many = Array.from({ length: 501 }, (_, i) => `      p${i}: x`).join('\n');
    expect(errors(BASE.replace('      name: "{NAME}"', many)).join('\n')).toContain(
      'endpoints.create_account.params: 501 params; the limit is 500 per endpoint',
    );
    expect(errors(BASE.replace('"{NAME}"', `"${'a'.repeat(70_000)}"`)).join('\n')).toContain(
      'endpoints.create_account.params.name: this text is 70000 characters; the limit is 65536',
    );
  });

  test('all problems are reported at once', () => {
    const text = BASE.replace('method: GET', 'method: DELETE').replace('"{PHONE_NUMBER}"', '"{PHONE}"').replace('"{NAME}"', '"=NOPE(x)"');
    const found = errors(text, {});
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(found.join('\n')).toMatch(/CRM_TOKEN[\s\S]*method[\s\S]*PHONE[\s\S]*NOPE|CRM_TOKEN/);
  });

  test('declared custom variables are accepted', () => {
    expect(errors(`variables: [CRM_SEGMENT]\n${BASE.replace('"{NAME}"', '"{CRM_SEGMENT}"')}`)).toEqual([]);
  });
});

describe('warnings', () => {
  test('find_account_by_id without {ACCOUNT_ID} loads but is never used', () => {
    const r = compileConnector(withEndpoint('  find_account_by_id:\n    method: GET\n    url: /users/lookup\n'), FILE, ENV);
    expect(r.connector).toBeDefined();
    expect(r.issues.map(formatIssue)).toEqual([
      'config/test.yaml:23:10 endpoints.find_account_by_id.url: warning: find_account_by_id is never used: its URL has no {ACCOUNT_ID}',
    ]);
    expect(r.connector!.endpoints.get('find_account_by_id')!.usable).toBe(false);
  });
});
