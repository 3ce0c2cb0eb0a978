/** storage (type gcs) in a connector file: defaults, credentials, errors at their YAML path, secrets masked, the SSRF rule. */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';
import { Redactor, connectorSecrets } from '../../src/util/redact';
import type { GcsStoreConfig } from '../../src/storage/gcs';
import { bundled } from '../helpers/harness';

const base = bundled('zendesk.yaml');
const ENV = { ZENDESK_URL: 'http://127.0.0.1:4010' };
const compile = (block: string, env: Record<string, string> = {}) => compileConnector(`${base}\nstorage:\n${block}`, 'zd.yaml', { ...ENV, ...env });

/** The compiled storage, as GCS settings. */
function gcsOf(r: ReturnType<typeof compileConnector>): GcsStoreConfig {
  const s = r.connector!.storage!.settings;
  if (s.type !== 'gcs') throw new Error(`expected gcs storage, got ${s.type}`);
  return s;
}

const PRIVATE_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_JSON = JSON.stringify({
  type: 'service_account',
  project_id: 'acme-prod',
  private_key_id: '0123456789abcdef0123456789abcdef01234567',
  private_key: PRIVATE_PEM,
  client_email: 'crm-gateway@acme-prod.iam.gserviceaccount.com',
  client_id: '1234567890',
  token_uri: 'https://oauth2.googleapis.com/token',
});

