/**
 * The gateway's own API needs keys (by hash, admin or scoped), refuses destinations in private
 * networks unless the connector allows them — CRM calls, file downloads and OAuth token
 * requests alike, and never the gateway itself —, refuses URL variables that would move a
 * request up the path and hosts a caller's value would choose, and exposes metrics — over
 * real HTTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { compileText } from '../../src/template/compile';
import { renderUrl } from '../../src/template/render';
import { formatIssue } from '../../src/config/yaml-source';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const ADMIN = 'admin-key-123456';
const SCOPED = 'scoped-key-654321';
const keys = new ApiKeys([...parseKeyEntries(`sha256:${hashKey(ADMIN)}:admin`, 't'), ...parseKeyEntries(`${hashKey(SCOPED)}:connectors=zendesk`, 't')]);
const noAllow = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-open')
  .replace(/^allow_private_network: \[127\.0\.0\.1\]\n/m, '');
const oauthAt = (tokenUrl: string) =>
  [
    'auth:',
    '  type: oauth2',
    '  grant: client_credentials',
    `  authorization_url: ${tokenUrl.replace(/\/[^/]*$/, '/authorize')}`,
    `  token_url: ${tokenUrl}`,
    '  client_id: sample-client',
    '  client_secret: sample-secret',
    '',
  ].join('\n');
/** OAuth to an IP literal, on a connector that does not allow private networks. */
const ccOpen = noAllow.replace(/^id: zd-open$/m, 'id: cc-open').replace(/^auth:\n( {2}.*\n)+/m, oauthAt('{{CRM}}/oauth/tokens'));
/** A URL whose variable is a whole path segment. */
const dots = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-dots')
  .replace('url: /api/v2/users/{ACCOUNT_ID}.json', 'url: /api/v2/users/{ACCOUNT_ID}/identities.json');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    apiKeys: keys,
    connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'open.yaml': noAllow, 'cc-open.yaml': ccOpen, 'dots.yaml': dots },
  });
});
afterAll(async () => {
  await h.close();
});

const req = (path: string, key?: string, init: RequestInit = {}) =>
  fetch(h.gw.url + path, {
    ...init,
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(init.headers as Record<string, string>) },
  }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any }));
const op = (connector: string, key?: string) =>
  req(`/v1/connectors/${connector}/operations/find_account`, key, { method: 'POST', body: JSON.stringify({ variables: { EMAIL: 'x@example.com' } }) });

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
    // Its own connectors only, and without the file's text (admin keys read and save that).
    const own = await req('/v1/connectors/zendesk', SCOPED);
    expect(own.status).toBe(200);
    expect(own.body.yaml).toBeUndefined();
    expect((await req('/v1/connectors/zd-open', SCOPED)).status).toBe(403);
    expect((await req('/v1/connectors', SCOPED)).body.connectors.map((c: { id: string }) => c.id)).toEqual(['zendesk']);
    expect(
      (await req('/v1/connectors/zendesk/config', SCOPED, { method: 'PUT', body: JSON.stringify({ yaml: '', base_sha256: '0'.repeat(64) }) })).status,
    ).toBe(403);
    expect((await req('/v1/deliveries', SCOPED)).status).toBe(403);
    expect((await req('/v1/deliveries?connector=zendesk', SCOPED)).status).toBe(200);
    expect((await req('/v1/connectors/zendesk', ADMIN)).body.yaml).toEqual(expect.any(String));
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
    const r = await req('/v1/connectors/zd-open/sessions/ssrf-1/events', ADMIN, {
      method: 'POST',
      body: JSON.stringify({ type: 'File_Available', data: { kind: 'photo', url: 'http://169.254.169.254/latest/meta-data/' } }),
    });
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('destination_blocked');
  });

  test('durable writes to a blocked destination die at once (no week of retries)', async () => {
    const r = await req('/v1/connectors/zd-open/operations/create_account?async=true', ADMIN, {
      method: 'POST',
      body: JSON.stringify({ variables: { NAME: 'Blocked' } }),
    });
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

describe('one outbound guard for every request the gateway makes', () => {
  const tokenCalls = () => h.crm.crm.requests.filter((r) => r.path.startsWith('/oauth/')).length;

  test('OAuth token requests to an IP literal in a private network are refused like CRM calls (the client secret is never sent)', async () => {
    const before = tokenCalls();
    const r = await op('cc-open', ADMIN);
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'destination_blocked' });
    expect(r.body.detail).toMatch(/OAuth client_credentials: .*allow_private_network/);
    expect(tokenCalls()).toBe(before);
  });

  test("the gateway's own address is refused even with allow_private_network: OAuth token URL and file downloads", async () => {
    // A connector whose token URL is the gateway itself (written once the port is known).
    const file = path.join(h.dir, 'config', 'self.yaml');
    fs.writeFileSync(
      file,
      bundled('zendesk.yaml')
        .replace(/^id: zendesk$/m, 'id: zd-self')
        .replace(/^auth:\n( {2}.*\n)+/m, oauthAt(`${h.gw.url}/v1/oauth/callback`))
        .split('{{CRM}}')
        .join(h.crm.url),
    );
    h.gw.gateway.reloadFile(file);
    const r = await op('zd-self', ADMIN);
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'destination_blocked' });
    expect(r.body.detail).toMatch(/this gateway's own address/);
    // By name: refused when connecting (the token request's DNS answer is checked with the port).
    const port = new URL(h.gw.url).port;
    const byName = path.join(h.dir, 'config', 'self-name.yaml');
    fs.writeFileSync(
      byName,
      fs
        .readFileSync(file, 'utf8')
        .replace(/^id: zd-self$/m, 'id: zd-self-name')
        .split(h.gw.url)
        .join(`http://localhost:${port}`),
    );
    h.gw.gateway.reloadFile(byName);
    expect((await op('zd-self-name', ADMIN)).body).toMatchObject({ code: 'destination_blocked', detail: expect.stringMatching(/own address|private/) });

    for (const url of [`${h.gw.url}/v1/connectors`, `http://localhost:${port}/healthz`]) {
      const d = await req('/v1/connectors/zendesk/sessions/self-1/events', ADMIN, {
        method: 'POST',
        body: JSON.stringify({ type: 'File_Available', data: { kind: 'photo', url } }),
      });
      expect({ url, status: d.status, code: d.body.code }).toEqual({ url, status: 502, code: 'destination_blocked' });
      expect(d.body.detail).toMatch(/this gateway's own address/);
    }
  });
});

