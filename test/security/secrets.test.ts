/**
 * No secret leaves the gateway: one run drives every surface (operations, dry-run, CRM
 * errors that echo credentials — raw, JSON-escaped, cut at 2,000 characters, as Basic
 * credentials of an OAuth token request —, OAuth flows, connector inspection, configuration
 * errors (validate, GET /v1/connectors/{id} errors and rejected_change, the 500
 * config_invalid answer, reload log lines), contract-test output and its JUnit file, logs,
 * CLI dry-run) with known secrets, then greps everything that came out for every encoded
 * form of every secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { main } from '../../src/cli/main';
import { compileConnector } from '../../src/config/compile';
import { withReferences } from '../../src/config/env';
import { formatIssue } from '../../src/config/yaml-source';

const BASIC_TOKEN = 'sample-token';
const API_KEY = 'sample-key';
const CLIENT_SECRET = 'sample-secret';
/** Appears JSON-escaped (\" and \\) in a CRM's JSON error body. */
const QUOTE_KEY = 'q"uote\\back-slash-key-1';
/** Echoed at the very end of a long CRM body: the 2,000-character cut would keep 15 of its 16 characters. */
const TRUNC_KEY = 'tRuNcAtEd-SeCrEt';
/** An ${env:…} value a configuration error quotes. */
const CONFIG_VALUE = 'ftp://config-error-secret.example';
const CC_BASIC = Buffer.from(`sample-client:${CLIENT_SECRET}`).toString('base64');
/** A value a caller sends as a download header: masked in that download's error only. */
const CALLER_VALUE = 'caller-download-token-77';

const zendesk = bundled('zendesk.yaml');
const withAuth = (id: string, auth: string) => zendesk.replace(/^id: zendesk$/m, `id: ${id}`).replace(/^auth:\n( {2}.*\n)+/m, `${auth}\n`);
const oauth = (extra: string[] = []) =>
  [
    'auth:',
    '  type: oauth2',
    '  grant: client_credentials',
    '  authorization_url: {{CRM}}/oauth/authorizations/new',
    '  token_url: {{CRM}}/oauth/tokens',
    '  client_id: sample-client',
    '  client_secret: ${env:ZD_CLIENT_SECRET}',
    ...extra,
  ].join('\n');
const broken = (id: string) =>
  zendesk.replace(/^id: zendesk$/m, `id: ${id}`).replace('    url: /api/v2/users.json\n', '    url: ${env:ZD_CONFIG_VALUE}/users\n');
const CONNECTORS = {
  'zendesk.yaml': zendesk,
  'zd-headers.yaml': withAuth('zd-headers', 'auth:\n  type: headers\n  headers:\n    X-Api-Key: ${env:ZD_API_KEY}'),
  'zd-cc.yaml': withAuth('zd-cc', oauth()),
  'zd-cc-header.yaml': withAuth('zd-cc-header', oauth(['  credentials_in: header'])),
  'zd-quote.yaml': withAuth('zd-quote', 'auth:\n  type: headers\n  headers:\n    X-Api-Key: ${env:ZD_QUOTE_KEY}'),
  'zd-trunc.yaml': withAuth('zd-trunc', 'auth:\n  type: headers\n  headers:\n    X-Api-Key: ${env:ZD_TRUNC_KEY}'),
  'zd-broken.yaml': broken('zd-broken'),
  'zd-reload.yaml': zendesk.replace(/^id: zendesk$/m, 'id: zd-reload'),
};
const ENV = {
  ZENDESK_TOKEN: BASIC_TOKEN,
  ZD_API_KEY: API_KEY,
  ZD_CLIENT_SECRET: CLIENT_SECRET,
  ZD_QUOTE_KEY: QUOTE_KEY,
  ZD_TRUNC_KEY: TRUNC_KEY,
  ZD_CONFIG_VALUE: CONFIG_VALUE,
};

