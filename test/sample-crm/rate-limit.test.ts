/**
 * The sample CRMs' enforced rate limit: a token bucket over the API, 429 + Retry-After past it,
 * the vendor's rate headers on every answer, counts per second; set by option or control API.
 */
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN } from '../../src/sample-crm/hubspot';
import { DEFAULT_BASIC, manualClock, T0 } from './helpers';

const clock = manualClock(T0);
let zd: RunningSampleCrm;
let hs: RunningSampleCrm<'hubspot'>;
beforeAll(async () => {
  zd = await startSampleCrm({ clock: clock.now, limit: { perSecond: 2, burst: 2 } });
  hs = await startSampleCrm({ flavor: 'hubspot', clock: clock.now });
});
afterAll(async () => {
  await zd.close();
  await hs.close();
});

const zdGet = () => fetch(`${zd.url}/api/v2/users.json`, { headers: { authorization: DEFAULT_BASIC } });
const hsGet = () => fetch(`${hs.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN}` } });

test('Zendesk: burst admitted with X-Rate-Limit headers, then 429 + Retry-After; refills with time', async () => {
  const a = await zdGet();
  expect(a.status).toBe(200);
  expect(a.headers.get('x-rate-limit')).toBe('120');
  expect(a.headers.get('x-rate-limit-remaining')).toBe('60'); // one of two tokens left: half the minute's budget
  expect((await zdGet()).status).toBe(200);
  const c = await zdGet();
  expect(c.status).toBe(429);
  expect(c.headers.get('retry-after')).toBe('1');
  expect(c.headers.get('x-rate-limit-remaining')).toBe('0');
  expect(await c.json()).toMatchObject({ error: 'APIRateLimitExceeded' });
  clock.advance(500);
  expect((await zdGet()).status).toBe(200);
  // Four arrived in that second (the 429 included), three were admitted.
  expect(zd.crm.limitStats()).toEqual({ limit: { perSecond: 2, burst: 2 }, admitted: 3, rejected: 1, perSecond: { [String(T0 / 1000)]: 4 } });
});

test('HubSpot via the control API: secondly headers and its 429 body; DELETE lifts the limit', async () => {
  const set = await fetch(`${hs.url}/__control/limit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ perSecond: 1 }),
  });
  expect(set.status).toBe(200);
  const a = await hsGet();
  expect(a.status).toBe(200);
  expect(Object.fromEntries([...a.headers].filter(([k]) => k.startsWith('x-hubspot-ratelimit')))).toEqual({
    'x-hubspot-ratelimit-max': '10',
    'x-hubspot-ratelimit-remaining': '0',
    'x-hubspot-ratelimit-interval-milliseconds': '10000',
    'x-hubspot-ratelimit-secondly': '1',
    'x-hubspot-ratelimit-secondly-remaining': '0',
  });
  const b = await hsGet();
  expect(b.status).toBe(429);
  expect(await b.json()).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
  const stats = await (await fetch(`${hs.url}/__control/limit`)).json();
  expect(stats).toMatchObject({ limit: { perSecond: 1, burst: 1 }, admitted: 1, rejected: 1 });
  expect((await fetch(`${hs.url}/__control/limit`, { method: 'DELETE' })).status).toBe(204);
  expect((await hsGet()).status).toBe(200);
  const bad = await fetch(`${hs.url}/__control/limit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"perSecond":0}' });
  expect(bad.status).toBe(400);
});
