import { generateKeyPairSync } from 'node:crypto';
import { GatewayError } from '../../src/errors';
import { ListenAddresses, SsrfGuard } from '../../src/http/ssrf';
import { startSampleGcs, type SampleGcs } from '../../src/sample-storage/gcs';
import { openFileStore } from '../../src/storage/open';
import { GcsFileStore, openGcsStore, type GcsCredentials, type GcsStoreConfig } from '../../src/storage/gcs';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const EMAIL = 'crm-gateway@test-project.iam.gserviceaccount.com';
const SERVICE_ACCOUNT: GcsCredentials = { kind: 'service_account', clientEmail: EMAIL, privateKey: PRIVATE_PEM, projectId: 'test-project' };
const OAUTH = { clientId: 'client-123.apps.googleusercontent.com', clientSecret: 'GOCSPX-client-secret-xyz', refreshToken: '1//refresh-token-abc' };

function config(gcs: SampleGcs, over: Partial<GcsStoreConfig> = {}): GcsStoreConfig {
  return { type: 'gcs', bucket: 'recordings', folder: '', apiEndpoint: gcs.url, linkExpiryMs: 3_600_000, timeoutMs: 5_000, ...over };
}

const allowLoopback = () => new SsrfGuard({ allow: ['127.0.0.1'] });

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }
  throw new Error('expected a rejection');
}

describe('GcsFileStore against the emulator (anonymous)', () => {
  let gcs: SampleGcs;
  beforeEach(async () => {
    gcs = await startSampleGcs();
  });
  afterEach(async () => {
    await gcs.close();
  });

  it('writes a file under its folder, reads it back, and overwrites the same name (one object)', async () => {
    const store = await openGcsStore(config(gcs), { guard: allowLoopback() });
    const first = await store.put('ujet-metadata', 'call-42.json', Buffer.from('{"v":1}'), 'application/json');
    expect(first).toEqual({ location: 'gs://recordings/ujet-metadata/call-42.json' });
    const second = await store.put('ujet-metadata', 'call-42.json', Buffer.from('{"v":2}'), 'application/json');
    expect(second.location).toBe(first.location);

    expect([...gcs.objects.keys()]).toEqual(['recordings/ujet-metadata/call-42.json']);
    const stored = gcs.object('recordings', 'ujet-metadata/call-42.json')!;
    expect(stored.data.toString()).toBe('{"v":2}');
    expect(stored.contentType).toBe('application/json');
    expect((await store.get('ujet-metadata', 'call-42.json'))?.toString()).toBe('{"v":2}');
    expect(await store.get('ujet-metadata', 'call-43.json')).toBeUndefined();
    // One request per write: a single multipart upload, no resumable session.
    const uploads = gcs.requests.filter((r) => r.path.startsWith('/upload/'));
    expect(uploads.map((r) => `${r.method} ${r.query.uploadType}`)).toEqual(['POST multipart', 'POST multipart']);
  });

  it('puts every file under the configured folder path', async () => {
    const store = await openGcsStore(config(gcs, { folder: 'acme/prod' }), { guard: allowLoopback() });
    const bytes = Buffer.from([0x49, 0x44, 0x33, 0, 1, 2, 0xff]);
    const stored = await store.put('ujet-voice-recordings', 'call-7.mp3', bytes, 'audio/mpeg');
    expect(stored.location).toBe('gs://recordings/acme/prod/ujet-voice-recordings/call-7.mp3');
    expect(gcs.object('recordings', 'acme/prod/ujet-voice-recordings/call-7.mp3')?.data.equals(bytes)).toBe(true);
  });

  it.each([
    ['spaces', 'chat 12 photo 3.jpg'],
    ['Unicode', 'chat-Ünïcødé-東京-🙂.jpg'],
    ['reserved URL characters', 'chat-1?a=b&c#d%20e+f.jpg'],
  ])('encodes names with %s exactly', async (_what, name) => {
    const store = await openGcsStore(config(gcs), { guard: allowLoopback() });
    await store.put('ujet-media', name, Buffer.from('x'), 'image/jpeg');
    expect([...gcs.objects.values()].map((o) => o.name)).toEqual([`ujet-media/${name}`]);
    expect((await store.get('ujet-media', name))?.toString()).toBe('x');
  });

  it('refuses a name that would escape its folder (permanent error)', async () => {
    const store = new GcsFileStore(config(gcs));
    const e = await rejection(store.put('ujet-media', '../x.jpg', Buffer.from('x'), 'image/jpeg'));
    expect(e.code).toBe('validation_failed');
    expect(gcs.objects.size).toBe(0);
  });

  it('storage down for a while: storage_unreachable (retried by the delivery), then the write lands once', async () => {
    const store = await openGcsStore(config(gcs), { guard: allowLoopback() });
    gcs.refuse(60_000);
    const down = await rejection(store.put('ujet-chat-transcripts', 'chat-9.txt', Buffer.from('hello'), 'text/plain'));
    expect(down.code).toBe('storage_unreachable');
    expect(down.extensions).toMatchObject({ storage: 'gcs', network_error: 'ECONNREFUSED' });

    gcs.refuse(0);
    await new Promise((r) => setTimeout(r, 50));
    gcs.injectFault({ method: 'POST', path: '/upload/', status: 503, times: 1 });
    const busy = await rejection(store.put('ujet-chat-transcripts', 'chat-9.txt', Buffer.from('hello'), 'text/plain'));
    expect(busy.code).toBe('storage_unreachable');
    expect(busy.extensions).toMatchObject({ storage_status: 503 });

    await store.put('ujet-chat-transcripts', 'chat-9.txt', Buffer.from('hello'), 'text/plain');
    expect([...gcs.objects.values()].map((o) => [o.name, o.data.toString()])).toEqual([['ujet-chat-transcripts/chat-9.txt', 'hello']]);
  });

  it('a slow storage beyond the timeout is storage_unreachable', async () => {
    const store = await openGcsStore(config(gcs, { timeoutMs: 300 }), { guard: allowLoopback() });
    gcs.injectFault({ method: 'POST', path: '/upload/', delayMs: 2_000, status: 200, body: {} });
    const e = await rejection(store.put('ujet-metadata', 'call-1.json', Buffer.from('{}'), 'application/json'));
    expect(e.code).toBe('storage_unreachable');
  });
});

