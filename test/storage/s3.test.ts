/** S3FileStore against the S3-compatible emulator: signed PUT/GET, layout, overwrite, names, outages, presigned links, SSRF. */
import { GatewayError } from '../../src/errors';
import { SsrfGuard } from '../../src/http/ssrf';
import { startSampleS3, type SampleS3 } from '../../src/sample-storage/s3';
import { S3FileStore, type S3StoreConfig } from '../../src/storage/s3';

const CREDS = { accessKeyId: 'AKIAGATEWAYTEST01', secretAccessKey: 'gateway/test/secret/access/key/0123456789' };
let s3: SampleS3;

beforeEach(async () => {
  s3 = await startSampleS3({ credentials: CREDS, region: 'eu-west-1', buckets: ['acme-files'] });
});
afterEach(async () => {
  await s3.close();
});

const config = (over: Partial<S3StoreConfig> = {}): S3StoreConfig => ({
  type: 's3',
  endpoint: s3.url,
  region: 'eu-west-1',
  bucket: 'acme-files',
  folder: 'gw',
  pathStyle: true,
  linkExpiryMs: 3_600_000,
  timeoutMs: 5_000,
  ...CREDS,
  ...over,
});
const store = (over: Partial<S3StoreConfig> = {}) => new S3FileStore(config(over), { guard: new SsrfGuard({ allow: ['127.0.0.1'] }) });

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }
  throw new Error('expected a rejection');
}

test('put, overwrite and get under the layout; every request signed', async () => {
  const st = store();
  const first = await st.put('ujet-voice-recordings', 'call-5.wav', Buffer.from('RIFF1'), 'audio/wav');
  await st.put('ujet-voice-recordings', 'call-5.wav', Buffer.from('RIFF2'), 'audio/wav');
  expect(first.location).toBe('s3://acme-files/gw/ujet-voice-recordings/call-5.wav');
  expect([...s3.objects.values()].map((o) => [o.key, o.data.toString(), o.contentType, o.writes])).toEqual([
    ['gw/ujet-voice-recordings/call-5.wav', 'RIFF2', 'audio/wav', 2],
  ]);
  expect((await st.get('ujet-voice-recordings', 'call-5.wav'))?.toString()).toBe('RIFF2');
  expect(await st.get('ujet-voice-recordings', 'call-6.wav')).toBeUndefined();
  for (const r of s3.requests) expect(r.auth).toEqual({ method: 'api_key', subject: CREDS.accessKeyId });
  await st.close();
});

test.each([
  ['spaces', 'chat 1 photo 2.jpg'],
  ['Unicode', 'chat-ü-東京-🙂.jpg'],
  ['reserved characters', "chat-(1)!*'+&=?#%.jpg"],
])('names with %s are signed and stored exactly', async (_w, name) => {
  const st = store();
  await st.put('ujet-media', name, Buffer.from([1, 2]), 'image/jpeg');
  expect([...s3.objects.values()].map((o) => o.key)).toEqual([`gw/ujet-media/${name}`]);
  expect([...(await st.get('ujet-media', name))!]).toEqual([1, 2]);
  await st.close();
});

test('the presigned link reads the object; altered, it is refused', async () => {
  const st = store();
  const { url } = await st.put('ujet-metadata', 'call 9.json', Buffer.from('{"a":1}'), 'application/json');
  expect(new URL(url!).searchParams.get('X-Amz-Expires')).toBe('3600');
  const ok = await fetch(url!);
  expect(ok.status).toBe(200);
  expect(await ok.text()).toBe('{"a":1}');
  expect((await fetch(url!.replace('X-Amz-Expires=3600', 'X-Amz-Expires=7200'))).status).toBe(403);
  await st.close();
});

test('wrong secret: storage_request_failed 403, the secret never in the error', async () => {
  const st = store({ secretAccessKey: 'not/the/right/secret/key/at/all/000000' });
  const e = await rejection(st.put('ujet-metadata', 'x.json', Buffer.from('{}'), 'application/json'));
  expect(e.code).toBe('storage_request_failed');
  expect(e.message).toContain('403 SignatureDoesNotMatch');
  expect(JSON.stringify(e.toProblem())).not.toContain('not/the/right');
  expect(s3.objects.size).toBe(0);
  await st.close();
});

test('no such bucket: storage_request_failed 404', async () => {
  const st = store({ bucket: 'other-bucket' });
  const e = await rejection(st.put('ujet-metadata', 'x.json', Buffer.from('{}'), 'application/json'));
  expect(e).toMatchObject({ code: 'storage_request_failed', extensions: { storage_status: 404 } });
  await st.close();
});

test('down for a while, then a 503: storage_unreachable each time; then stored once', async () => {
  const st = store();
  s3.refuse(60_000);
  const down = await rejection(st.put('ujet-chat-transcripts', 'chat-1.txt', Buffer.from('hi'), 'text/plain'));
  expect(down).toMatchObject({ code: 'storage_unreachable', extensions: { network_error: 'ECONNREFUSED' } });
  s3.refuse(0);
  await new Promise((r) => setTimeout(r, 50));
  s3.injectFault({ method: 'PUT', status: 503 });
  const busy = await rejection(st.put('ujet-chat-transcripts', 'chat-1.txt', Buffer.from('hi'), 'text/plain'));
  expect(busy).toMatchObject({ code: 'storage_unreachable', extensions: { storage_status: 503 } });
  await st.put('ujet-chat-transcripts', 'chat-1.txt', Buffer.from('hi'), 'text/plain');
  expect([...s3.objects.values()].map((o) => [o.key, o.writes])).toEqual([['gw/ujet-chat-transcripts/chat-1.txt', 1]]);
  await st.close();
});

test('an endpoint in a network the connector does not allow: destination_blocked, nothing sent', async () => {
  const st = new S3FileStore(config(), { guard: new SsrfGuard({ allow: [] }) });
  const e = await rejection(st.put('ujet-metadata', 'x.json', Buffer.from('{}'), 'application/json'));
  expect(e.code).toBe('destination_blocked');
  expect(s3.requests).toHaveLength(0);
  await st.close();
});

test('virtual-hosted style puts the bucket in the host name', () => {
  const st = new S3FileStore(config({ endpoint: 'https://s3.eu-west-1.amazonaws.com', pathStyle: false }));
  expect(st.objectUrl('gw/ujet-media/a b.jpg').toString()).toBe('https://acme-files.s3.eu-west-1.amazonaws.com/gw/ujet-media/a%20b.jpg');
});

test('the emulator control API lists objects with bytes; unsigned requests are refused', async () => {
  await store().put('ujet-voicemails', 'call-3.mp3', Buffer.from([9, 8]), 'audio/mpeg');
  const state = (await (await fetch(`${s3.url}/__control/state`)).json()) as { objects: unknown[] };
  expect(state.objects).toEqual([expect.objectContaining({ bucket: 'acme-files', key: 'gw/ujet-voicemails/call-3.mp3', size: 2, base64: 'CQg=' })]);
  const anonymous = await fetch(`${s3.url}/acme-files/gw/ujet-voicemails/call-3.mp3`);
  expect(anonymous.status).toBe(403);
  expect(await anonymous.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
});
