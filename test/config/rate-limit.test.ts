/** `rate_limit:` compiles to a budget; bad values are errors naming file, line and YAML path. */
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';

const FILE = 'config/test.yaml';
const BASE = `auth:
  type: basic
  username: u@example.com/token
  password: secret-password
base_url: https://crm.example.com
endpoints:
  find_account:
    method: GET
    url: /users/search
    params:
      phone: "{PHONE_NUMBER}"
    response_data_location: users
settings:
  skip_account_creation: true
`;

function compile(rateLimit: string) {
  return compileConnector(`${BASE}rate_limit:\n${rateLimit}`, FILE, {});
}

test('requests per interval, burst, concurrency and per-operation budgets compile', () => {
  const r = compile(
    '  requests: 700\n  per_seconds: 60\n  burst: 20\n  max_concurrent: 4\n  operations:\n    find_account: { requests: 100, per_seconds: 60, burst: 5 }\n',
  );
  expect(r.issues.map(formatIssue)).toEqual([]);
  const rl = r.connector!.rateLimit!;
  expect(rl.ratePerSec).toBeCloseTo(700 / 60, 9);
  expect(rl).toMatchObject({ burst: 20, maxConcurrent: 4, countTokenCalls: false });
  expect(rl.operations.get('find_account')!.ratePerSec).toBeCloseTo(100 / 60, 9);
});

test('defaults: per second, burst = requests capped at 100; absent rate_limit: no pacing', () => {
  expect(compile('  requests: 10\n').connector!.rateLimit).toMatchObject({ ratePerSec: 10, burst: 10 });
  expect(compile('  requests: 500\n').connector!.rateLimit).toMatchObject({ ratePerSec: 500, burst: 100 });
  expect(compileConnector(BASE, FILE, {}).connector!.rateLimit).toBeUndefined();
});

test.each([
  ['zero requests', '  requests: 0\n', 'config/test.yaml:16:13 rate_limit.requests: must be > 0'],
  ['burst not an integer', '  requests: 5\n  burst: 1.5\n', 'config/test.yaml:17:10 rate_limit.burst: must be integer'],
  [
    'burst above the interval',
    '  requests: 5\n  burst: 50\n',
    'config/test.yaml:17:10 rate_limit.burst: burst 50 is more than the 5 requests of one interval: the CRM would see more than its limit at once',
  ],
  ['unknown key', '  requests: 5\n  per_minute: 3\n', 'config/test.yaml:17:3 rate_limit.per_minute: unknown property "per_minute"'],
  [
    'operation without an endpoint',
    '  requests: 5\n  operations:\n    create_account: { requests: 1 }\n',
    'config/test.yaml:18:21 rate_limit.operations.create_account: operation "create_account" has no endpoint in this connector; remove it or add endpoints.create_account',
  ],
  [
    'rate absurdly high',
    '  requests: 1000000\n  per_seconds: 1\n',
    'config/test.yaml:16:13 rate_limit.requests: 1000000 requests per 1 s is over 100000/s: no pacing at all (did you mean per_seconds: 1000000?)',
  ],
])('%s', (_name, yaml, want) => {
  const r = compile(yaml);
  expect(r.connector).toBeUndefined();
  expect(r.issues.map(formatIssue)).toContain(want);
});
