import { generateKeyPairSync } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { JWT } from 'google-auth-library';
import { startSampleGcs, parseMultipartRelated, type SampleGcs } from '../../src/sample-storage/gcs';

/** The real client pointed at the emulator; no credentials, no retries (tests want the first answer). */
function client(gcs: SampleGcs, extra: ConstructorParameters<typeof Storage>[0] = {}): Storage {
  return new Storage({ apiEndpoint: gcs.url, projectId: 'test', retryOptions: { autoRetry: false }, ...extra });
}

describe('GCS emulator with @google-cloud/storage', () => {
  let gcs: SampleGcs;
  beforeEach(async () => {
    gcs = await startSampleGcs();
  });
  afterEach(async () => {
    await gcs.close();
  });

  it('stores a small file sent as one multipart request, and serves its metadata and bytes', async () => {
    const file = client(gcs).bucket('b1').file('ujet-metadata/call-1.json');
    const data = Buffer.from('{"id":1}');
    await file.save(data, { resumable: false, contentType: 'application/json' });

    const upload = gcs.requests.find((r) => r.path === '/upload/storage/v1/b/b1/o');
    expect(upload?.method).toBe('POST');
    expect(upload?.query.uploadType).toBe('multipart');
    expect(gcs.object('b1', 'ujet-metadata/call-1.json')?.data).toEqual(data);
    expect(gcs.object('b1', 'ujet-metadata/call-1.json')?.contentType).toBe('application/json');

    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ name: 'ujet-metadata/call-1.json', bucket: 'b1', size: '8', contentType: 'application/json' });
    const [bytes] = await file.download();
    expect(bytes).toEqual(data);
    // The object is one encoded path segment.
    expect(gcs.requests.some((r) => r.path === '/storage/v1/b/b1/o/ujet-metadata%2Fcall-1.json' && r.query.alt === 'media')).toBe(true);
  });

  it('takes the resumable path (session, then chunked PUTs) the client uses for large files', async () => {
    const file = client(gcs).bucket('b1').file('ujet-voice-recordings/call-2.mp3');
    const data = Buffer.alloc(600 * 1024, 7);
    data.write('ID3');
    await file.save(data, { resumable: true, chunkSize: 256 * 1024, contentType: 'audio/mpeg' });

    const kinds = gcs.requests.filter((r) => r.path.startsWith('/upload/')).map((r) => `${r.method} ${r.query.uploadType}`);
    expect(kinds[0]).toBe('POST resumable');
    expect(kinds.filter((k) => k === 'PUT resumable').length).toBe(3);
    expect(gcs.object('b1', 'ujet-voice-recordings/call-2.mp3')?.data.equals(data)).toBe(true);
  });

  it('takes a media upload (bytes only, name in the query)', async () => {
    const res = await fetch(`${gcs.url}/upload/storage/v1/b/b1/o?uploadType=media&name=${encodeURIComponent('x/y z.txt')}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'x/y z.txt', size: '5', contentType: 'text/plain' });
    const [bytes] = await client(gcs).bucket('b1').file('x/y z.txt').download();
    expect(bytes.toString()).toBe('hello');
  });

  it('overwrites the same name (new generation, one object) and honours ifGenerationMatch', async () => {
    const bucket = client(gcs).bucket('b1');
    await bucket.file('a.txt').save('one', { resumable: false });
    const first = gcs.object('b1', 'a.txt')!.generation;
    await bucket.file('a.txt').save('two', { resumable: false });
    expect(gcs.objects.size).toBe(1);
    expect(gcs.object('b1', 'a.txt')!.data.toString()).toBe('two');
    expect(gcs.object('b1', 'a.txt')!.generation).toBeGreaterThan(first);
    await expect(bucket.file('a.txt').save('three', { resumable: false, preconditionOpts: { ifGenerationMatch: first } })).rejects.toMatchObject({ code: 412 });
    await expect(bucket.file('new.txt').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })).resolves.toBeUndefined();
  });

  it('lists by prefix, deletes, and answers 404 for a missing object', async () => {
    const bucket = client(gcs).bucket('b1');
    for (const name of ['p/x.txt', 'p/y.txt', 'q/z.txt']) await bucket.file(name).save(name, { resumable: false });
    const [files] = await bucket.getFiles({ prefix: 'p/' });
    expect(files.map((f) => f.name)).toEqual(['p/x.txt', 'p/y.txt']);
    await bucket.file('p/x.txt').delete();
    expect(gcs.object('b1', 'p/x.txt')).toBeUndefined();
    await expect(bucket.file('p/x.txt').download()).rejects.toMatchObject({ code: 404 });
    const [exists] = await bucket.file('q/z.txt').exists();
    expect(exists).toBe(true);
  });

  it('keeps names with spaces, slashes and Unicode exactly', async () => {
    const bucket = client(gcs).bucket('b1');
    const name = 'ujet-media/chat 7 – fotó 東京 #1?.jpg';
    await bucket.file(name).save(Buffer.from([0xff, 0xd8, 0xff]), { resumable: false, contentType: 'image/jpeg' });
    expect([...gcs.objects.values()].map((o) => o.name)).toEqual([name]);
    const [bytes] = await bucket.file(name).download();
    expect([...bytes]).toEqual([0xff, 0xd8, 0xff]);
  });

  it('answers injected 5xx faults, then serves again', async () => {
    gcs.injectFault({ method: 'POST', path: '/upload/', status: 503, times: 2 });
    const file = client(gcs).bucket('b1').file('f.txt');
    await expect(file.save('x', { resumable: false })).rejects.toMatchObject({ code: 503 });
    await expect(file.save('x', { resumable: false })).rejects.toMatchObject({ code: 503 });
    await file.save('x', { resumable: false });
    expect(gcs.object('b1', 'f.txt')?.data.toString()).toBe('x');
  });

  it('control API lists objects with their bytes', async () => {
    await client(gcs)
      .bucket('b1')
      .file('d/e.bin')
      .save(Buffer.from([1, 2, 3]), { resumable: false });
    const state = (await (await fetch(`${gcs.url}/__control/state`)).json()) as { objects: unknown[] };
    expect(state.objects).toEqual([expect.objectContaining({ bucket: 'b1', name: 'd/e.bin', size: 3, base64: 'AQID' })]);
    const faults = await fetch(`${gcs.url}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 500 }),
    });
    expect(faults.status).toBe(201);
  });
});

