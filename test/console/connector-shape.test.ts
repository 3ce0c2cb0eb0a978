/** How the console reads and shows connector answers: positioned issues or plain text, both rejected-change shapes, settings in words. */
import {
  baseName,
  duration,
  errorsOf,
  issueText,
  rejectedAt,
  rejectedErrors,
  settings,
  warningsOf,
  type ConnectorItem,
} from '../../console/src/connector-shape';

const item = (extra: Partial<ConnectorItem>): ConnectorItem => ({ id: 'z', errors: [], operations: [], ...extra });

test.each([
  ['positioned', { line: 23, col: 18, path: 'timeout_seconds', message: 'must be number' }, '23:18 timeout_seconds: must be number'],
  ['no column', { line: 4, path: 'auth', message: 'required' }, '4:1 auth: required'],
  ['no position', { path: 'endpoints', message: 'at least one' }, 'endpoints: at least one'],
  ['already text', 'z.yaml:3:1 id: bad', 'z.yaml:3:1 id: bad'],
])('issueText: %s', (_name, issue, text) => {
  expect(issueText(issue as never)).toBe(text);
});

test('errors and warnings come from the positioned issues when the API gives them, else from the text lists', () => {
  const positioned = item({
    errors: ['text error'],
    warnings: ['text warning'],
    issues: [
      { severity: 'error', line: 1, path: 'a', message: 'x' },
      { severity: 'warning', line: 2, path: 'b', message: 'y' },
    ],
  });
  expect(errorsOf(positioned)).toEqual([{ severity: 'error', line: 1, path: 'a', message: 'x' }]);
  expect(warningsOf(positioned)).toEqual([{ severity: 'warning', line: 2, path: 'b', message: 'y' }]);
  expect(errorsOf(item({ errors: ['text error'] }))).toEqual(['text error']);
  expect(warningsOf(item({}))).toEqual([]);
});

test.each([
  ['none', {}, undefined, undefined],
  [
    'positioned, with its time',
    {
      rejected: {
        at: '2026-01-01T00:00:00Z',
        issues: [
          { severity: 'error', message: 'e' },
          { severity: 'warning', message: 'w' },
        ],
      },
    },
    [{ severity: 'error', message: 'e' }],
    '2026-01-01T00:00:00Z',
  ],
  ['a text list', { rejected_change: ['f.yaml:1:1 e'] }, ['f.yaml:1:1 e'], undefined],
  ['an object', { rejected_change: { at: '2026-01-02T00:00:00Z', errors: ['e'] } }, ['e'], '2026-01-02T00:00:00Z'],
])('rejected change: %s', (_name, extra, errors, at) => {
  const c = item(extra as Partial<ConnectorItem>);
  expect(rejectedErrors(c)).toEqual(errors);
  expect(rejectedAt(c)).toBe(at);
});

test.each([
  [30_000, '30 s'],
  [21_600_000, '6 h'],
  [604_800_000, '7 d'],
  [90_000, '90 s'],
  [1500, '1500 ms'],
])('duration(%d) = %s', (ms, text) => {
  expect(duration(ms)).toBe(text);
});

test('settings: scalars as key: value, …Ms in words, nested values left out', () => {
  expect(settings({ profile: 'spec', initialDelayMs: 30_000, factor: 2, retryableStatuses: [429] })).toBe('profile: spec, initialDelay: 30 s, factor: 2');
  expect(settings(undefined)).toBe('');
});

test('baseName drops the folder, either separator', () => {
  expect(baseName('/tmp/x/config/zendesk.yaml')).toBe('zendesk.yaml');
  expect(baseName('C:\\config\\zendesk.yaml')).toBe('zendesk.yaml');
  expect(baseName(undefined)).toBeUndefined();
});
