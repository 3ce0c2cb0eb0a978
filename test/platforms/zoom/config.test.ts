/** webhooks.zoom in a connector file: defaults, errors at their YAML path, secrets masked even when written literally. */
import { compileConnector } from '../../../src/config/compile';
import { formatIssue } from '../../../src/config/yaml-source';
import { bundled } from '../../helpers/harness';

const base = bundled('zendesk.yaml');
const compile = (block: string, env: Record<string, string> = {}) =>
  compileConnector(`${base}\nwebhooks:\n  zoom:\n${block}`, 'zd.yaml', { ZENDESK_URL: 'http://127.0.0.1:4010', ...env });

test('defaults', () => {
  const r = compile('    secret_token: literal-secret-token\n    account_id: acc\n    client_id: cid\n    client_secret: literal-client-secret\n');
  expect(r.issues.map(formatIssue)).toEqual([]);
  const z = r.connector!.webhooks.zoom!;
  expect(z).toMatchObject({
    apiBaseUrl: 'https://api.zoom.us/v2',
    tokenUrl: 'https://zoom.us/oauth/token',
    sessionIdFromSource: 'engagement_id',
    maxFileBytes: 52428800,
    reconcile: { everyMs: 86_400_000, overlapMs: 3_600_000, firstLookbackMs: 86_400_000, pageSize: 300 },
  });
  // Written in the YAML, not ${env:…}: still secrets, masked in what GET /v1/connectors/{id} shows.
  expect(r.connector!.secrets).toEqual(expect.arrayContaining(['literal-secret-token', 'literal-client-secret']));
  expect(JSON.stringify(r.connector!.source)).not.toMatch(/literal-(secret-token|client-secret)/);
});

test('a connector without webhooks has none', () => {
  expect(compileConnector(base, 'zd.yaml', { ZENDESK_URL: 'http://x' }).connector!.webhooks).toEqual({});
});

test('the URLs from the environment are not secrets (they would mask every log line naming them)', () => {
  const r = compile(
    '    secret_token: ${env:ZS}\n    account_id: acc\n    client_id: cid\n    client_secret: ${env:ZC}\n    api_base_url: ${env:ZOOM_URL}/v2\n    token_url: ${env:ZOOM_URL}/oauth/token\n',
    { ZS: 'env-secret-token', ZC: 'env-client-secret', ZOOM_URL: 'http://127.0.0.1:4020' },
  );
  expect(r.connector!.secrets).toEqual(expect.arrayContaining(['env-secret-token', 'env-client-secret']));
  expect(r.connector!.secrets).not.toContain('http://127.0.0.1:4020');
  expect(r.connector!.webhooks.zoom!.apiBaseUrl).toBe('http://127.0.0.1:4020/v2');
});

test.each([
  ['no secret_token', '    account_id: acc\n    client_id: cid\n    client_secret: literal-client-secret\n', 'webhooks.zoom', 'secret_token'],
  [
    'short client_secret',
    '    secret_token: literal-secret-token\n    account_id: acc\n    client_id: cid\n    client_secret: short\n',
    'webhooks.zoom.client_secret',
    '',
  ],
  [
    'token_url not http',
    '    secret_token: literal-secret-token\n    account_id: acc\n    client_id: cid\n    client_secret: literal-client-secret\n    token_url: ftp://x\n',
    'webhooks.zoom.token_url',
    '',
  ],
  [
    'unknown key',
    '    secret_token: literal-secret-token\n    account_id: acc\n    client_id: cid\n    client_secret: literal-client-secret\n    every_hours: 3\n',
    'webhooks.zoom.every_hours',
    'unknown property',
  ],
  [
    'bad session_id_from',
    '    secret_token: literal-secret-token\n    account_id: acc\n    client_id: cid\n    client_secret: literal-client-secret\n    session_id_from: "a[x"\n',
    'webhooks.zoom.session_id_from',
    '',
  ],
])('%s: an error at its path', (_label, block, path, word) => {
  const r = compile(block);
  expect(r.connector).toBeUndefined();
  const errors = r.issues.filter((i) => i.severity === 'error');
  expect(errors.some((i) => i.path === path && i.message.includes(word) && i.line !== undefined)).toBe(true);
  // The secret's value is never in a message.
  expect(errors.map(formatIssue).join('\n')).not.toContain('short\n');
});