test('service account from the environment: compiled, the key masked in every form', () => {
  const r = compile('  type: gcs\n  bucket: acme-recordings\n  folder: /crm-gateway/prod/\n  credentials:\n    service_account_json: ${env:GCS_KEY}\n', {
    GCS_KEY: KEY_JSON,
  });
  expect(r.issues.map(formatIssue)).toEqual([]);
  const s = gcsOf(r);
  expect(s).toMatchObject({ type: 'gcs', bucket: 'acme-recordings', folder: 'crm-gateway/prod', linkExpiryMs: 168 * 3_600_000 });
  expect(s.credentials).toMatchObject({ kind: 'service_account', clientEmail: 'crm-gateway@acme-prod.iam.gserviceaccount.com', projectId: 'acme-prod' });
  expect(s.apiEndpoint).toBeUndefined();

  const redactor = new Redactor();
  redactor.setSource('zd', connectorSecrets(r.connector!));
  const bodyLine = PRIVATE_PEM.split('\n')[5];
  for (const leak of [PRIVATE_PEM, JSON.stringify(PRIVATE_PEM), KEY_JSON, bodyLine, PRIVATE_PEM.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')]) {
    expect(redactor.redact(`oops: ${leak}`)).not.toContain(bodyLine);
  }
  expect(JSON.stringify(r.connector!.source)).not.toContain(bodyLine);
});

test('OAuth client with a refresh token; the secret and the refresh token are masked even when written literally', () => {
  const r = compile(
    '  type: gcs\n  bucket: acme-recordings\n  credentials:\n    client_id: 123.apps.googleusercontent.com\n    client_secret: GOCSPX-literal-secret\n    refresh_token: 1//literal-refresh-token\n',
  );
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect(gcsOf(r).credentials).toEqual({
    kind: 'oauth_client',
    clientId: '123.apps.googleusercontent.com',
    clientSecret: 'GOCSPX-literal-secret',
    refreshToken: '1//literal-refresh-token',
  });
  expect(r.connector!.secrets).toEqual(expect.arrayContaining(['GOCSPX-literal-secret', '1//literal-refresh-token']));
  expect(JSON.stringify(r.connector!.source)).not.toMatch(/literal-(secret|refresh-token)/);
});

test('an emulator on loopback: allowed when listed in allow_private_network; its URL from the environment is not a secret', () => {
  const r = compileConnector(`${base}\nstorage:\n  type: gcs\n  bucket: bucket-1\n  api_endpoint: \${env:GCS_URL}\n`, 'zd.yaml', {
    ...ENV,
    GCS_URL: 'http://127.0.0.1:4443',
  });
  expect(base).toContain('allow_private_network: [127.0.0.1]');
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect(gcsOf(r).apiEndpoint).toBe('http://127.0.0.1:4443');
  expect(r.connector!.secrets).not.toContain('http://127.0.0.1:4443');
});

test('an endpoint in a private network the connector does not allow is a config error', () => {
  const r = compile('  type: gcs\n  bucket: bucket-1\n  api_endpoint: http://10.1.2.3:4443\n');
  expect(r.connector).toBeUndefined();
  expect(r.issues.find((i) => i.path === 'storage.api_endpoint')?.message).toContain('allow_private_network');
});

test.each([
  ['no bucket', '  type: gcs\n', 'storage', 'bucket'],
  ['bad bucket name', '  type: gcs\n  bucket: Bad_Bucket!\n', 'storage.bucket', ''],
  ['unknown key', '  type: gcs\n  bucket: bucket-1\n  region: eu\n', 'storage.region', 'unknown property'],
  [
    'both kinds of credentials',
    `  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: '{"type":"service_account"}'\n    client_id: x\n    client_secret: literal-secret\n    refresh_token: literal-refresh\n`,
    'storage.credentials',
    '',
  ],
  ['half an OAuth client', '  type: gcs\n  bucket: bucket-1\n  credentials:\n    client_id: x\n    client_secret: literal-secret\n', 'storage.credentials', ''],
  [
    'short client secret',
    '  type: gcs\n  bucket: bucket-1\n  credentials:\n    client_id: x\n    client_secret: short\n    refresh_token: literal-refresh\n',
    'storage.credentials.client_secret',
    '',
  ],
  [
    'not JSON',
    '  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: "not json at all"\n',
    'storage.credentials.service_account_json',
    'not JSON',
  ],
  [
    'not a service account',
    `  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: '{"type":"authorized_user"}'\n`,
    'storage.credentials.service_account_json',
    'service_account',
  ],
  [
    'bad key',
    `  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: '{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----xyz"}'\n`,
    'storage.credentials.service_account_json',
    'PEM',
  ],
  ['link expiry over 7 days', '  type: gcs\n  bucket: bucket-1\n  link_expiry_hours: 200\n', 'storage.link_expiry_hours', ''],
  ['folder with ..', '  type: gcs\n  bucket: bucket-1\n  folder: a/../b\n', 'storage.folder', '..'],
])('%s: an error at its path', (_label, block, path, word) => {
  const r = compile(block);
  expect(r.connector).toBeUndefined();
  const errors = r.issues.filter((i) => i.severity === 'error');
  expect(errors.some((i) => i.path === path && i.message.includes(word) && i.line !== undefined)).toBe(true);
});

test('a broken key from the environment: the error names the variable, never the text', () => {
  const broken = KEY_JSON.slice(0, -5);
  const r = compile('  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: ${env:GCS_KEY}\n', { GCS_KEY: broken });
  const shown = r.issues.map(formatIssue).join('\n');
  expect(shown).toContain('storage.credentials.service_account_json');
  expect(shown).not.toContain('PRIVATE KEY');
  expect(shown).not.toContain(PRIVATE_PEM.split('\n')[3]);
});

test('credentials over plain http to another host: a warning', () => {
  const r = compileConnector(
    `${base.replace('allow_private_network: [127.0.0.1]', 'allow_private_network: [127.0.0.1, 10.0.0.0/8]')}\nstorage:\n  type: gcs\n  bucket: bucket-1\n  api_endpoint: http://10.1.2.3:4443\n  credentials:\n    client_id: x\n    client_secret: literal-secret\n    refresh_token: literal-refresh\n`,
    'zd.yaml',
    ENV,
  );
  expect(r.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
  expect(r.issues.find((i) => i.severity === 'warning' && i.path === 'storage.api_endpoint')?.message).toContain('unencrypted');
});

test("the README's bucket examples compile", () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Cloud bucket (Google Cloud Storage)'));
  const [serviceAccount, oauth] = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1]);
  const withKey = compileConnector(`${base}\n${serviceAccount}`, 'zd.yaml', { ...ENV, GCS_SERVICE_ACCOUNT_JSON: KEY_JSON });
  expect(withKey.issues.map(formatIssue)).toEqual([]);
  expect(withKey.connector!.storage!.settings).toMatchObject({ bucket: 'acme-contact-center', folder: 'crm-gateway/prod', linkExpiryMs: 72 * 3_600_000 });
  const withClient = compileConnector(`${base}\n${serviceAccount.replace(/ {2}credentials:[\s\S]*?(?=\n {2}link_expiry_hours)/, oauth.trimEnd())}`, 'zd.yaml', {
    ...ENV,
    GCS_CLIENT_SECRET: 'GOCSPX-from-env',
    GCS_REFRESH_TOKEN: '1//refresh-from-env',
  });
  expect(withClient.issues.map(formatIssue)).toEqual([]);
  expect(gcsOf(withClient).credentials).toMatchObject({ kind: 'oauth_client', clientSecret: 'GOCSPX-from-env' });
});

