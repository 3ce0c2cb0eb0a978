/** The connector's events: block (identity paths, unidentified time, record pop): compiled, and mistakes named by file, line and path. */
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';

const FILE = 'config/test.yaml';
const head = `auth:
  type: none
base_url: https://crm.example.com
lookup_urls:
  record: https://crm.example.com/tickets/{RECORD_ID}
endpoints:
  find_account: { method: GET, url: /users, params: { phone: "{PHONE_NUMBER}" }, response_data_location: users }
  create_account: { method: POST, url: /users, params: { name: "{NAME}" } }
  create_record: { method: POST, url: /tickets, params: { subject: "{TICKET_SUBJECT}" } }
`;
const compile = (text: string, env: NodeJS.ProcessEnv = {}) => compileConnector(text, FILE, env);
const errors = (text: string) =>
  compile(text)
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('identity paths, unidentified time and record pop compile; defaults without an events block', () => {
  const r = compile(
    `${head}events:
  identity:
    phone: [end_user.phone, custom_sip_headers.X-Caller-Number]
    end_user_id: ["participants[type=end_user].end_user_id"]
  unidentified_after_seconds: 600
  record_pop: { url: "https://pop.example.com/hook", headers: { Authorization: "\${env:POP_TOKEN}" } }
`,
    { POP_TOKEN: 'Bearer pop-secret-123' },
  );
  expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
  const e = r.connector!.events;
  expect(e.identity.map((x) => [x.variable, x.paths.map((p) => p.source)])).toEqual([
    ['PHONE_NUMBER', ['end_user.phone', 'custom_sip_headers.X-Caller-Number']],
    ['UJET_ID', ['participants[type=end_user].end_user_id']],
  ]);
  expect(e.unidentifiedAfterMs).toBe(600_000);
  expect(e.recordPop).toEqual({ url: 'https://pop.example.com/hook', headers: { Authorization: 'Bearer pop-secret-123' } });
  // The header is a secret: masked in what GET /v1/connectors/{id} shows.
  expect(r.connector!.secrets).toContain('Bearer pop-secret-123');
  expect(JSON.stringify(r.connector!.source)).not.toContain('pop-secret');

  expect(compile(head).connector!.events).toEqual({ identity: [], unidentifiedAfterMs: 3_600_000, recordPop: undefined });
});

test.each([
  [
    'a bad path',
    `events:
  identity:
    phone: [end_user.phone, "participants[type].phone"]
`,
    'participants[type]',
    /config\/test\.yaml:\d+:\d+ events\.identity\.phone\[1\]: "\[type\]" in path "participants\[type\]\.phone": a selector is \[N\] or \[field=value\]/,
  ],
  [
    'an empty segment',
    `events:
  identity:
    email: ["end_user..email"]
`,
    'end_user..email',
    /events\.identity\.email\[0\]: empty segment/,
  ],
  [
    'an unknown identity field',
    `events:
  identity:
    fax: [end_user.fax]
`,
    'fax:',
    /events\.identity.*fax/,
  ],
  [
    'a record pop URL that is not http(s)',
    `events:
  record_pop: { url: "ftp://pop.example.com" }
`,
    'record_pop',
    /events\.record_pop\.url/,
  ],
  [
    'a zero unidentified time',
    `events:
  unidentified_after_seconds: 0
`,
    'unidentified_after_seconds',
    /events\.unidentified_after_seconds/,
  ],
])('%s is an error naming file, line and path', (_name, block, needle, message) => {
  const text = head + block;
  const errs = errors(text);
  expect(errs).toEqual([expect.stringMatching(message)]);
  expect(errs[0]).toContain(`config/test.yaml:${lineOf(text, needle)}:`);
});

test('a record pop without lookup_urls.record is a warning: nothing could be sent', () => {
  const text = `${head.replace(/lookup_urls:\n.*\n/, '')}events:\n  record_pop: { url: "https://pop.example.com/hook" }\n`;
  const r = compile(text);
  expect(r.issues.map(formatIssue)).toEqual([expect.stringMatching(/warning|events\.record_pop: record_pop sends lookup_urls\.record/)]);
});
