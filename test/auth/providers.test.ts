/**
 * The fixed-credential auth providers and the choice of provider per connector: what each adds
 * to a request, which header names it declares (they are masked in previews and logs), and that
 * a 401 never makes them resend (only OAuth2 can get new credentials; see oauth-refresh.test.ts).
 */
import { createAuthProvider, OAuth2Provider } from '../../src/auth';
import { basicAuth, headerAuth, noAuth } from '../../src/auth/static';
import type { AuthProvider } from '../../src/auth/types';
import { compileConnector } from '../../src/config/compile';

async function headersOf(p: AuthProvider, start: Record<string, string> = {}): Promise<Record<string, string>> {
  const h = { ...start };
  await p.apply(h);
  return h;
}

test.each<[string, AuthProvider, Record<string, string>, string[]]>([
  [
    'basic: RFC 7617 user:password in base64',
    basicAuth('agent@example.com/token', 'sample-token'),
    { Authorization: `Basic ${Buffer.from('agent@example.com/token:sample-token').toString('base64')}` },
    ['Authorization'],
  ],
  [
    'basic: a colon in the password is kept (only the first one separates)',
    basicAuth('u', 'p:a:ss'),
    { Authorization: `Basic ${Buffer.from('u:p:a:ss').toString('base64')}` },
    ['Authorization'],
  ],
  [
    'headers: every fixed header',
    headerAuth({ 'X-Api-Key': 'k-123456789', Authorization: 'Bearer t-123456789' }),
    { 'X-Api-Key': 'k-123456789', Authorization: 'Bearer t-123456789' },
    ['X-Api-Key', 'Authorization'],
  ],
  ['none: nothing', noAuth, {}, []],
])('%s', async (_what, provider, added, names) => {
  expect(await headersOf(provider, { Accept: 'application/json' })).toEqual({ Accept: 'application/json', ...added });
  expect(provider.headerNames).toEqual(names);
  expect(await provider.onUnauthorized()).toBe(false);
});

test('a fixed header replaces a same-named header the endpoint set (credentials win)', async () => {
  expect(await headersOf(headerAuth({ Authorization: 'Bearer right' }), { Authorization: 'Bearer from-endpoint' })).toEqual({ Authorization: 'Bearer right' });
});

function connectorWith(auth: string) {
  const r = compileConnector(
    `auth: ${auth}
base_url: https://crm.test
endpoints:
  find_account: {method: GET, url: /u, params: {phone: "{PHONE_NUMBER}"}}
  create_account: {method: POST, url: /u, params: {phone: "{PHONE_NUMBER}"}}
`,
    'auth.yaml',
    { SECRET: 'a-long-enough-secret' },
  );
  if (!r.connector) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.connector;
}

test.each([
  ['basic', '{type: basic, username: u, password: "${env:SECRET}"}', { Authorization: `Basic ${Buffer.from('u:a-long-enough-secret').toString('base64')}` }],
  ['headers', '{type: headers, headers: {X-Api-Key: "${env:SECRET}"}}', { 'X-Api-Key': 'a-long-enough-secret' }],
  ['none', '{type: none}', {}],
])('createAuthProvider: %s', async (_type, auth, added) => {
  expect(await headersOf(createAuthProvider(connectorWith(auth), {} as never))).toEqual(added);
});

test('createAuthProvider: oauth2 gets the OAuth2 provider, which previews without fetching a token', async () => {
  const c = connectorWith(
    '{type: oauth2, grant: client_credentials, authorization_url: https://crm.test/oauth/authorize, token_url: https://crm.test/oauth/token, client_id: cid, client_secret: "${env:SECRET}"}',
  );
  const p = createAuthProvider(c, { store: undefined } as never);
  expect(p).toBeInstanceOf(OAuth2Provider);
  expect(p.headerNames).toContain('Authorization');
  const h: Record<string, string> = {};
  await p.apply(h, { dryRun: true });
  expect(h.Authorization).toBeDefined();
  expect(h.Authorization).not.toContain('a-long-enough-secret');
});
