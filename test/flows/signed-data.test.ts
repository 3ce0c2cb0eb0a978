/** custom_data_secured: trusted only when signed with the connector's key and algorithm. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { compileConnector } from '../../src/config/compile';
import type { SignedCustomData } from '../../src/config/types';
import { normalizeEvent } from '../../src/flows/events';
import { applySignedCustomData, verifySignedCustomData } from '../../src/flows/signed-data';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const iat = Math.floor(NOW / 1000) - 60;
const SECRET = 'a-shared-secret-of-at-least-32-characters';
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const hs: SignedCustomData = { algorithm: 'HS256', key: SECRET };
const rs: SignedCustomData = { algorithm: 'RS256', key: PUBLIC_PEM };
const claims = { cuid: 'c-42', plan: 'gold', iat };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test.each<[string, SignedCustomData, string | unknown, { claims?: Record<string, unknown>; reason?: RegExp }]>([
  ['valid HS256', hs, jwt.sign(claims, SECRET, { algorithm: 'HS256' }), { claims: { cuid: 'c-42', plan: 'gold' } }],
  ['valid RS256', rs, jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256' }), { claims: { cuid: 'c-42', plan: 'gold' } }],
  [
    'HS256 signed with another secret',
    hs,
    jwt.sign(claims, 'another-secret-also-32-characters-long', { algorithm: 'HS256' }),
    { reason: /^signature does not verify$/ },
  ],
  ['RS256 signed with another key', rs, jwt.sign(claims, other.privateKey, { algorithm: 'RS256' }), { reason: /^signature does not verify$/ }],
  ['expired', hs, jwt.sign({ ...claims, exp: iat + 30 }, SECRET, { algorithm: 'HS256' }), { reason: /^expired$/ }],
  ['not valid yet', hs, jwt.sign({ ...claims, nbf: iat + 3600 }, SECRET, { algorithm: 'HS256' }), { reason: /^not valid yet/ }],
  ['alg none', hs, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, { reason: /^algorithm none refused/ }],
  ['alg none against RS256', rs, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, { reason: /^algorithm none refused/ }],
  // The classic confusion: an HS256 token whose HMAC key is the RS256 public key (which is public).
  [
    'alg switch: HS256 signed with the public key',
    rs,
    `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.${crypto
      .createHmac('sha256', PUBLIC_PEM)
      .update(`${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`)
      .digest('base64url')}`,
    { reason: /^algorithm HS256 refused \(the connector accepts RS256 only\)$/ },
  ],
  ['alg switch: RS256 token for an HS256 connector', hs, jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256' }), { reason: /^algorithm RS256 refused/ }],
  ['HS512 is not HS256', hs, jwt.sign(claims, SECRET, { algorithm: 'HS512' }), { reason: /^algorithm HS512 refused/ }],
  ['garbage', hs, 'not.a.token', { reason: /^not a JWT$/ }],
  ['garbage with three parts of base64', hs, `${b64({ alg: 'HS256' })}.@@@.xyz`, { reason: /^(not a JWT|signature does not verify|invalid token)$/ }],
  [
    'an alg name that is not a name is not echoed',
    hs,
    `${b64({ alg: '<script>'.repeat(10) })}.${b64(claims)}.x`,
    { reason: /^algorithm an unknown one refused/ },
  ],
  ['unsigned: a plain object', hs, { cuid: 'c-42' }, { reason: /^not signed/ }],
  ['too long', hs, 'x'.repeat(20_000), { reason: /^token longer than/ }],
  ['a payload that is not an object', hs, jwt.sign('just text', SECRET, { algorithm: 'HS256' }), { reason: /payload is not a JSON object/ }],
  [
    'issuer checked',
    { ...hs, issuer: 'https://shop.example' },
    jwt.sign({ ...claims, iss: 'https://evil.example' }, SECRET, { algorithm: 'HS256' }),
    { reason: /^issuer does not match$/ },
  ],
  [
    'issuer accepted',
    { ...hs, issuer: 'https://shop.example' },
    jwt.sign({ ...claims, iss: 'https://shop.example' }, SECRET, { algorithm: 'HS256' }),
    { claims: { cuid: 'c-42', plan: 'gold' } },
  ],
  [
    'audience checked',
    { ...hs, audience: 'crm-gateway' },
    jwt.sign({ ...claims, aud: 'elsewhere' }, SECRET, { algorithm: 'HS256' }),
    { reason: /^audience does not match$/ },
  ],
  ['max age', { ...hs, maxAgeSeconds: 30 }, jwt.sign(claims, SECRET, { algorithm: 'HS256' }), { reason: /^older than max_age_seconds$/ }],
  ['max age needs iat', { ...hs, maxAgeSeconds: 30 }, jwt.sign({ cuid: 'c' }, SECRET, { algorithm: 'HS256', noTimestamp: true }), { reason: /^no iat claim/ }],
])('%s', (_name, config, token, expected) => {
  const out = verifySignedCustomData(token, config, NOW);
  if (expected.claims) expect(out).toEqual({ ok: true, claims: expected.claims });
  else {
    expect(out.ok).toBe(false);
    expect((out as { reason: string }).reason).toMatch(expected.reason!);
    // The reason never quotes the token.
    if (typeof token === 'string' && token.length > 8) expect((out as { reason: string }).reason).not.toContain(token.slice(-8));
  }
});

describe('in an event', () => {
  const event = (secured: unknown, extra: Record<string, unknown> = {}) =>
    normalizeEvent({ type: 'Custom_Data', data: { custom_data_not_secured: { cuid: 'unsigned-1', note: 'hi' }, custom_data_secured: secured, ...extra } });

  test('regression: without verification, custom_data_secured is not merged into the custom data', () => {
    const ev = event({ cuid: 'forged', vip: true });
    expect(ev.facts.customData).toEqual({ cuid: 'unsigned-1', note: 'hi' });
    expect(ev.facts.verifiedCustomData).toBeUndefined();
  });

  test('no key configured: ignored, with a warning, and the token is dropped', () => {
    const ev = event(jwt.sign(claims, SECRET, { algorithm: 'HS256' }));
    const logged: string[] = [];
    applySignedCustomData(ev, undefined, NOW, (l) => logged.push(l));
    expect(ev.facts.verifiedCustomData).toBeUndefined();
    expect(ev.facts.customData).toEqual({ cuid: 'unsigned-1', note: 'hi' });
    expect(ev.facts.warnings).toEqual([expect.stringMatching(/^custom_data_secured ignored: this connector has no events.signed_custom_data key/)]);
    expect(ev.facts.securedCustomData).toBeUndefined();
  });

  test('valid: claims become verified custom data (over unsigned ones) and VERIFIED_CUSTOM_DATA', () => {
    const ev = event(jwt.sign({ ...claims, exp: iat + 3600 }, SECRET, { algorithm: 'HS256' }));
    applySignedCustomData(ev, hs, NOW, () => {
      throw new Error('nothing to log');
    });
    expect(ev.facts.verifiedCustomData).toEqual({ cuid: 'c-42', plan: 'gold' });
    expect(ev.facts.customData).toEqual({ cuid: 'c-42', note: 'hi', plan: 'gold' });
    expect(ev.vars.VERIFIED_CUSTOM_DATA).toBe('cuid: c-42\nplan: gold');
    expect(ev.facts.warnings).toBeUndefined();
  });

  test('invalid: one log line and one warning, without the token; the other facts still count', () => {
    const token = jwt.sign(claims, 'another-secret-also-32-characters-long', { algorithm: 'HS256' });
    const ev = event(token, { agent_email: 'kim@example.com' });
    const logged: string[] = [];
    applySignedCustomData(ev, hs, NOW, (l) => logged.push(l));
    expect(logged).toEqual(['Custom_Data: custom_data_secured ignored: signature does not verify']);
    expect(ev.facts.warnings).toEqual(logged);
    expect(ev.facts.verifiedCustomData).toBeUndefined();
    expect(ev.facts.customData).toEqual({ cuid: 'unsigned-1', note: 'hi' });
    expect(ev.vars.AGENT_EMAIL).toBe('kim@example.com');
    expect(JSON.stringify(ev)).not.toContain(token.split('.')[2]);
  });
});

describe('events.signed_custom_data in a connector file', () => {
  const yaml = (signed: string) => `id: t
base_url: https://crm.example.com
auth: { type: none }
endpoints:
  find_account: { method: GET, url: /users, response_data_location: users, id_location: id }
  create_account: { method: POST, url: /users, params: { name: "{NAME}" }, id_location: id }
events:
  signed_custom_data:
${signed
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
  const errors = (text: string, env: NodeJS.ProcessEnv = {}) =>
    compileConnector(text, 't.yaml', env)
      .issues.filter((i) => i.severity === 'error')
      .map((i) => `${i.path}: ${i.message}`);

  test('HS256 with a secret from the environment: compiled, and the secret is masked', () => {
    const r = compileConnector(yaml('algorithm: HS256\nsecret: ${env:SIGNING_SECRET}\nissuer: https://shop.example\nmax_age_seconds: 300'), 't.yaml', {
      SIGNING_SECRET: SECRET,
    });
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.connector!.events?.signedCustomData).toEqual({
      algorithm: 'HS256',
      key: SECRET,
      issuer: 'https://shop.example',
      audience: undefined,
      maxAgeSeconds: 300,
    });
    expect(r.connector!.secrets).toContain(SECRET);
    expect(JSON.stringify(r.connector!.source)).not.toContain(SECRET);
  });

  test('an inline HS256 secret is a secret too', () => {
    const r = compileConnector(yaml(`algorithm: HS256\nsecret: ${SECRET}`), 't.yaml', {});
    expect(r.connector!.secrets).toContain(SECRET);
    expect(JSON.stringify(r.connector!.source)).not.toContain(SECRET);
  });

  test('RS256 with a PEM from the environment, literal \\n included', () => {
    const r = compileConnector(yaml('algorithm: RS256\npublic_key: ${env:SIGNING_KEY}'), 't.yaml', { SIGNING_KEY: PUBLIC_PEM.trim().split('\n').join('\\n') });
    expect(errors(yaml('algorithm: RS256\npublic_key: ${env:SIGNING_KEY}'), { SIGNING_KEY: PUBLIC_PEM.trim().split('\n').join('\\n') })).toEqual([]);
    const token = jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256' });
    expect(verifySignedCustomData(token, r.connector!.events!.signedCustomData!, NOW).ok).toBe(true);
  });

  const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  test.each<[string, string, NodeJS.ProcessEnv, RegExp]>([
    ['a short secret', 'algorithm: HS256\nsecret: short-secret', {}, /^events\.signed_custom_data\.secret: the secret must be at least 32 characters$/],
    ['HS256 without a secret', 'algorithm: HS256', {}, /^events\.signed_custom_data: HS256 needs secret/],
    [
      'HS256 with a public key',
      `algorithm: HS256\nsecret: ${SECRET}\npublic_key: \${env:K}`,
      { K: PUBLIC_PEM },
      /^events\.signed_custom_data\.public_key: HS256 verifies with a shared secret/,
    ],
    [
      'RS256 with a secret',
      `algorithm: RS256\nsecret: ${SECRET}\npublic_key: \${env:K}`,
      { K: PUBLIC_PEM },
      /^events\.signed_custom_data\.secret: RS256 verifies with the signer's public key/,
    ],
    ['RS256 with no key', 'algorithm: RS256', {}, /^events\.signed_custom_data: RS256 needs public_key/],
    ['not a PEM', 'algorithm: RS256\npublic_key: hello', {}, /^events\.signed_custom_data\.public_key: not a PEM public key/],
    [
      'a private key',
      'algorithm: RS256\npublic_key: ${env:K}',
      { K: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      /^events\.signed_custom_data\.public_key: this is a private key/,
    ],
    ['a 1024-bit key', 'algorithm: RS256\npublic_key: ${env:K}', { K: weak }, /^events\.signed_custom_data\.public_key: the RSA key has 1024 bits/],
    ['an EC key', 'algorithm: RS256\npublic_key: ${env:K}', { K: ec }, /^events\.signed_custom_data\.public_key: an RSA public key is needed/],
    ['alg none', 'algorithm: none\nsecret: x', {}, /^events\.signed_custom_data\.algorithm/],
  ])('refused at load: %s', (_name, signed, env, expected) => {
    const found = errors(yaml(signed), env);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    // Messages name ${env:…}, never a key's text.
    for (const m of found) expect(m).not.toMatch(/MII[A-Za-z0-9+/]{8}/);
  });
});

test("the README's signed_custom_data example compiles", () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const block = /```yaml\n(events:\n {2}signed_custom_data:[\s\S]*?)```/.exec(readme)![1];
  const text = `id: t\nbase_url: https://crm.example.com\nauth: { type: none }\nendpoints:\n  find_account: { method: GET, url: /users, response_data_location: users, id_location: id }\n  create_account: { method: POST, url: /users, params: { name: "{NAME}" }, id_location: id }\n${block}`;
  const r = compileConnector(text, 'README.md', { SHOP_SIGNING_SECRET: SECRET });
  expect(r.issues).toEqual([]);
  expect(r.connector!.events?.signedCustomData).toMatchObject({
    algorithm: 'HS256',
    issuer: 'https://shop.example.com',
    audience: 'crm-gateway',
    maxAgeSeconds: 600,
  });
});
