import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('every request is counted by route pattern and status, fast lane and express alike; unknown paths share one label', async () => {
  await h.op('find_account', { PHONE_NUMBER: '+1 222 333 4444' });
  await h.get('/healthz');
  await h.get('/v1/connectors/zendesk/sessions/nope');
  for (let i = 0; i < 5; i++) await h.get(`/probe-${i}/../etc/passwd`);
  const text = (await h.get('/metrics')).body as string;
  expect(text).toMatch(/crm_gateway_http_request_duration_seconds_count\{method="POST",route="\/v1\/connectors\/:id\/operations\/:operation",status="200"\} 1/);
  expect(text).toMatch(/crm_gateway_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/);
  expect(text).toMatch(/crm_gateway_http_request_duration_seconds_count\{method="GET",route="\/v1\/connectors\/:id\/sessions\/:sessionId",status="404"\} 1/);
  expect(text).toMatch(/crm_gateway_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 5/);
  expect(text).not.toMatch(/probe-/);
  expect(text).not.toContain('process_process_');
});

test('an access log line per request: method, path without query, status, request id', async () => {
  await h.get('/v1/connectors/zendesk/links?PHONE_NUMBER=%2B12223334444');
  const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'GET /v1/connectors/zendesk/links 200');
  expect(line).toMatchObject({ req: { method: 'GET', path: '/v1/connectors/zendesk/links' }, res: { status: 200 } });
  expect(line.request_id).toEqual(expect.any(String));
  expect(JSON.stringify(line)).not.toContain('2223334444');
});
