/**
 * The gateway's own API needs keys (by hash, admin or scoped), refuses destinations in private
 * networks unless the connector allows them, and exposes metrics — over real HTTP.
 */
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/ops/api-keys';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const ADMIN = 'admin-key-123456';
const SCOPED = 'scoped-key-654321';
const keys = new ApiKeys([...parseKeyEntries(`sha256:${hashKey(ADMIN)}:admin`, 't'), ...parseKeyEntries(`${hashKey(SCOPED)}:connectors=zendesk`, 't')]);
const noAllow = bundled('zendesk.yaml').replace(/^id: zendesk$/m, 'id: zd-open').replace(/^allow_private_network: \[127\.0\.0\.1\]\n/m, '');

let h: Harness;
beforeAll(async () => { h = await startHarness({ apiKeys: keys, connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'open.yaml': noAllow } }); });
afterAll(async () => { await h.close(); });

const req = (path: string, key?: string, init: RequestInit = {}) =>
  fetch(h.gw.url + path, { ...init, headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(init.headers as Record<string, string>) } })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any }));
const op = (connector: string, key?: string) => req(`/v1/connectors/${connector}/operations/find_account`, key, { method: 'POST', body: JSON.stringify({ variables: { EMAIL: 'x@example.com' } }) });

describe('API keys', () => {
  test('no key / a wrong key → 401 problem with WWW-Authenticate', async () => {
    const none = await op('zendesk');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body).toMatchObject({ code: 'unauthorized' });
    expect((await op('zendesk', 'nope')).status).toBe(401);
  });

  test('a scoped key runs its connectors only; admin routes need an admin key', async () => {
    expect((await op('zendesk', SCOPED)).status).toBe(200);
    expect((await op('zd-open', SCOPED)).body).toMatchObject({ code: 'forbidden' });
    expect((await req('/v1/connectors/zendesk', SCOPED)).status).toBe(403);
    expect((await req('/v1/connectors', SCOPED)).status).toBe(403);
    expect((await req('/v1/deliveries', SCOPED)).status).toBe(403);
    expect((await req('/v1/deliveries?connector=zendesk', SCOPED)).status).toBe(200);
    expect((await req('/v1/connectors/zendesk', ADMIN)).status).toBe(200);
    expect((await req('/v1/deliveries', ADMIN)).status).toBe(200);
  });

  test('health, readiness and metrics stay open', async () => {
    expect((await req('/healthz')).status).toBe(200);
    expect((await req('/readyz')).status).toBe(200);
    const m = await fetch(`${h.gw.url}/metrics`);
    expect(m.status).toBe(200);
  });

  test('keys are configured by hash only; malformed entries are refused at start-up', () => {
    expect(() => parseKeyEntries('plain-text-key', 'API_KEYS')).toThrow(/configured by their SHA-256 hash/);
    expect(ApiKeys.fromEnv({ API_KEYS: `${hashKey('k')}:admin` })!.identify('k')).toEqual({ admin: true, connectors: undefined });
    const g = ApiKeys.generated();
    expect(g.keys.identify(g.key)).toMatchObject({ admin: true });
  });
});

describe('SSRF guard', () => {
  test('a connector without allow_private_network cannot reach loopback: 502 destination_blocked, nothing sent', async () => {
    const before = h.crm.crm.requests.length;
    const r = await op('zd-open', ADMIN);
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'destination_blocked' });
    expect(r.body.detail).toMatch(/allow_private_network/);
    expect(h.crm.crm.requests.length).toBe(before);
  });

  test('a File_Available URL into a private network is refused', async () => {
    const r = await req('/v1/connectors/zd-open/sessions/ssrf-1/events', ADMIN, { method: 'POST', body: JSON.stringify({ type: 'File_Available', data: { kind: 'photo', url: 'http://169.254.169.254/latest/meta-data/' } }) });
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('destination_blocked');
  });

  test('durable writes to a blocked destination die at once (no week of retries)', async () => {
    const r = await req('/v1/connectors/zd-open/operations/create_account?async=true', ADMIN, { method: 'POST', body: JSON.stringify({ variables: { NAME: 'Blocked' } }) });
    expect(r.status).toBe(202);
    let d: any;
    for (let i = 0; i < 100; i++) {
      d = (await req(`/v1/deliveries/${r.body.id}`, ADMIN)).body;
      if (d.status !== 'pending' && d.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(d).toMatchObject({ status: 'dead', last_error: { code: 'destination_blocked' } });
  });
});

describe('metrics', () => {
  test('CRM calls, deliveries by status and dead letters are counted', async () => {
    await op('zendesk', ADMIN);
    const text = await (await fetch(`${h.gw.url}/metrics`)).text();
    expect(text).toMatch(/crm_gateway_crm_call_duration_seconds_count\{connector="zendesk",operation="find_account",outcome="(ok|not_found)"\} \d+/);
    expect(text).toMatch(/crm_gateway_deliveries\{status="dead"\} [1-9]/);
    expect(text).toMatch(/crm_gateway_dead_letters_total\{connector="zd-open",operation="create_account"\} 1/);
    expect(text).toContain('crm_gateway_process_');
  });
});
