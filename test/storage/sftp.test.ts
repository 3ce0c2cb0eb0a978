/**
 * The SFTP backend against a real SSH server (in-process ssh2 Server on loopback): password
 * and key+passphrase logins, folders made, bytes as sent, a retry replaces the file (one
 * file, no temporary left), host key pinning, an outage and the reconnection after it.
 */
import { GatewayError } from '../../src/errors';
import { normalizeFingerprint, SftpStore, type SftpSettings } from '../../src/storage/sftp';
import { startSftpServer, type TestSftpServer } from './sftp-server';

let srv: TestSftpServer;
const stores: SftpStore[] = [];
beforeAll(async () => {
  srv = await startSftpServer();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await srv.close();
});

function store(over: Partial<SftpSettings> = {}, onUnpinnedHostKey?: (f: string) => void): SftpStore {
  const s = new SftpStore(
    {
      type: 'sftp',
      host: '127.0.0.1',
      port: srv.port,
      user: srv.user,
      password: srv.password,
      folder: '',
      timeoutMs: 5000,
      hostKeySha256: normalizeFingerprint(srv.fingerprint),
      ...over,
    },
    { onUnpinnedHostKey },
  );
  stores.push(s);
  return s;
}

test('password login: folders made, bytes as sent, one connection for several writes, a retry replaces', async () => {
  const s = store({ folder: 'exports/ujet' });
  const before = srv.logins.length;
  const audio = Buffer.from([0xff, 0xfb, 0x90, 0x00, ...Buffer.alloc(100_000, 7)]);
  const r = await s.put('ujet-voice-recordings', 'call-1.mp3', audio, 'audio/mpeg');
  expect(r).toEqual({ location: `sftp://127.0.0.1:${srv.port}/exports/ujet/ujet-voice-recordings/call-1.mp3` });
  await s.put('ujet-metadata', 'call-1.json', Buffer.from('{"a":1}'), 'application/json');
  await s.put('ujet-metadata', 'call-1.json', Buffer.from('{"a":2}'), 'application/json');
  expect(srv.files().filter((f) => f.startsWith('exports/'))).toEqual([
    'exports/',
    'exports/ujet/',
    'exports/ujet/ujet-metadata/',
    'exports/ujet/ujet-metadata/call-1.json',
    'exports/ujet/ujet-voice-recordings/',
    'exports/ujet/ujet-voice-recordings/call-1.mp3',
  ]);
  expect(srv.read('exports/ujet/ujet-voice-recordings/call-1.mp3').equals(audio)).toBe(true);
  expect(srv.read('exports/ujet/ujet-metadata/call-1.json').toString()).toBe('{"a":2}');
  expect((await s.get('ujet-metadata', 'call-1.json'))?.toString()).toBe('{"a":2}');
  expect(await s.get('ujet-metadata', 'nothing.json')).toBeUndefined();
  expect(srv.logins.slice(before)).toEqual(['password']);
});

test('an absolute base folder stays inside what the server gives', async () => {
  await store({ folder: '/abs/base' }).put('ujet-media', 'chat-2-photo-9.jpg', Buffer.from('jpg'), 'image/jpeg');
  expect(srv.read('abs/base/ujet-media/chat-2-photo-9.jpg').toString()).toBe('jpg');
});

test('key login with a passphrase', async () => {
  const before = srv.logins.length;
  await store({ password: undefined, privateKey: srv.clientKey.privateKey, passphrase: srv.clientKey.passphrase, folder: 'bykey' }).put(
    'ujet-voicemails',
    'call-3.wav',
    Buffer.from('RIFF'),
    'audio/wav',
  );
  expect(srv.read('bykey/ujet-voicemails/call-3.wav').toString()).toBe('RIFF');
  expect(srv.logins.slice(before)).toEqual(['publickey']);
});

test('a wrong password is a storage_failed error that names no secret', async () => {
  const e = await store({ password: 'wrong-password-1234', folder: 'nope' })
    .put('ujet-metadata', 'x.json', Buffer.from('{}'), 'application/json')
    .catch((x) => x);
  expect(e).toBeInstanceOf(GatewayError);
  expect(e.code).toBe('storage_failed');
  expect(e.message).not.toContain('wrong-password-1234');
  expect(srv.files().some((f) => f.startsWith('nope'))).toBe(false);
});

test('host key pinning: another key is refused before logging in; no pin: accepted and its fingerprint reported', async () => {
  const e = await store({ hostKeySha256: 'A'.repeat(43), folder: 'pinned' })
    .put('ujet-metadata', 'x.json', Buffer.from('{}'), 'application/json')
    .catch((x) => x);
  expect(e.code).toBe('storage_failed');
  expect(e.message).toContain(`host key ${srv.fingerprint} is not the pinned storage.host_key_sha256`);
  expect(srv.files().some((f) => f.startsWith('pinned'))).toBe(false);

  const seen: string[] = [];
  await store({ hostKeySha256: undefined, folder: 'unpinned' }, (f) => seen.push(f)).put('ujet-metadata', 'y.json', Buffer.from('{}'), 'application/json');
  expect(seen).toEqual([srv.fingerprint]);
});

test('the server down: storage_failed; back up: the same store reconnects and writes', async () => {
  const s = store({ folder: 'outage', timeoutMs: 2000 });
  await s.put('ujet-metadata', 'a.json', Buffer.from('1'), 'application/json');
  await srv.stop();
  const e = await s.put('ujet-metadata', 'b.json', Buffer.from('2'), 'application/json').catch((x) => x);
  expect(e.code).toBe('storage_failed');
  await srv.start();
  await s.put('ujet-metadata', 'b.json', Buffer.from('2'), 'application/json');
  expect(srv.files().filter((f) => f.startsWith('outage'))).toEqual([
    'outage/',
    'outage/ujet-metadata/',
    'outage/ujet-metadata/a.json',
    'outage/ujet-metadata/b.json',
  ]);
});

test('a closed store refuses further writes', async () => {
  const s = store();
  await s.close();
  await expect(s.put('ujet-metadata', 'z.json', Buffer.from('{}'), 'application/json')).rejects.toMatchObject({ code: 'storage_failed' });
});