describe('GcsFileStore credentials', () => {
  let gcs: SampleGcs;
  beforeEach(async () => {
    gcs = await startSampleGcs({
      auth: {
        required: true,
        serviceAccounts: [{ clientEmail: EMAIL, publicKeyPem: PUBLIC_PEM }],
        oauthClient: { clientId: OAUTH.clientId, clientSecret: OAUTH.clientSecret, refreshTokens: [OAUTH.refreshToken] },
      },
    });
  });
  afterEach(async () => {
    await gcs.close();
  });

  it('service account: every request carries a bearer JWT signed with the key', async () => {
    const store = await openGcsStore(config(gcs, { credentials: SERVICE_ACCOUNT }), { guard: allowLoopback() });
    await store.put('ujet-metadata', 'call-1.json', Buffer.from('{}'), 'application/json');
    await store.get('ujet-metadata', 'call-1.json');
    const storageRequests = gcs.requests.filter((r) => r.path.includes('/storage/v1/'));
    expect(storageRequests.length).toBe(2);
    for (const r of storageRequests) {
      expect(r.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(r.auth).toEqual({ method: 'bearer', subject: EMAIL });
    }
  });

  it('service account: the link is a V4 signed URL that the storage accepts until it expires', async () => {
    const now = Date.now();
    const store = await openGcsStore(config(gcs, { credentials: SERVICE_ACCOUNT, linkExpiryMs: 2 * 3_600_000 }), { guard: allowLoopback(), now: () => now });
    const stored = await store.put('ujet-media', 'chat 5 photo.jpg', Buffer.from([0xff, 0xd8]), 'image/jpeg');
    expect(stored.url).toBeDefined();
    const url = new URL(stored.url!);
    expect(url.origin).toBe(gcs.url);
    expect(url.pathname).toBe('/recordings/ujet-media/chat%205%20photo.jpg');
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Credential')).toMatch(new RegExp(`^${EMAIL}/\\d{8}/auto/storage/goog4_request$`));
    expect(url.searchParams.get('X-Goog-Expires')).toBe('7200');
    expect(url.searchParams.get('X-Goog-SignedHeaders')).toBe('host');

    // The emulator checks the signature against the account's public key, as GCS does.
    const res = await fetch(stored.url!);
    expect(res.status).toBe(200);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0xff, 0xd8]);
    const tampered = stored.url!.replace('chat%205%20photo.jpg', 'chat%206%20photo.jpg');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('OAuth client: the refresh token buys an access token at token_url; no link (nothing to sign with)', async () => {
    const credentials: GcsCredentials = { kind: 'oauth_client', ...OAUTH, tokenUrl: `${gcs.url}/token` };
    const learnt: string[] = [];
    const store = await openFileStore(config(gcs, { credentials }), { guard: allowLoopback(), learnSecret: (v) => learnt.push(v) });
    const stored = await store.put('ujet-metadata', 'chat-3.json', Buffer.from('{}'), 'application/json');
    expect(stored.url).toBeUndefined();
    // The access token is handed to the Redactor as soon as it exists.
    expect(learnt).toEqual([Object.keys(gcs.oauth.state.accessTokens)[0]]);
    const tokenRequest = gcs.requests.find((r) => r.path === '/token');
    expect(tokenRequest?.body).toMatchObject({ grant_type: 'refresh_token', refresh_token: OAUTH.refreshToken });
    const upload = gcs.requests.find((r) => r.path.startsWith('/upload/'));
    expect(upload?.auth).toEqual({ method: 'bearer', subject: OAUTH.clientId });
  });

  it('refused credentials: storage_request_failed, and the error carries no secret', async () => {
    const credentials: GcsCredentials = { kind: 'oauth_client', ...OAUTH, refreshToken: '1//revoked-refresh-token', tokenUrl: `${gcs.url}/token` };
    const store = await openGcsStore(config(gcs, { credentials }), { guard: allowLoopback() });
    const e = await rejection(store.put('ujet-metadata', 'chat-3.json', Buffer.from('{}'), 'application/json'));
    expect(e.code).toBe('storage_request_failed');
    expect(e.message).toContain('invalid_grant');
    const shown = JSON.stringify(e.toProblem()) + e.message;
    for (const secret of [OAUTH.clientSecret, '1//revoked-refresh-token']) expect(shown).not.toContain(secret);
    expect(gcs.objects.size).toBe(0);
  });

  it('no credentials against a bucket that requires them: storage_request_failed (401)', async () => {
    const store = await openGcsStore(config(gcs), { guard: allowLoopback() });
    const e = await rejection(store.put('ujet-metadata', 'chat-3.json', Buffer.from('{}'), 'application/json'));
    expect(e.code).toBe('storage_request_failed');
    expect(e.extensions).toMatchObject({ storage_status: 401 });
  });
});

describe('GCS endpoint and the SSRF policy', () => {
  let gcs: SampleGcs;
  beforeAll(async () => {
    gcs = await startSampleGcs();
  });
  afterAll(async () => {
    await gcs.close();
  });

  it('a loopback endpoint not listed in allow_private_network is refused when the store is opened', async () => {
    const e = await rejection(openGcsStore(config(gcs), { guard: new SsrfGuard({ allow: [] }) }));
    expect(e.code).toBe('destination_blocked');
    expect(e.message).toContain('allow_private_network');
  });

  it('a name resolving to loopback is refused too', async () => {
    const e = await rejection(openGcsStore(config(gcs, { apiEndpoint: gcs.url.replace('127.0.0.1', 'localhost') }), { guard: new SsrfGuard({ allow: [] }) }));
    expect(e.code).toBe('destination_blocked');
  });

  it('the OAuth token URL is checked like the endpoint', async () => {
    const credentials: GcsCredentials = { kind: 'oauth_client', ...OAUTH, tokenUrl: 'http://169.254.169.254/token' };
    const e = await rejection(openGcsStore(config(gcs, { credentials }), { guard: allowLoopback() }));
    expect(e.code).toBe('destination_blocked');
  });

  it('STORAGE_EMULATOR_HOST in the environment (which the library obeys over any config) is refused', async () => {
    process.env.STORAGE_EMULATOR_HOST = 'http://169.254.169.254';
    try {
      const e = await rejection(openGcsStore(config(gcs), { guard: allowLoopback() }));
      expect(e.code).toBe('storage_request_failed');
      expect(e.message).toContain('STORAGE_EMULATOR_HOST');
    } finally {
      delete process.env.STORAGE_EMULATOR_HOST;
    }
  });

  it("the gateway's own address is refused even when loopback is allowed", async () => {
    const self = new ListenAddresses();
    self.add('127.0.0.1', gcs.port);
    const e = await rejection(openGcsStore(config(gcs), { guard: new SsrfGuard({ allow: ['127.0.0.1'] }, self) }));
    expect(e.code).toBe('destination_blocked');
  });
});
