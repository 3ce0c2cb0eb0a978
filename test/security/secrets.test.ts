/**
 * No secret leaves the gateway: one run drives every surface (operations, dry-run, CRM
 * errors that echo credentials, OAuth flows, connector inspection, logs, CLI dry-run) with
 * known secrets, then greps everything that came out.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { main } from '../../src/cli/main';
import fs from 'node:fs';
import path from 'node:path';

const BASIC_TOKEN = 'sample-token';
const API_KEY = 'sample-key';
const CLIENT_SECRET = 'sample-secret';

const zendesk = bundled('zendesk.yaml');
const CONNECTORS = {
  'zendesk.yaml': zendesk,
  'zd-headers.yaml': zendesk.replace(/^id: zendesk$/m, 'id: zd-headers').replace(/^auth:\n(  .*\n)+/m, 'auth:\n  type: headers\n  headers:\n    X-Api-Key: ${env:ZD_API_KEY}\n'),
  'zd-cc.yaml': zendesk.replace(/^id: zendesk$/m, 'id: zd-cc').replace(/^auth:\n(  .*\n)+/m, [
    'auth:', '  type: oauth2', '  grant: client_credentials',
    '  authorization_url: {{CRM}}/oauth/authorizations/new', '  token_url: {{CRM}}/oauth/tokens',
    '  client_id: sample-client', '  client_secret: ${env:ZD_CLIENT_SECRET}', '',
  ].join('\n')),
};

let h: Harness;
const outputs: string[] = [];
beforeAll(async () => {
  h = await startHarness({ connectors: CONNECTORS, env: { ZENDESK_TOKEN: BASIC_TOKEN, ZD_API_KEY: API_KEY, ZD_CLIENT_SECRET: CLIENT_SECRET } });
});
afterAll(async () => { await h.close(); });

test('secrets appear in no response, error, preview or log line', async () => {
  const record = (r: { status: number; body: unknown; headers: Headers }) => {
    outputs.push(JSON.stringify(r.body), JSON.stringify([...r.headers]));
    return r;
  };
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

  const cliOut: string[] = [];
  const file = path.join(h.dir, 'config', 'zd-headers.yaml');
  process.env.ZD_API_KEY = API_KEY;
  try {
    await main(['dry-run', file, 'create_account', '--var', 'NAME=Kim'], { out: (s) => cliOut.push(s), err: (s) => cliOut.push(s) });
  } finally {
    delete process.env.ZD_API_KEY;
  }
  expect(cliOut.join('')).toContain('"X-Api-Key": "****"');
  outputs.push(...cliOut);

  // Let the asynchronous log writes land.
  await new Promise((r) => setTimeout(r, 50));
  outputs.push(...h.logs);

  const accessTokens = Object.keys(h.crm.crm.state.tokens.accessTokens);
  expect(accessTokens.length).toBeGreaterThan(0);
  const secrets = [BASIC_TOKEN, API_KEY, CLIENT_SECRET, Buffer.from(`agent@example.com/token:${BASIC_TOKEN}`).toString('base64'), ...accessTokens];
  const all = outputs.join('\n');
  expect(all.length).toBeGreaterThan(5000);
  for (const s of secrets) expect({ secret: s.slice(0, 6), found: all.includes(s) }).toEqual({ secret: s.slice(0, 6), found: false });
  // The masking is visible, so people know something was there.
  expect(all).toContain('****');
  // Tokens persist in the store, whose file only its owner can read.
  expect(await h.gw.store.tokens.get('zd-cc')).toMatchObject({ access_token: expect.any(String) });
  expect(fs.statSync(path.join(h.dir, 'data', 'crm-gateway.db')).mode & 0o077).toBe(0);
});