/** Every form a secret takes on the wire, written out here (not taken from the code under test). */
function encodedForms(s: string): string[] {
  const json = JSON.stringify(s).slice(1, -1);
  return [
    ...new Set([s, encodeURIComponent(s), json, JSON.stringify(json).slice(1, -1), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url')]),
  ];
}

let h: Harness;
const outputs: string[] = [];
const record = <T extends { status: number; body: unknown; headers: Headers }>(r: T): T => {
  outputs.push(JSON.stringify(r.body), JSON.stringify([...r.headers]));
  return r;
};
beforeAll(async () => {
  h = await startHarness({ connectors: CONNECTORS, env: ENV });
});
afterAll(async () => {
  await h.close();
});

/** Runs the CLI with the connectors' environment in process.env (as a shell would). */
async function cli(args: string[]): Promise<string> {
  const out: string[] = [];
  Object.assign(process.env, ENV);
  try {
    await main(args, { out: (s) => out.push(s), err: (s) => out.push(s) });
  } finally {
    for (const k of Object.keys(ENV)) delete process.env[k];
  }
  outputs.push(...out);
  return out.join('');
}
const file = (name: string) => path.join(h.dir, 'config', name);

test('operations, previews and CRM echoes', async () => {
  for (const connector of ['zendesk', 'zd-headers', 'zd-cc']) {
    record(await h.op('create_account', { NAME: 'Secret Keeper', EMAIL: `${connector}@example.com` }, { connector }));
    record(await h.op('create_record', { ACCOUNT_ID: 1, TICKET_SUBJECT: 's' }, { connector, query: '?dry_run=true' }));
    record(await h.get(`/v1/connectors/${connector}`));
    // A CRM that echoes the request's credentials back in its error body.
    h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 422, body: { error: 'echo', description: `you sent ${BASIC_TOKEN} ${API_KEY}` } });
    record(await h.op('create_account', { NAME: 'Echo' }, { connector }));
    h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 400, body: { error: `bad ${CLIENT_SECRET}` } });
    record(await h.op('create_account', { NAME: 'Echo' }, { connector }));
  }
  record(await h.get('/v1/connectors'));
  expect(Object.keys(h.crm.crm.state.tokens.accessTokens).length).toBeGreaterThan(0);
});

test('a secret with " and \\ echoed in a JSON body (crm_body holds it JSON-escaped) is masked', async () => {
  h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 422, body: { error: 'echo', description: `you sent ${QUOTE_KEY}` } });
  const r = record(await h.op('create_account', { NAME: 'Quote' }, { connector: 'zd-quote' }));
  expect(r.body.crm_body).toContain('you sent ****');
  // The same as a durable write: its last error and attempt history.
  h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 422, body: { error: 'echo', description: `you sent ${QUOTE_KEY}` } });
  const accepted = record(await h.op('create_account', { NAME: 'Quote later' }, { connector: 'zd-quote', query: '?async=true' }));
  let d = accepted;
  for (let i = 0; i < 100 && ['pending', 'running'].includes(d.body.status); i++) {
    await new Promise((res) => setTimeout(res, 20));
    d = await h.get(`/v1/deliveries/${accepted.body.id}`);
  }
  record(d);
  expect(d.body).toMatchObject({ status: 'dead', last_error: { crm_status: 422 }, history: [expect.objectContaining({ status: 422 })] });
  record(await h.get('/v1/deliveries?connector=zd-quote'));
});

test('a secret at the 2,000-character cut of crm_body is masked before the cut', async () => {
  h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 400, body: `${'x'.repeat(1985)}${TRUNC_KEY} and more` });
  const r = record(await h.op('create_account', { NAME: 'Long' }, { connector: 'zd-trunc' }));
  expect(r.body.crm_body).toMatch(/^x{1985}\*{4}/);
});