describe('storage type s3', () => {
  const s3 = (block: string, env: Record<string, string> = {}) =>
    compile(`  type: s3\n  endpoint: \${env:S3_URL}\n  region: eu-west-1\n  bucket: acme-files\n${block}`, {
      S3_URL: 'http://127.0.0.1:9000',
      S3_SECRET: 'minio/secret/key/0123456789',
      ...env,
    });

  test('compiled with defaults; the secret key masked, the endpoint not a secret', () => {
    const r = s3('  folder: gw/\n  access_key_id: AKIAEXAMPLE\n  secret_access_key: ${env:S3_SECRET}\n');
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.connector!.storage!.settings).toEqual({
      type: 's3',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      bucket: 'acme-files',
      folder: 'gw',
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'minio/secret/key/0123456789',
      pathStyle: true,
      linkExpiryMs: 168 * 3_600_000,
    });
    expect(r.connector!.secrets).toContain('minio/secret/key/0123456789');
    expect(r.connector!.secrets).not.toContain('http://127.0.0.1:9000');
  });

  test.each([
    ['no secret key', '  access_key_id: AKIAEXAMPLE\n', 'storage', 'secret_access_key'],
    ['gcs-only key', '  access_key_id: AKIAEXAMPLE\n  secret_access_key: literal-secret-key\n  api_endpoint: http://x\n', 'storage.api_endpoint', ''],
  ])('%s: an error at its path', (_label, block, path, word) => {
    const r = s3(block);
    expect(r.connector).toBeUndefined();
    expect(r.issues.some((i) => i.severity === 'error' && i.path === path && i.message.includes(word))).toBe(true);
  });

  test('an endpoint in a private network the connector does not allow', () => {
    const r = s3('  access_key_id: AKIAEXAMPLE\n  secret_access_key: literal-secret-key\n', { S3_URL: 'http://192.168.1.20:9000' });
    expect(r.issues.find((i) => i.path === 'storage.endpoint')?.message).toContain('allow_private_network');
  });
});

test("the README's S3 example compiles", () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### S3-compatible bucket')))![1];
  const r = compileConnector(`${base}\n${yaml}`, 'zd.yaml', { ...ENV, S3_SECRET_ACCESS_KEY: 'aws/secret/key/0123456789' });
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect(r.connector!.storage!.settings).toMatchObject({ type: 's3', bucket: 'acme-contact-center', folder: 'crm-gateway/prod', pathStyle: true });
});

test.each([
  '  type: gcs\n  bucket: [1]\n  folder: 7\n  api_endpoint: {a: 1}\n  credentials: "x"\n  link_expiry_hours: "soon"\n',
  '  type: gcs\n  bucket: bucket-1\n  credentials:\n    service_account_json: 12\n    client_id: [x]\n',
  '  type: s3\n  endpoint: 5\n  folder: [a]\n  region: 1\n  bucket: bucket-1\n  access_key_id: {}\n  secret_access_key: 3\n  link_expiry_hours: null\n',
  '  type: gcs\n  bucket: bucket-1\n  credentials: null\n',
])('wrong types are reported, never thrown (%#)', (block) => {
  const r = compile(block);
  expect(r.connector).toBeUndefined();
  expect(r.issues.filter((i) => i.severity === 'error').length).toBeGreaterThan(0);
});
