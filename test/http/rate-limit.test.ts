/**
 * "Rate-limited requests are queued, not dropped": a durable write that meets 429s (and a 503
 * with Retry-After) waits the CRM's Retry-After and is delivered, under the default (spec)
 * profile, even with max_attempts 1: a "later" does not use up an attempt.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
const oneTry = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: zd-one')
  .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 5\nretry:\n  max_attempts: 1\n  initial_delay_seconds: 1');
const twoTries = oneTry.replace('id: zd-one', 'id: zd-two').replace('max_attempts: 1', 'max_attempts: 2');
beforeAll(async () => {
  h = await startHarness({ connectors: { 'one.yaml': oneTry, 'two.yaml': twoTries } });
});
afterAll(async () => {
  await h.close();
});

async function final(id: string, ms = 8000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const d = (await h.get(`/v1/deliveries/${id}?history=true`)).body;
    if (['delivered', 'dead', 'cancelled'].includes(d.status) || Date.now() > end) return d;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('429, 429, 503 + Retry-After, then 201: delivered after the waits, nothing dropped', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 429, retryAfter: 1, times: 2 });
  const accepted = await h.op('create_account', { NAME: 'Rate Limited' }, { connector: 'zd-one', headers: { Prefer: 'respond-async' } });
  expect(accepted.status).toBe(202);
  const started = Date.now();
  const d = await final(accepted.body.id);
  expect(d).toMatchObject({ status: 'delivered', result: { outcome: 'ok' } });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // two Retry-After waits of 1 s
  expect(h.crm.crm.state.users.filter((u) => u.name === 'Rate Limited')).toHaveLength(1);
});

test('503 with Retry-After is "later" too', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 503, retryAfter: 1, times: 1 });
  const accepted = await h.op('create_account', { NAME: 'Busy CRM' }, { connector: 'zd-one', headers: { Prefer: 'respond-async' } });
  const d = await final(accepted.body.id);
  expect(d.status).toBe('delivered');
  expect(h.crm.crm.state.users.filter((u) => u.name === 'Busy CRM')).toHaveLength(1);
});

test('429 without Retry-After waits the backoff instead, still without using up the one attempt', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 429, times: 1 });
  const accepted = await h.op('create_account', { NAME: 'No Header' }, { connector: 'zd-one', headers: { Prefer: 'respond-async' } });
  const d = await final(accepted.body.id);
  expect(d.status).toBe('delivered');
  expect(h.crm.crm.state.users.filter((u) => u.name === 'No Header')).toHaveLength(1);
});

test('rate limits do not count: 429, 429, 400, 201 is delivered with max_attempts 2 (the 400 is the first counted try)', async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 429, times: 2 });
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 400, times: 1 });
  const accepted = await h.op('create_account', { NAME: 'Counted Once' }, { connector: 'zd-two', headers: { Prefer: 'respond-async' } });
  const d = await final(accepted.body.id, 12_000);
  expect(d.history.map((a: { status: number }) => a.status)).toEqual([429, 429, 400, 201]);
  expect(d.status).toBe('delivered');
}, 20_000);
