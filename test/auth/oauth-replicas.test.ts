/**
 * Two gateway processes on one PostgreSQL, one OAuth connector whose access tokens live 2 s
 * (refreshed 1 s ahead), against a sample CRM that rotates refresh tokens and refuses a rotated
 * one. Hammered from both processes at once for several token lifetimes: every call succeeds,
 * the CRM sees one refresh per token lifetime and never a reused refresh token, and the
 * database holds the tokens only encrypted. Also: PostgreSQL + OAuth + no key does not start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../../src/delivery/postgres-store';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { bundled } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';

jest.setTimeout(120_000);

const TTL_S = 2;
const connector = (crmUrl: string) =>
  bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: zd-oauth')
    .replace(
      /^auth:\n( {2}.*\n)+/m,
      [
        'auth:',
        '  type: oauth2',
        '  grant: authorization_code',
        `  authorization_url: ${crmUrl}/oauth/authorizations/new`,
        `  token_url: ${crmUrl}/oauth/tokens`,
        '  client_id: sample-client',
        '  client_secret: sample-secret',
        '  scope: read write',
        '  refresh_ahead_seconds: 1',
        '',
      ].join('\n'),
    );

let crm: RunningSampleCrm;
let dir: string;
beforeAll(async () => {
  crm = await startSampleCrm({
    port: 0,
    auth: { oauth: { clientId: 'sample-client', clientSecret: 'sample-secret', accessTokenTtlSec: TTL_S, rotateRefreshTokens: true } },
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oauth-replicas-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config/zd-oauth.yaml'), connector(crm.url));
});
afterAll(async () => {
  await crm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function authorize(gatewayUrl: string): Promise<void> {
  const start = await fetch(`${gatewayUrl}/v1/connectors/zd-oauth/oauth/authorize`, { redirect: 'manual' });
  const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  const done = await fetch(consent.headers.get('location')!);
  expect(await done.json()).toEqual({ connector: 'zd-oauth', authorized: true });
}

test('PostgreSQL with an OAuth connector and no GATEWAY_ENCRYPTION_KEY refuses to start, saying why', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    const env = {
      CONFIG_DIR: path.join(dir, 'config'),
      DATA_DIR: path.join(dir, 'data-nokey'),
      ZENDESK_URL: crm.url,
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: schema,
      GATEWAY_ENCRYPTION_KEY: '',
      GATEWAY_ENCRYPTION_KEY_PREVIOUS: '',
    };
    await expect(startChild(env)).rejects.toThrow(/GATEWAY_ENCRYPTION_KEY is not set, and connector zd-oauth uses OAuth/);
  } finally {
    await dropSchema(schema);
  }
});

test('two replicas hammering a connector whose token expires every 2 s: one refresh per expiry, nothing refused, every call answered', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  const key = crypto.randomBytes(32).toString('base64');
  const env = {
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    DATABASE_URL: PG_URL,
    DATABASE_SCHEMA: schema,
    GATEWAY_ENCRYPTION_KEY: key,
    DELIVERY_WORKERS: '1',
  };
  const children: Child[] = [];
  const observer = new PostgresStore({ connectionString: PG_URL, schema, max: 1 });
  try {
    children.push(await startChild(env), await startChild(env));
    await authorize(children[0].url);
    crm.crm.state.tokens.issued.refresh_token = 0;
    const statuses = new Map<number, number>();
    const stopAt = Date.now() + 4 * TTL_S * 1000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const url = children[i % 2].url;
        while (Date.now() < stopAt) {
          const res = await fetch(`${url}/v1/connectors/zd-oauth/operations/find_account`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ variables: { EMAIL: `nobody${i}@example.com` } }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    expect([...statuses.keys()]).toEqual([200]);
    const tokens = crm.crm.state.tokens;
    expect(tokens.reusedRefreshTokens).toBe(0);
    // A token lives 2 s and is refreshed 1 s before it ends: one refresh per second at most, however many callers.
    const refreshedAt = Object.values(tokens.accessTokens)
      .filter((t) => t.grantType === 'refresh_token')
      .map((t) => t.issuedAtMs)
      .sort((a, b) => a - b);
    expect(refreshedAt.length).toBe(tokens.issued.refresh_token);
    expect(refreshedAt.length).toBeGreaterThanOrEqual(4);
    expect(refreshedAt.length).toBeLessThanOrEqual(4 * TTL_S + 1);
    for (let i = 1; i < refreshedAt.length; i++) expect(refreshedAt[i] - refreshedAt[i - 1]).toBeGreaterThan(800);
    // The database holds tokens only sealed.
    await observer.migrate();
    const stored = JSON.stringify((await observer.pool.query('SELECT * FROM oauth_sealed_tokens')).rows);
    expect(stored).toContain('"connector_id":"zd-oauth"');
    for (const secret of [...Object.keys(tokens.accessTokens), ...Object.keys(tokens.refreshTokens)]) expect(stored).not.toContain(secret);
    for (const c of children) expect(c.stderr.join('')).not.toMatch(/invalid_grant/);
  } finally {
    for (const c of children) await c.kill('SIGTERM');
    await observer.close();
    await dropSchema(schema);
  }
});