test('OAuth credentials_in: header — a token endpoint echoing the Basic credentials', async () => {
  h.crm.crm.injectFault({
    path: '/oauth/tokens',
    status: 401,
    body: { error: 'invalid_client', error_description: `bad Authorization: Basic ${CC_BASIC}` },
    always: true,
  });
  try {
    const r = record(await h.op('create_account', { NAME: 'Basic' }, { connector: 'zd-cc-header' }));
    expect(r.status).toBe(502);
    expect(r.body.detail).toContain('Basic ****');
    // The contract test of that connector: console output and its JUnit file.
    const junit = path.join(h.dir, 'contract.xml');
    const out = await cli(['contract-test', file('zd-cc-header.yaml'), '--base-url', h.crm.url, '--junit', junit]);
    expect(out).toContain('Basic ****');
    outputs.push(fs.readFileSync(junit, 'utf8'));
  } finally {
    h.crm.crm.clearFaults();
  }
  // And a contract run whose CRM echoes the JSON-escaped key in every answer.
  h.crm.crm.injectFault({ path: '/api/v2/', status: 422, body: { error: 'echo', description: `you sent ${QUOTE_KEY}` }, always: true });
  try {
    const junit = path.join(h.dir, 'contract-quote.xml');
    await cli(['contract-test', file('zd-quote.yaml'), '--base-url', h.crm.url, '--junit', junit]);
    outputs.push(fs.readFileSync(junit, 'utf8'));
  } finally {
    h.crm.crm.clearFaults();
  }
});

test('configuration errors name ${env:NAME}, never the value: validate, GET errors, config_invalid, rejected_change, reload logs', async () => {
  const get = record(await h.get('/v1/connectors/zd-broken'));
  expect(get.body.errors.join('\n')).toContain('"${env:ZD_CONFIG_VALUE}/users" must start with http://');
  const op = record(await h.op('create_account', { NAME: 'x' }, { connector: 'zd-broken' }));
  expect(op.body).toMatchObject({ code: 'config_invalid' });
  expect(JSON.stringify(op.body.errors)).toContain('${env:ZD_CONFIG_VALUE}');
  expect(await cli(['validate', file('zd-broken.yaml')])).toContain('${env:ZD_CONFIG_VALUE}');

  fs.writeFileSync(file('zd-reload.yaml'), broken('zd-reload').split('{{CRM}}').join(h.crm.url));
  h.gw.gateway.reloadFile(file('zd-reload.yaml'));
  const reloaded = record(await h.get('/v1/connectors/zd-reload'));
  expect(reloaded.body.rejected_change.join('\n')).toContain('${env:ZD_CONFIG_VALUE}');
  await new Promise((r) => setTimeout(r, 50));
  expect(h.logs.join('')).toContain('reload rejected');
});

test('configuration errors, as compiled: each names the reference; short credentials are refused without quoting them', () => {
  const env = { ...ENV, ZD_SHORT: 'x7Q!' };
  const cases: Array<[string, string, string]> = [
    ['an ${env:} URL', broken('b1'), '${env:ZD_CONFIG_VALUE}/users'],
    [
      'a short ${env:} password',
      zendesk.replace('${env:ZENDESK_TOKEN:-sample-token}', '${env:ZD_SHORT}'),
      'auth.password: ${env:ZD_SHORT} is too short: a credential must be at least 8 characters',
    ],
    [
      'a short literal client secret',
      withAuth('b3', oauth().replace('${env:ZD_CLIENT_SECRET}', 'x7Q!')),
      'auth.client_secret: too short: a credential must be at least 8 characters',
    ],
    [
      'a short ${env:} inside an auth header',
      withAuth('b4', 'auth:\n  type: headers\n  headers:\n    Authorization: Bearer ${env:ZD_SHORT}'),
      'auth.headers.Authorization: ${env:ZD_SHORT} is too short',
    ],
  ];
  for (const [name, text, expected] of cases) {
    const errors = compileConnector(text.split('{{CRM}}').join('http://127.0.0.1:1'), `${name}.yaml`, env).issues.map(formatIssue).join('\n');
    expect({ name, errors }).toEqual({ name, errors: expect.stringContaining(expected) });
    outputs.push(errors);
    expect(errors).not.toContain('x7Q!');
  }
});