describe('URL variables cannot move a request up the path', () => {
  test.each<[string, Record<string, string>, string | RegExp]>([
    ['".." as a whole segment', { ACCOUNT_ID: '..' }, /invalid_variable_value|\{ACCOUNT_ID\} would make a "\." or "\.\." path segment/],
    ['"." as a whole segment', { ACCOUNT_ID: '.' }, /path segment/],
    ['two variables that make ".." together', { A: '.', B: '.' }, /\{A\}, \{B\} would make/],
    ['"%2E%2E" is data, sent encoded', { ACCOUNT_ID: '%2E%2E' }, 'https://crm.example.com/api/cases/%252E%252E/notes'],
    ['"..." is not a dot segment', { ACCOUNT_ID: '...' }, 'https://crm.example.com/api/cases/.../notes'],
    ['dots inside a segment are fine', { ACCOUNT_ID: 'a..b' }, 'https://crm.example.com/api/cases/a..b/notes'],
    ['a slash is encoded, so it cannot make a segment', { ACCOUNT_ID: '../..' }, 'https://crm.example.com/api/cases/..%2F../notes'],
  ])('%s', (_name, vars, expected) => {
    const template = 'A' in vars ? 'https://crm.example.com/api/cases/{A}{B}/notes' : 'https://crm.example.com/api/cases/{ACCOUNT_ID}/notes';
    let out: string;
    try {
      out = renderUrl(compileText(template), vars, 'add_comment url');
    } catch (e) {
      out = (e as Error).message;
    }
    if (typeof expected === 'string') expect(out).toBe(expected);
    else expect(out).toMatch(expected);
  });

  test('over HTTP: 422 naming the variable, nothing sent to the CRM', async () => {
    const before = h.crm.crm.requests.length;
    const r = await req('/v1/connectors/zd-dots/operations/find_account_by_id', ADMIN, {
      method: 'POST',
      body: JSON.stringify({ variables: { ACCOUNT_ID: '..' } }),
    });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'invalid_variable_value', variables: ['ACCOUNT_ID'] });
    expect(h.crm.crm.requests.length).toBe(before);
  });
});

describe('templated hosts', () => {
  const withUrl = (url: string, optIn = false) =>
    bundled('zendesk.yaml')
      .replace('    url: /api/v2/users.json\n', `    url: ${url}\n`)
      .replace(/^settings:\n/m, optIn ? 'variables: [TENANT]\nsettings:\n  allow_templated_host: true\n' : 'settings:\n');
  test.each([['https://{TENANT}.zendesk.example/api/v2/users.json'], ['"{BASE}/api/v2/users.json"']])(
    '%s is refused at load, naming file, line and path',
    (url) => {
      const errors = compileConnector(withUrl(url), 'config/t.yaml', { ZENDESK_URL: 'http://127.0.0.1:1' }).issues.map(formatIssue).join('\n');
      expect(errors).toMatch(/^config\/t\.yaml:\d+:\d+ endpoints\.create_account\.url: a \{VARIABLE\} in the scheme, host or port/m);
    },
  );

  test('unless the connector opts in (settings.allow_templated_host: true)', () => {
    const text = withUrl('https://{TENANT}.zendesk.example/api/v2/users.json', true);
    const r = compileConnector(text, 'config/t.yaml', { ZENDESK_URL: 'http://127.0.0.1:1' });
    expect(r.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
  });
});

describe('metrics', () => {
  test('CRM calls, deliveries by status and dead letters are counted', async () => {
    await op('zendesk', ADMIN);
    const text = await (await fetch(`${h.gw.url}/metrics`)).text();
    expect(text).toMatch(/crm_gateway_crm_call_duration_seconds_count\{connector="zendesk",operation="find_account",outcome="(ok|not_found)"\} \d+/);
    expect(text).toMatch(/crm_gateway_deliveries\{status="dead"\} [1-9]/);
    expect(text).toMatch(/crm_gateway_dead_letters_total\{connector="zd-open",operation="create_account"\} 1/);
    expect(text).toContain('crm_gateway_process_cpu_seconds_total');
    expect(text).not.toContain('process_process_');
  });
});
