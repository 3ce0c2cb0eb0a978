/**
 * One OAuth refresh across replicas, against the sample CRM, which rotates refresh tokens and
 * refuses a rotated one (invalid_grant). Two OAuth2Provider instances stand for two gateway
 * processes: on one durable store (two handles: two SQLite connections to one file, or two
 * PostgreSQL pools) the store's refresh lock makes one refresh for both; without a shared lock
 * the loser's invalid_grant is resolved by reading the winner's token, never surfaced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OAuth2Provider, newNonce } from '../../src/auth/oauth2';
import { MemoryTokenStore, type TokenStore } from '../../src/auth/token-store';
import type { Connector } from '../../src/config/types';
import { GatewayError } from '../../src/errors';
import { Redactor } from '../../src/util/redact';

/** One masking instance for the providers of this file, as a gateway owns one. */
const redactor = new Redactor();
import { PostgresStore } from '../../src/delivery/postgres-store';
import { SqliteStore } from '../../src/delivery/sqlite-store';
import type { DeliveryStore } from '../../src/delivery/store';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';

jest.setTimeout(30_000);

type OAuthConfig = Extract<Connector['auth'], { type: 'oauth2' }>;
const KEYS = { current: crypto.randomBytes(32), previous: [] };

let crm: RunningSampleCrm;
let cfg: OAuthConfig;
beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  cfg = {
    type: 'oauth2',
    grant: 'authorization_code',
    authorizationUrl: `${crm.url}/oauth/authorizations/new`,
    tokenUrl: `${crm.url}/oauth/tokens`,
    clientId: 'sample-client',
    clientSecret: 'sample-secret',
    scope: 'read write',
    includeRedirectUrl: false,
    credentialsIn: 'body',
    refreshAheadMs: 60_000,
  };
});
afterAll(async () => {
  await crm.close();
});
beforeEach(() => crm.crm.reset());

const provider = (store: TokenStore) => new OAuth2Provider(cfg, { connectorId: 'zd', store, redirectUrl: 'http://127.0.0.1:1/v1/oauth/callback', redactor });

/** An authorized connector whose access token is due for refresh. */
async function authorizedAndDue(p: OAuth2Provider, store: TokenStore): Promise<void> {
  const consent = await fetch(p.authorizeUrl(newNonce()), { redirect: 'manual' });
  const { code } = (await consent.json()) as { code: string };
  await p.completeAuthorization(code);
  const t = (await store.get('zd'))!;
  await store.set('zd', { ...t, expires_at: Date.now() });
}

const tokens = () => crm.crm.state.tokens;

async function bothAtOnce(a: OAuth2Provider, b: OAuth2Provider): Promise<string[]> {
  const headers = [{}, {}, {}, {}] as Array<Record<string, string>>;
  await Promise.all([a.apply(headers[0]), b.apply(headers[1]), a.apply(headers[2]), b.apply(headers[3])]);
  return headers.map((h) => h.Authorization);
}

test("without a shared lock: the peer whose rotated refresh token is refused takes the winner's token (no invalid_grant surfaces)", async () => {
  const store = new MemoryTokenStore();
  const a = provider(store);
  const b = provider(store);
  await authorizedAndDue(a, store);
  const auth = await bothAtOnce(a, b);
  // Both refreshed (no lock), the CRM refused the second use of the old refresh token…
  expect(tokens().issued.refresh_token).toBe(1);
  expect(tokens().reusedRefreshTokens).toBe(1);
  // …and both replicas send the one token that was issued.
  expect(new Set(auth).size).toBe(1);
  expect(auth[0]).toBe(`Bearer ${(await store.get('zd'))!.access_token}`);
});

test('a refresh token revoked for real is still an error (not hidden by the re-read)', async () => {
  const store = new MemoryTokenStore();
  const a = provider(store);
  await authorizedAndDue(a, store);
  crm.crm.expireAllTokens({ includeRefreshTokens: true });
  await expect(a.apply({})).rejects.toThrow(/invalid_grant/);
});

