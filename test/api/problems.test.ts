/**
 * Bad input gets a clear 4xx problem+json naming the field, and never crashes the process.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const broken = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: broken')
  .replace('"{EMAIL}"', '"{EMAL}"');
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'broken.yaml': broken } });
});
afterAll(async () => {
  await h.close();
});

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
  const res = await fetch(h.gw.url + path, { method, body, headers });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

const OP = '/v1/connectors/zendesk/operations';

test.each<[string, () => Promise<{ status: number; type: string | null; body: any }>, number, string, RegExp]>([
  ['malformed JSON', () => raw('POST', `${OP}/find_account`, '{"variables": {'), 400, 'invalid_json', /not valid JSON/],
  ['variables not an object', () => raw('POST', `${OP}/find_account`, '{"variables": [1]}'), 422, 'validation_failed', /variables: must be object/],
  ['unknown top-level field', () => raw('POST', `${OP}/find_account`, '{"vars": {}}'), 422, 'validation_failed', /vars/],
  ['variable value is an object', () => raw('POST', `${OP}/find_account`, '{"variables": {"EMAIL": {"a": 1}}}'), 422, 'validation_failed', /variables\.EMAIL/],
  [
    'unknown variable name, with a hint',
    () => raw('POST', `${OP}/find_account`, '{"variables": {"PHONE": "1"}}'),
    422,
    'validation_failed',
    /unknown variable PHONE/,
  ],
  [
    'unparseable phone',
    () => raw('POST', `${OP}/find_account`, '{"variables": {"PHONE_NUMBER": "call me"}}'),
    422,
    'invalid_phone_number',
    /PHONE_NUMBER: .*"call me"/,
  ],
  ['missing URL variable', () => raw('POST', `${OP}/update_record`, '{"variables": {"TICKET_SUBJECT": "x"}}'), 422, 'missing_variable', /RECORD_ID/],
  ['unknown connector', () => raw('POST', '/v1/connectors/nope/operations/find_account', '{}'), 404, 'connector_not_found', /no connector "nope"/],
  ['unknown operation', () => raw('POST', `${OP}/delete_everything`, '{}'), 404, 'operation_not_found', /unknown operation "delete_everything"/],
  [
    'unsupported media type',
    () => raw('POST', `${OP}/find_account`, 'EMAIL=x', { 'Content-Type': 'text/plain' }),
    415,
    'unsupported_media_type',
    /application\/json/,
  ],
  ['connector with config errors', () => raw('POST', '/v1/connectors/broken/operations/find_account', '{}'), 500, 'config_invalid', /broken/],
  ['unknown route', () => raw('GET', '/v2/whatever'), 404, 'not_found', /no route/],
  ['unknown lookup variable', () => raw('GET', '/v1/connectors/zendesk/links?PHONE=1'), 422, 'validation_failed', /PHONE/],
])('%s', async (_name, send, status, code, detail) => {
  const r = await send();
  expect(r.status).toBe(status);
  expect(r.type).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, code, type: `https://crm-gateway.dev/problems/${code.replace(/_/g, '-')}` });
  expect(r.body.detail).toMatch(detail);
});

test('a field error names the field in errors[]', async () => {
  const r = await raw('POST', `${OP}/find_account`, '{"variables": {"PHONE_NUMBR": "1", "EMAIL": "a@b.c"}}');
  expect(r.body.errors).toEqual([{ field: 'variables.PHONE_NUMBR', message: 'unknown variable PHONE_NUMBR (did you mean PHONE_NUMBER?)' }]);
});

test('config errors are listed with file:line on the connector and in the 500', async () => {
  const detail = await h.get('/v1/connectors/broken');
  expect(detail.status).toBe(200);
  expect(detail.body.status).toBe('invalid');
  expect(detail.body.errors[0]).toMatch(
    /broken\.yaml:\d+:\d+ endpoints\.create_account\.params\.email: unknown variable \{EMAL\} \(did you mean \{EMAIL\}\?\)/,
  );
  const list = await h.get('/v1/connectors');
  expect(list.body.connectors.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
    ['broken', 'invalid'],
    ['zendesk', 'valid'],
  ]);
});

test('health and readiness', async () => {
  expect((await h.get('/healthz')).body).toEqual({ status: 'ok' });
  expect((await h.get('/readyz')).body).toEqual({ status: 'ready', connectors: { valid: 1, invalid: 1 }, store: { kind: 'sqlite', reachable: true } });
});

test('a thousand garbage bodies later the server still answers', async () => {
  const bodies = [
    '',
    'null',
    '[]',
    '"x"',
    '{"variables":null}',
    '{"variables":{"FILE_DATA":"%%%"}}',
    '{"variables":{"RATING":1e309}}',
    '\u0000\u0001',
    '{"__proto__":{"x":1}}',
  ];
  for (let i = 0; i < 100; i++) {
    for (const b of bodies) {
      const r = await fetch(`${h.gw.url}${OP}/create_record?dry_run=true`, { method: 'POST', body: b, headers: { 'Content-Type': 'application/json' } });
      expect(r.status).toBeLessThan(500);
      await r.arrayBuffer();
    }
  }
  expect((await h.get('/healthz')).status).toBe(200);
});

test('malformed multipart and an unsupported charset are client errors, not 500s', async () => {
  const bad = await fetch(`${h.gw.url}${OP}/upload_file`, {
    method: 'POST',
    headers: { 'Content-Type': 'multipart/form-data; boundary=xyz' },
    body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nunterminated',
  });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as any).code).toBe('bad_request');
  const charset = await fetch(`${h.gw.url}${OP}/find_account`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=klingon' },
    body: '{}',
  });
  expect(charset.status).toBe(415);
});

test('a lookup variable given twice is a 422 naming it', async () => {
  const r = await raw('GET', '/v1/connectors/zendesk/links?ACCOUNT_ID=1&ACCOUNT_ID=2');
  expect(r.status).toBe(422);
  expect(r.body.errors).toEqual([{ field: 'ACCOUNT_ID', message: 'repeated' }]);
});
