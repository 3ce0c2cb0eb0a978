/**
 * CRM failures are classified, recorded and visible: the caller gets problem+json saying
 * what the CRM answered, how it was classified and why, never a hang or a crash.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const fast = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-fast')
  .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1');
const resilient = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-resilient')
  .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 5\nretry:\n  profile: resilient');
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'fast.yaml': fast, 'resilient.yaml': resilient } });
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.crm.crm.clearFaults());

test('422 from the CRM → 502 crm_request_failed with the CRM status and body', async () => {
  const r = await h.op('create_account', { EMAIL: 'no-name@example.com' });
  expect(r.status).toBe(502);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ code: 'crm_request_failed', crm_status: 422, classification: 'fail', operation: 'create_account' });
  expect(r.body.crm_body).toContain('RecordInvalid');
  expect(r.body.attempts).toHaveLength(1);
});

test('400 is retryable under the spec policy → 503 with Retry-After', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 400, body: { error: 'InvalidValue' } });
  const r = await h.op('create_account', { NAME: 'Retry Me' });
  expect(r.status).toBe(503);
  expect(r.body).toMatchObject({ code: 'crm_retry_later', crm_status: 400, classification: 'retry' });
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
});

test('429 means "later" under every profile: 503 crm_retry_later with the CRM\'s Retry-After', async () => {
  h.crm.crm.injectFault({ path: '/api/v2/users.json', status: 429, retryAfter: 17, times: 2 });
  const spec = await h.op('create_account', { NAME: 'Rate' });
  expect(spec.status).toBe(503);
  expect(spec.body).toMatchObject({ code: 'crm_retry_later', crm_status: 429, retry_after: 17, rate_limited: true });
  expect(spec.headers.get('retry-after')).toBe('17');
  const res = await h.op('create_account', { NAME: 'Rate' }, { connector: 'zd-resilient' });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'crm_retry_later', retry_after_ms: 17000 });
  expect(res.headers.get('retry-after')).toBe('17');
});

test('connection dropped without a response → 504 crm_unreachable (retryable)', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', drop: true });
  const r = await h.op('create_account', { NAME: 'Dropped' });
  expect(r.status).toBe(504);
  expect(r.body).toMatchObject({ code: 'crm_unreachable', classification: 'retry' });
  expect(r.body.attempts[0].network_error).toBeDefined();
});

test('a CRM slower than the connector timeout → 504, after about the timeout', async () => {
  h.crm.crm.injectFault({ path: '/api/v2/users.json', delayMs: 2500 });
  const started = Date.now();
  const r = await h.op('create_account', { NAME: 'Slow' }, { connector: 'zd-fast' });
  expect(r.status).toBe(504);
  expect(r.body.attempts[0].network_error).toBe('ECONNABORTED');
  expect(Date.now() - started).toBeLessThan(2400);
});

test('a GET on a stale connection is retried at once, a write is not', async () => {
  h.crm.crm.injectFault({ method: 'GET', path: '/api/v2/search.json', drop: true });
  const find = await h.op('find_account', { EMAIL: 'nobody@example.com' });
  expect(find.status).toBe(200);
  expect(find.body.outcome).toBe('not_found');
});

test('a wrong response location points at the YAML line to fix', async () => {
  const broken = bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: zd-broken')
    .replace('    response_data_location: user\n\n  # Open', '    response_data_location: person\n\n  # Open');
  const h2 = await startHarness({ connectors: { 'zendesk.yaml': broken } });
  try {
    const r = await h2.op('create_account', { NAME: 'Where' }, { connector: 'zd-broken' });
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('crm_response_invalid');
    expect(r.body.detail).toMatch(
      /response_data_location "person" not found in the response \(failed at "person"; keys there: user\)\. Fix endpoints\.create_account\.response_data_location near line \d+/,
    );
    // The CRM did create the user: the caller learns the write happened but could not be read.
    expect(h2.crm.crm.state.users).toHaveLength(1);
  } finally {
    await h2.close();
  }
});