test("withReferences: a secret-length value is replaced everywhere, a shorter one only in its own field's issues", () => {
  const resolved = [
    { path: ['auth', 'password'], name: 'PW', value: 'long-secret-value' },
    { path: ['phone', 'format'], name: 'FMT', value: 'e165' },
    { path: ['timeout_seconds'], name: 'TO', value: '10' },
  ];
  const issue = (path: string, message: string) => ({ severity: 'error' as const, file: 'f.yaml', path, message });
  expect(
    withReferences(
      [
        issue('endpoints.x.url', '"long-secret-value/x" and \\"e165\\"'),
        issue('phone.format', 'got "e165", not "long-secret-value"'),
        issue('timeout_seconds', 'must be <= 10'),
      ],
      { resolved },
    ).map((i) => i.message),
  ).toEqual(['"${env:PW}/x" and \\"e165\\"', 'got "${env:FMT}", not "${env:PW}"', 'must be <= 10']);
});

test("download header values are masked in that download's error only, never for everyone", async () => {
  const ev = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/dl-1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      type: 'File_Available',
      data: { kind: 'photo', url: `${h.crm.url}/files/${CALLER_VALUE}`, headers: { Authorization: `Bearer ${CALLER_VALUE}`, a: 'pending', f: 'https' } },
    }),
  });
  const problem = (await ev.json()) as { code: string; detail: string };
  expect(problem.code).toBe('file_download_failed');
  expect(problem.detail).toContain('/files/****');
  expect(problem.detail).not.toContain(CALLER_VALUE);
  // The same words from anyone else are not masked, and log lines stay intact JSON.
  const after = await h.op('create_account', { NAME: `${CALLER_VALUE} pending https`, EMAIL: 'after@example.com' });
  expect(after.status).toBe(200);
  expect(JSON.stringify(after.body)).toContain(`${CALLER_VALUE} pending https`);
  await new Promise((r) => setTimeout(r, 50));
  for (const line of h.logs.join('').split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  expect(h.logs.join('')).not.toContain('"status":"****"');
});

test('the CLI dry-run masks too', async () => {
  const out = await cli(['dry-run', file('zd-headers.yaml'), 'create_account', '--var', 'NAME=Kim']);
  expect(out).toContain('"X-Api-Key": "****"');
});

test('no secret, in any encoded form, appears in any response, error, preview, report or log line', async () => {
  // Let the asynchronous log writes land.
  await new Promise((r) => setTimeout(r, 50));
  outputs.push(...h.logs);
  const accessTokens = Object.keys(h.crm.crm.state.tokens.accessTokens);
  const secrets = [
    BASIC_TOKEN,
    API_KEY,
    CLIENT_SECRET,
    QUOTE_KEY,
    TRUNC_KEY,
    CONFIG_VALUE,
    ...accessTokens,
    Buffer.from(`agent@example.com/token:${BASIC_TOKEN}`).toString('base64'),
    CC_BASIC,
  ];
  const all = outputs.join('\n');
  expect(all.length).toBeGreaterThan(20_000);
  for (const s of secrets) {
    for (const form of encodedForms(s))
      expect({ secret: s.slice(0, 6), form: form.slice(0, 8), found: all.includes(form) }).toEqual({
        secret: s.slice(0, 6),
        form: form.slice(0, 8),
        found: false,
      });
  }
  // Nothing of the secret at the cut survives either.
  expect(all).not.toContain(TRUNC_KEY.slice(0, 8));
  // The masking is visible, so people know something was there.
  expect(all).toContain('****');
  // Tokens persist in the store, whose file only its owner can read.
  expect(await h.gw.store.tokens.get('zd-cc')).toMatchObject({ access_token: expect.any(String) });
  expect(fs.statSync(path.join(h.dir, 'data', 'crm-gateway.db')).mode & 0o077).toBe(0);
});
