import { DEFAULT_SAMPLE_CRM_AUTH } from '../../src/sample-crm';
import { basicHeader, manualClock, startApi, type Api } from './helpers';

const AUTH_FAILED = { error: "Couldn't authenticate you" };

describe('sample CRM auth (default credentials)', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.running.close());

  it('exports the documented defaults', () => {
    expect(DEFAULT_SAMPLE_CRM_AUTH.basic[0]).toEqual({ username: 'agent@example.com/token', password: 'sample-token' });
    expect(DEFAULT_SAMPLE_CRM_AUTH.apiKeys[0]).toEqual({ header: 'X-Api-Key', value: 'sample-key' });
    expect(DEFAULT_SAMPLE_CRM_AUTH.oauth).toMatchObject({ clientId: 'sample-client', clientSecret: 'sample-secret' });
  });

  it('accepts the default basic API-token credential', async () => {
    const res = await api.json('/api/v2/users.json');
    expect(res.status).toBe(200);
    expect(api.running.crm.requests.at(-1)?.auth).toEqual({ method: 'basic', subject: 'agent@example.com/token' });
  });

  it('accepts the API key header, case-insensitively by name', async () => {
    const res = await api.json('/api/v2/users.json', { headers: { authorization: null, 'x-API-key': 'sample-key' } });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no credentials', {}],
    ['wrong password', { authorization: basicHeader('agent@example.com/token', 'nope') }],
    ['wrong api key', { 'x-api-key': 'nope' }],
    ['malformed basic', { authorization: 'Basic !!!' }],
  ])('rejects %s with Zendesk 401 body', async (_name, headers: Record<string, string>) => {
    const res = await api.json('/api/v2/users.json', { headers: { authorization: null, ...headers } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(AUTH_FAILED);
  });

  it('rejects an unknown bearer token with WWW-Authenticate', async () => {
    const res = await api.json('/api/v2/users.json', { headers: { authorization: 'Bearer not-a-token' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    expect(res.body).toMatchObject({ error: 'invalid_token' });
  });

  it('does not protect the OAuth or control endpoints', async () => {
    const res = await api.json('/__control/state', { headers: { authorization: null } });
    expect(res.status).toBe(200);
  });
});

describe('sample CRM auth (custom options)', () => {
  let api: Api;
  const clock = manualClock();
  beforeAll(async () => {
    api = await startApi({
      clock: clock.now,
      auth: {
        basic: [{ username: 'ann@example.com', password: 'pw:with:colons' }],
        apiKeys: [{ header: 'Authorization-Key', value: 'k1' }],
        oauth: { clientId: 'cid', clientSecret: 'sec', accessTokenTtlSec: 60 },
      },
    });
  });
  afterAll(() => api.running.close());

  it('uses exactly the configured credentials, not the defaults', async () => {
    expect((await api.json('/api/v2/users.json', { headers: { authorization: basicHeader('ann@example.com', 'pw:with:colons') } })).status).toBe(200);
    expect((await api.json('/api/v2/users.json', { headers: { authorization: null, 'authorization-key': 'k1' } })).status).toBe(200);
    expect((await api.json('/api/v2/users.json')).status).toBe(401); // default basic
    expect((await api.json('/api/v2/users.json', { headers: { authorization: null, 'x-api-key': 'sample-key' } })).status).toBe(401);
  });

  const token = (body: Record<string, string>, headers: Record<string, string | null> = {}) =>
    api.json<Record<string, string | number>>('/oauth/tokens', {
      method: 'POST',
      body: new URLSearchParams(body).toString(),
      headers: { authorization: null, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  async function authorize(params: Record<string, string>): Promise<URL> {
    const res = await fetch(`${api.url}/oauth/authorizations/new?${new URLSearchParams(params)}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location') ?? '');
  }

  it('authorization code flow: redirect with code+state, exchange, use, single-use code', async () => {
    const location = await authorize({
      response_type: 'code',
      client_id: 'cid',
      redirect_uri: 'https://app.example/cb?x=1',
      scope: 'read write',
      state: 'xyz',
    });
    expect(location.origin + location.pathname).toBe('https://app.example/cb');
    expect(location.searchParams.get('x')).toBe('1');
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const before = api.running.crm.state.tokens.issued.authorization_code;
    const res = await token(
      { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb?x=1' },
      { authorization: basicHeader('cid', 'sec') },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'bearer', scope: 'read write', expires_in: 60 });
    expect(typeof res.body.access_token).toBe('string');
    expect(typeof res.body.refresh_token).toBe('string');
    expect(api.running.crm.state.tokens.issued.authorization_code).toBe(before + 1);

    const me = await api.json('/api/v2/users.json', { headers: { authorization: `Bearer ${res.body.access_token}` } });
    expect(me.status).toBe(200);
    expect(api.running.crm.requests.at(-1)?.auth).toEqual({ method: 'bearer', subject: 'cid' });

    const again = await token({ grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb?x=1', client_id: 'cid', client_secret: 'sec' });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });

  it('authorization code flow: redirect_uri must match the authorize request', async () => {
    const code = (await authorize({ response_type: 'code', client_id: 'cid', redirect_uri: 'https://app.example/cb' })).searchParams.get('code') ?? '';
    const missing = await token({ grant_type: 'authorization_code', code, client_id: 'cid', client_secret: 'sec' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_grant');
    const code2 = (await authorize({ response_type: 'code', client_id: 'cid', redirect_uri: 'https://app.example/cb' })).searchParams.get('code') ?? '';
    const wrong = await token({
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: 'https://evil.example/cb',
      client_id: 'cid',
      client_secret: 'sec',
    });
    expect(wrong.body.error).toBe('invalid_grant');
  });

  it('authorization codes expire after 120 s (injected clock)', async () => {
    const code = (await authorize({ response_type: 'code', client_id: 'cid', redirect_uri: 'https://app.example/cb' })).searchParams.get('code') ?? '';
    clock.advance(121_000);
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb', client_id: 'cid', client_secret: 'sec' });
    expect(res.body.error).toBe('invalid_grant');
  });

  it('authorize rejects an unknown client with 400 JSON', async () => {
    const res = await fetch(`${api.url}/oauth/authorizations/new?response_type=code&client_id=nope&redirect_uri=https://a.example/`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('token endpoint errors follow RFC 6749', async () => {
    const badClient = await token({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'wrong' });
    expect(badClient.status).toBe(401);
    expect(badClient.body).toMatchObject({ error: 'invalid_client', error_description: expect.any(String) });
    const badBasic = await token({ grant_type: 'client_credentials' }, { authorization: basicHeader('cid', 'wrong') });
    expect(badBasic.status).toBe(401);
    expect(badBasic.headers.get('www-authenticate')).toMatch(/^Basic/);
    const badGrant = await token({ grant_type: 'password', client_id: 'cid', client_secret: 'sec' });
    expect(badGrant.status).toBe(400);
    expect(badGrant.body.error).toBe('unsupported_grant_type');
    const unknownRefresh = await token({ grant_type: 'refresh_token', refresh_token: 'nope', client_id: 'cid', client_secret: 'sec' });
    expect(unknownRefresh.body.error).toBe('invalid_grant');
  });

  it('client_credentials via JSON body: no refresh token; access token expires with the clock', async () => {
    const res = await api.json<Record<string, string | number>>('/oauth/tokens', {
      headers: { authorization: null },
      body: { grant_type: 'client_credentials', client_id: 'cid', client_secret: 'sec', scope: 'read' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer', scope: 'read', expires_in: 60 });
    expect(res.body.refresh_token).toBeUndefined();
    const bearer = { authorization: `Bearer ${res.body.access_token}` };
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(200);
    clock.advance(59_000);
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(200);
    clock.advance(1_000);
    const expired = await api.json('/api/v2/users.json', { headers: bearer });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('expired');
  });

  it('refresh_token rotates: new pair, old refresh token unusable; expireAllTokens forces the refresh path', async () => {
    const code = (await authorize({ response_type: 'code', client_id: 'cid', redirect_uri: 'https://app.example/cb' })).searchParams.get('code') ?? '';
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb', client_id: 'cid', client_secret: 'sec' });
    const bearer = { authorization: `Bearer ${first.body.access_token}` };
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(200);

    api.running.crm.expireAllTokens();
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(401);

    const refreshesBefore = api.running.crm.state.tokens.issued.refresh_token;
    const second = await token({ grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), client_id: 'cid', client_secret: 'sec' });
    expect(second.status).toBe(200);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(api.running.crm.state.tokens.issued.refresh_token).toBe(refreshesBefore + 1);
    expect((await api.json('/api/v2/users.json', { headers: { authorization: `Bearer ${second.body.access_token}` } })).status).toBe(200);

    const reuse = await token({ grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), client_id: 'cid', client_secret: 'sec' });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
  });

  it('control API can expire tokens too', async () => {
    const res = await token({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'sec' });
    const bearer = { authorization: `Bearer ${res.body.access_token}` };
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(200);
    expect((await fetch(`${api.url}/__control/tokens/expire`, { method: 'POST' })).status).toBe(204);
    expect((await api.json('/api/v2/users.json', { headers: bearer })).status).toBe(401);
  });
});
