/** settings.escape_values: caller data cannot change a CRM query (SOQL, Zoho criteria). */
import { compileConnector } from '../../src/config/compile';
import { buildRequest } from '../../src/operations/request';
import { prepareCall } from '../../src/operations/variables';
import { ESCAPERS } from '../../src/template/render';

test.each([
  ['soql', "o'brien@x.com", "o\\'brien@x.com"],
  ['soql', 'a\\b', 'a\\\\b'],
  ['zoho_criteria', 'x) or (Last_Name:starts_with:', 'x\\) or \\(Last_Name:starts_with:'],
  ['zoho_criteria', 'a,b', 'a\\,b'],
  ['json', 'a"b@x.com', 'a\\"b@x.com'],
  ['json', 'back\\slash', 'back\\\\slash'],
  ['json', 'line\nbreak\u0001', 'line\\nbreak\\u0001'],
] as const)('%s escapes %j', (mode, input, out) => {
  expect(ESCAPERS[mode](input)).toBe(out);
});

test('escaping applies to values composed into text and function arguments, not to whole-variable params or headers', () => {
  const yaml = `auth: {type: none}
settings: {escape_values: soql}
endpoints:
  find_account:
    method: GET
    url: "https://crm.test/query"
    headers: { X-Who: "agent {AGENT_EMAIL}" }
    params: { q: "=CONCAT_OR(Email = '{EMAIL}', Phone = '{PHONE_NUMBER}')", raw: "{EMAIL}" }
  create_account: {method: POST, url: "https://crm.test/c"}
`;
  const c = compileConnector(yaml, 'x.yaml', {}).connector!;
  const ep = c.endpoints.get('find_account')!;
  const req = buildRequest(c, ep, prepareCall({ EMAIL: "o'brien@x.com", AGENT_EMAIL: "k'im" }, c, ep, Date.now()));
  const url = new URL(req.url);
  expect(url.searchParams.get('q')).toBe("Email = 'o\\'brien@x.com'");
  expect(url.searchParams.get('raw')).toBe("o'brien@x.com");
  expect(req.headers['X-Who']).toBe("agent k'im");
});

test('escape_values: json keeps a JSON text parameter valid when an e-mail contains a quote', () => {
  const yaml = `auth: {type: none}
settings: {escape_values: json}
endpoints:
  find_account:
    method: POST
    url: "https://crm.test/search"
    params: { query: '{"filter": {"email": "{EMAIL}"}}' }
  create_account: {method: POST, url: "https://crm.test/c"}
`;
  const c = compileConnector(yaml, 'x.yaml', {}).connector!;
  const ep = c.endpoints.get('find_account')!;
  const email = 'we"ird\\@x.com';
  const req = buildRequest(c, ep, prepareCall({ EMAIL: email }, c, ep, Date.now()));
  const query = (req.body as { value: { query: string } }).value.query;
  expect(JSON.parse(query)).toEqual({ filter: { email } });
});