const durable: Array<[string, () => Promise<{ stores: DeliveryStore[]; cleanup: () => Promise<void> } | undefined>]> = [
  [
    'SQLite (two connections to one file)',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refresh-'));
      const stores = [new SqliteStore(path.join(dir, 'g.db'), { encryption: KEYS }), new SqliteStore(path.join(dir, 'g.db'), { encryption: KEYS })];
      for (const s of stores) await s.migrate();
      return {
        stores,
        cleanup: async () => {
          for (const s of stores) await s.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'PostgreSQL (two pools)',
    async () => {
      if (!(await postgresAvailable())) return undefined;
      const schema = newSchemaName();
      const stores = [
        new PostgresStore({ connectionString: PG_URL, schema, max: 3, encryption: KEYS }),
        new PostgresStore({ connectionString: PG_URL, schema, max: 3, encryption: KEYS }),
      ];
      for (const s of stores) await s.migrate();
      return {
        stores,
        cleanup: async () => {
          for (const s of stores) await s.close();
          await dropSchema(schema);
        },
      };
    },
  ],
];

describe.each(durable)("%s: the store's refresh lock", (_name, open) => {
  test('two replicas due at once: one refresh at the CRM, both use its token, nothing refused', async () => {
    const db = await open();
    if (!db) return;
    try {
      const [s1, s2] = db.stores;
      const a = provider(s1.tokens);
      const b = provider(s2.tokens);
      await authorizedAndDue(a, s1.tokens);
      for (let round = 0; round < 3; round++) {
        const before = tokens().issued.refresh_token;
        const auth = await bothAtOnce(a, b);
        expect(tokens().issued.refresh_token).toBe(before + 1);
        expect(new Set(auth).size).toBe(1);
        const t = (await s2.tokens.get('zd'))!;
        await s1.tokens.set('zd', { ...t, expires_at: Date.now() });
      }
      expect(tokens().reusedRefreshTokens).toBe(0);
    } finally {
      await db.cleanup();
    }
  });

  test('a 401 on a token a peer has already replaced resends with the new token, with no second refresh', async () => {
    const db = await open();
    if (!db) return;
    try {
      const [s1, s2] = db.stores;
      const a = provider(s1.tokens);
      const b = provider(s2.tokens);
      await authorizedAndDue(a, s1.tokens);
      const sentByA: Record<string, string> = {};
      await a.apply(sentByA);
      const t = (await s1.tokens.get('zd'))!;
      await s1.tokens.set('zd', { ...t, expires_at: Date.now() });
      const sentByB: Record<string, string> = {};
      await b.apply(sentByB); // b refreshes: a's token is now the old one
      const refreshes = tokens().issued.refresh_token;
      expect(await a.onUnauthorized()).toBe(true);
      const resent: Record<string, string> = {};
      await a.apply(resent);
      expect(resent.Authorization).toBe(sentByB.Authorization);
      expect(tokens().issued.refresh_token).toBe(refreshes);
    } finally {
      await db.cleanup();
    }
  });
});

test('a token sealed with a key this gateway does not have: a 409 that says how to fix it; client_credentials just fetches a new token', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refresh-key-'));
  const writer = new SqliteStore(path.join(dir, 'g.db'), { encryption: KEYS });
  const reader = new SqliteStore(path.join(dir, 'g.db'), { encryption: { current: crypto.randomBytes(32), previous: [] } });
  const keyless = new SqliteStore(path.join(dir, 'g.db'));
  try {
    await writer.migrate();
    const a = provider(writer.tokens);
    await authorizedAndDue(a, writer.tokens);
    const err = await provider(reader.tokens)
      .apply({})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).toProblem()).toMatchObject({
      status: 409,
      code: 'oauth_not_authorized',
      authorize_path: '/v1/connectors/zd/oauth/authorize',
      detail: expect.stringMatching(
        /stored OAuth token of connector zd was encrypted with a key that is neither GATEWAY_ENCRYPTION_KEY nor in GATEWAY_ENCRYPTION_KEY_PREVIOUS/,
      ),
    });
    await expect(provider(keyless.tokens).apply({})).rejects.toThrow(/GATEWAY_ENCRYPTION_KEY is not set/);

    const cc = new OAuth2Provider(
      { ...cfg, grant: 'client_credentials' },
      { connectorId: 'zd', store: reader.tokens, redirectUrl: 'http://127.0.0.1:1/v1/oauth/callback', redactor },
    );
    const headers: Record<string, string> = {};
    await cc.apply(headers);
    expect(headers.Authorization).toMatch(/^Bearer /);
    expect(tokens().issued.client_credentials).toBe(1);
    expect((await reader.tokens.get('zd'))!.access_token).toBe(headers.Authorization.slice(7));
  } finally {
    for (const s of [writer, reader, keyless]) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a token stored by another replica is registered as a secret here as soon as it is read (access and refresh token)', async () => {
  const store = new MemoryTokenStore();
  const access = `AT-peer-${crypto.randomBytes(6).toString('hex')}`;
  const refresh = `RT-peer-${crypto.randomBytes(6).toString('hex')}`;
  await store.set('zd', { access_token: access, refresh_token: refresh, expires_at: Date.now() + 3_600_000, obtained_at: Date.now() });
  await provider(store).apply({});
  expect(redactor.redact(`sent ${access}, refresh with ${refresh}`)).toBe('sent ****, refresh with ****');
});
