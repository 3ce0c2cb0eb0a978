/**
 * Each auth type against the sample CRM over loopback: basic, custom headers, OAuth2
 * client credentials and authorization code (with the gateway serving the authorize
 * redirect and the callback), refresh ahead of expiry, one refresh at a time, and a 401
 * that triggers one refresh and one resend.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

const zendesk = bundled('zendesk.yaml');
const withAuth = (id: string, auth: string, extra = '') =>
  zendesk
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^auth:\n( {2}.*\n)+/m, `${auth}\n`)
    .replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5\n${extra}`);

const CONNECTORS = {
  'zendesk.yaml': zendesk,
  'zd-headers.yaml': withAuth('zd-headers', 'auth:\n  type: headers\n  headers:\n    X-Api-Key: ${env:ZD_API_KEY}'),
  'zd-wrong.yaml': withAuth('zd-wrong', 'auth:\n  type: basic\n  username: agent@example.com/token\n  password: ${env:ZD_WRONG_TOKEN}'),
  'zd-cc.yaml': withAuth(
    'zd-cc',
    [
      'auth:',
      '  type: oauth2',
      '  grant: client_credentials',
      '  authorization_url: {{CRM}}/oauth/authorizations/new',
      '  token_url: {{CRM}}/oauth/tokens',
      '  client_id: sample-client',
      '  client_secret: ${env:ZD_CLIENT_SECRET}',
      '  scope: read write',
    ].join('\n'),
  ),
  'zd-code.yaml': withAuth(
    'zd-code',
    [
      'auth:',
      '  type: oauth2',
      '  grant: authorization_code',
      '  authorization_url: {{CRM}}/oauth/authorizations/new',
      '  token_url: {{CRM}}/oauth/tokens',
      '  client_id: sample-client',
      '  client_secret: ${env:ZD_CLIENT_SECRET}',
      '  scope: read write',
      '  state: crm-gateway-test',
      '  refresh_ahead_seconds: 60',
    ].join('\n'),
  ),
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    connectors: CONNECTORS,
    env: { ZD_API_KEY: 'sample-key', ZD_WRONG_TOKEN: 'not-the-token', ZD_CLIENT_SECRET: 'sample-secret' },
    // Short-lived tokens (30 s) so refresh-ahead (60 s) is exercised on every use.
    crm: {
      auth: {
        basic: [{ username: 'agent@example.com/token', password: 'sample-token' }],
        apiKeys: [{ header: 'X-Api-Key', value: 'sample-key' }],
        oauth: { clientId: 'sample-client', clientSecret: 'sample-secret', accessTokenTtlSec: 3600 },
      },
    },
  });
});
afterAll(async () => {
  await h.close();
});

const lastAuth = () => {
  const headers = h.crm.crm.requests.filter((r) => r.path.startsWith('/api/')).at(-1)!.headers as Record<string, string>;
  return { authorization: headers.authorization, apiKey: headers['x-api-key'] };
};

test('basic: Zendesk "email/token" credentials', async () => {
  const r = await h.op('create_account', { NAME: 'Basic Auth', EMAIL: 'basic@example.com' });
  expect(r.body.outcome).toBe('ok');
  expect(lastAuth().authorization).toBe(`Basic ${Buffer.from('agent@example.com/token:sample-token').toString('base64')}`);
});

test('custom headers: X-Api-Key from ${env:}', async () => {
  const r = await h.op('create_account', { NAME: 'Header Auth', EMAIL: 'headers@example.com' }, { connector: 'zd-headers' });
  expect(r.body.outcome).toBe('ok');
  expect(lastAuth()).toEqual({ authorization: undefined, apiKey: 'sample-key' });
});

test('wrong credentials: the CRM 401 is a classified failure (502), and the secret is not echoed', async () => {
  const r = await h.op('create_account', { NAME: 'Nope' }, { connector: 'zd-wrong' });
  expect(r.status).toBe(502);
  expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 401, classification: 'fail' });
  expect(JSON.stringify(r.body)).not.toContain('not-the-token');
});

describe('OAuth2 client credentials', () => {
  test('fetches a token on first use, reuses it, and re-fetches once after a 401', async () => {
    const issued = () => ({ ...h.crm.crm.state.tokens.issued });
    const before = issued().client_credentials;
    const first = await h.op('create_account', { NAME: 'CC One' }, { connector: 'zd-cc' });
    expect(first.body).toMatchObject({ outcome: 'ok' });
    expect((await h.op('find_account', { EMAIL: 'basic@example.com' }, { connector: 'zd-cc' })).body.outcome).toBe('ok');
    expect(issued().client_credentials).toBe(before + 1);
    expect(lastAuth().authorization).toMatch(/^Bearer /);

    h.crm.crm.expireAllTokens();
    const r = await h.op('create_account', { NAME: 'CC Two' }, { connector: 'zd-cc' });
    expect(r.body.outcome).toBe('ok');
    expect(r.body.attempts.map((a: { status: number }) => a.status)).toEqual([401, 201]);
    expect(issued().client_credentials).toBe(before + 2);
  });
});

describe('OAuth2 authorization code', () => {
  test('before authorization, operations say how to authorize', async () => {
    const r = await h.op('find_account', { EMAIL: 'x@example.com' }, { connector: 'zd-code' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'oauth_not_authorized', authorize_path: '/v1/connectors/zd-code/oauth/authorize' });
  });

  test('authorize → CRM consent → callback stores the token; requests then use it', async () => {
    const start = await fetch(`${h.gw.url}/v1/connectors/zd-code/oauth/authorize`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.origin).toBe(h.crm.url);
    expect(authorizeUrl.searchParams.get('client_id')).toBe('sample-client');
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${h.gw.url}/v1/oauth/callback`);
    expect(authorizeUrl.searchParams.get('scope')).toBe('read write');
    expect(authorizeUrl.searchParams.get('state')).toMatch(/^crm-gateway-test:/);

    const consent = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callback = consent.headers.get('location')!;
    expect(callback.startsWith(`${h.gw.url}/v1/oauth/callback?`)).toBe(true);
    const done = await fetch(callback);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ connector: 'zd-code', authorized: true });

    const r = await h.op('create_account', { NAME: 'Code Flow', EMAIL: 'code@example.com' }, { connector: 'zd-code' });
    expect(r.body.outcome).toBe('ok');
    expect(h.crm.crm.state.tokens.issued.authorization_code).toBe(1);
  });

  test('a replayed or forged callback is refused', async () => {
    const r = await h.get('/v1/oauth/callback?code=abc&state=forged');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('oauth_callback_invalid');
  });

  test('an expired token is refreshed once, however many requests wait for it', async () => {
    const before = h.crm.crm.state.tokens.issued.refresh_token;
    h.crm.crm.expireAllTokens();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => h.op('find_account', { EMAIL: `code${i}@example.com` }, { connector: 'zd-code' })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    // Each request saw a 401 or a fresh token; the refresh itself ran once.
    expect(h.crm.crm.state.tokens.issued.refresh_token).toBe(before + 1);
  });
});