describe('GCS emulator auth', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'gateway@test-project.iam.gserviceaccount.com';
  let gcs: SampleGcs;
  beforeEach(async () => {
    gcs = await startSampleGcs({
      auth: {
        required: true,
        serviceAccounts: [{ clientEmail: email, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
        oauthClient: { clientId: 'cid', clientSecret: 'csecret', refreshTokens: ['refresh-1'] },
      },
    });
  });
  afterEach(async () => {
    await gcs.close();
  });

  it('refuses a request without a bearer token (401)', async () => {
    await expect(client(gcs).bucket('b1').file('x').save('x', { resumable: false })).rejects.toMatchObject({ code: 401 });
    expect(gcs.objects.size).toBe(0);
  });

  it('accepts a self-signed service-account JWT and records who wrote', async () => {
    const authClient = new JWT({ email, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    await client(gcs, { authClient, useAuthWithCustomEndpoint: true }).bucket('b1').file('x').save('x', { resumable: false });
    const upload = gcs.requests.find((r) => r.path.startsWith('/upload/'));
    expect(upload?.headers.authorization).toMatch(/^Bearer ey/);
    expect(upload?.auth).toEqual({ method: 'bearer', subject: email });
  });

  it('refuses a JWT signed by another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const authClient = new JWT({ email, key: other });
    await expect(client(gcs, { authClient, useAuthWithCustomEndpoint: true }).bucket('b1').file('x').save('x', { resumable: false })).rejects.toMatchObject({
      code: 401,
    });
  });

  it('issues access tokens for the OAuth client refresh token at /token', async () => {
    const res = await fetch(`${gcs.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'refresh-1', client_id: 'cid', client_secret: 'csecret' }),
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    const list = await fetch(`${gcs.url}/storage/v1/b/b1/o`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
  });
});

describe('parseMultipartRelated', () => {
  it('splits metadata and media, keeping binary bytes (including CRLF inside)', () => {
    const media = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x0d, 0x0a]);
    const raw = Buffer.concat([
      Buffer.from('--xyz\r\nContent-Type: application/json\r\n\r\n{"name":"a"}\r\n--xyz\r\nContent-Type: image/jpeg\r\n\r\n'),
      media,
      Buffer.from('\r\n--xyz--'),
    ]);
    const parts = parseMultipartRelated('multipart/related; boundary=xyz', raw);
    expect(parts?.map((p) => p.contentType)).toEqual(['application/json', 'image/jpeg']);
    expect(parts?.[1].body.equals(media)).toBe(true);
    expect(parseMultipartRelated('application/json', raw)).toBeUndefined();
  });
});
