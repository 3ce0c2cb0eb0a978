/**
 * `storage:` and `metadata_file:` in a connector file: defaults, one credential, a key that can
 * be read, a fingerprint that looks like one, warnings where a setting does nothing, errors that
 * name file, line and path, and secrets masked.
 */
import { utils } from 'ssh2';
import { compileConnector } from '../../src/config/compile';
import { bundled } from '../helpers/harness';

const PIN = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
const key = utils.generateKeyPairSync('ed25519', { passphrase: 'right-phrase', cipher: 'aes256-ctr', rounds: 4 } as never).private;
const env = { ZENDESK_URL: 'http://127.0.0.1:4010', SFTP_PASSWORD: 'sftp-secret-77', SFTP_KEY: key, SFTP_PHRASE: 'right-phrase', WRONG_PHRASE: 'wrong-phrase' };

function compile(extra: string) {
  return compileConnector(`${bundled('zendesk.yaml')}\n${extra}\n`, 'zendesk.yaml', env);
}
const errors = (r: ReturnType<typeof compile>) => r.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);
const warnings = (r: ReturnType<typeof compile>) => r.issues.filter((i) => i.severity === 'warning').map((i) => `${i.path}: ${i.message}`);

test('defaults: port 22, every kind, no base folder, 30 s; the metadata file goes where it can', () => {
  const r = compile(
    `storage:\n  type: sftp\n  host: sftp.example.com\n  user: ujet\n  password: \${env:SFTP_PASSWORD}\n  host_key_sha256: "${PIN}"\nmetadata_file: {}`,
  );
  expect(errors(r)).toEqual([]);
  const c = r.connector!;
  expect(c.storage!.settings).toEqual({
    type: 'sftp',
    host: 'sftp.example.com',
    port: 22,
    user: 'ujet',
    password: 'sftp-secret-77',
    folder: '',
    hostKeySha256: PIN.slice(7),
    timeoutMs: 30_000,
  });
  expect([...c.storage!.kinds]).toEqual(['call_recording', 'chat_transcript', 'voicemail', 'photo', 'video', 'session_metadata']);
  expect(c.storage!.linkInCrm).toBe(false);
  expect(c.metadataFile).toEqual({ delayMs: 15 * 60_000, sendToCrm: true, store: true });
  // The password is a secret: masked in what GET /v1/connectors/{id} shows.
  expect(c.secrets).toContain('sftp-secret-77');
  expect(JSON.stringify(c.source)).not.toContain('sftp-secret-77');
});

test('a key with its passphrase; the key and the passphrase are secrets', () => {
  const r = compile(
    `storage: { type: sftp, host: h, user: u, private_key: "\${env:SFTP_KEY}", passphrase: "\${env:SFTP_PHRASE}", host_key_sha256: "${PIN}", folder: /a/b/ }`,
  );
  expect(errors(r)).toEqual([]);
  expect(r.connector!.storage!.settings).toMatchObject({ privateKey: key, passphrase: 'right-phrase', folder: '/a/b' });
  expect(r.connector!.secrets).toEqual(expect.arrayContaining([key, 'right-phrase']));
});

test.each([
  ['no credential', `storage: { type: sftp, host: h, user: u, host_key_sha256: "${PIN}" }`, /^storage\.password: give either password or private_key/],
  [
    'both credentials',
    `storage: { type: sftp, host: h, user: u, password: p1234, private_key: "\${env:SFTP_KEY}", host_key_sha256: "${PIN}" }`,
    /^storage\.private_key: give either password or private_key/,
  ],
  [
    'a passphrase without a key',
    `storage: { type: sftp, host: h, user: u, password: p1234, passphrase: x1234, host_key_sha256: "${PIN}" }`,
    /^storage\.passphrase: passphrase is for private_key/,
  ],
  [
    'the wrong passphrase',
    `storage: { type: sftp, host: h, user: u, private_key: "\${env:SFTP_KEY}", passphrase: "\${env:WRONG_PHRASE}", host_key_sha256: "${PIN}" }`,
    /^storage\.private_key: the private key cannot be used: wrong or missing passphrase/,
  ],
  [
    'not a key',
    'storage: { type: sftp, host: h, user: u, private_key: "hello there", host_key_sha256: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" }',
    /^storage\.private_key: the private key cannot be used/,
  ],
  [
    'a fingerprint that is none',
    'storage: { type: sftp, host: h, user: u, password: p1234, host_key_sha256: "MD5:aa:bb" }',
    /^storage\.host_key_sha256: not a SHA-256 fingerprint/,
  ],
  [
    'a base folder with ..',
    `storage: { type: sftp, host: h, user: u, password: p1234, host_key_sha256: "${PIN}", folder: "a/../../etc" }`,
    /^storage\.folder: folder must not contain "\.\."/,
  ],
  [
    'an unknown file kind',
    `storage: { type: sftp, host: h, user: u, password: p1234, host_key_sha256: "${PIN}", kinds: [recordings] }`,
    /^storage\.kinds\[0\]/,
  ],
  [
    'a public_url that is no http(s) URL',
    `storage: { type: sftp, host: h, user: u, password: p1234, host_key_sha256: "${PIN}", public_url: "ftp://x" }`,
    /^storage\.public_url/,
  ],
  ['an unknown type', 'storage: { type: ftp, host: h, user: u, password: p1234 }', /^storage/],
  ['store without storage', 'metadata_file: { store: true }', /^metadata_file\.store: metadata_file\.store needs storage:/],
  [
    'store without the kind',
    `storage: { type: sftp, host: h, user: u, password: p1234, host_key_sha256: "${PIN}", kinds: [photo] }\nmetadata_file: { store: true }`,
    /^metadata_file\.store: storage\.kinds does not include session_metadata/,
  ],
])('%s: an error naming the path', (_name, yaml, message) => {
  const r = compile(yaml);
  expect(r.connector).toBeUndefined();
  expect(errors(r)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  // Errors point at the line.
  expect(r.issues.find((i) => i.severity === 'error')!.line).toEqual(expect.any(Number));
  // Never the key or a passphrase in a message.
  for (const e of errors(r)) for (const secret of [key.split('\n')[1], 'right-phrase', 'wrong-phrase']) expect(e).not.toContain(secret);
});

test('warnings: an unpinned host key, link_in_crm on SFTP, a metadata file that goes nowhere', () => {
  const r = compile('storage: { type: sftp, host: h, user: u, password: p1234, link_in_crm: true, kinds: [photo] }\nmetadata_file: { send_to_crm: false }');
  expect(errors(r)).toEqual([]);
  expect(warnings(r)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^storage\.host_key_sha256: the SFTP server's host key is not pinned/),
      expect.stringMatching(/^storage\.link_in_crm: SFTP gives no http\(s\) link/),
      expect.stringMatching(/^metadata_file: the metadata file goes nowhere/),
    ]),
  );
});

test('no storage: and no metadata_file: nothing of either', () => {
  const c = compile('').connector!;
  expect(c.storage).toBeUndefined();
  expect(c.metadataFile).toBeUndefined();
});
