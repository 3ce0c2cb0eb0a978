/**
 * Outbound pacing end to end (gateway + sample CRM over loopback): a paced connector stays under
 * its budget, a sync call over budget is answered 503 + Retry-After without being sent, a 429's
 * Retry-After and the CRM's rate headers slow everybody, and durable writes are queued (not
 * dropped, not reordered within a session, no attempt counted for the wait).
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

function paced(id: string, rateLimit: string): string {
  return bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5\nrate_limit:\n${rateLimit}`);
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    connectors: {
      'ten.yaml': paced('zd-ten', '  requests: 10\n  burst: 3'),
      'minute.yaml': paced('zd-minute', '  requests: 1\n  per_seconds: 60\n  burst: 1'),
      'fast.yaml': paced('zd-fast', '  requests: 100\n  burst: 10'),
      'slow.yaml': paced('zd-slow', '  requests: 4\n  burst: 1'),
    },
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.crm.crm.setLimit(undefined);
  h.crm.crm.clearFaults();
});

const usersNamed = (prefix: string) => h.crm.crm.state.users.filter((u) => u.name.startsWith(prefix));

async function final(id: string, ms = 20_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const d = (await h.get(`/v1/deliveries/${id}?history=true`)).body;
    if (['delivered', 'dead', 'cancelled'].includes(d.status) || Date.now() > end) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function enqueue(connector: string, name: string, orderingKey?: string): Promise<string> {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connector}/operations/create_account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ variables: { NAME: name }, ...(orderingKey ? { ordering_key: orderingKey } : {}) }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

test('10/s: 40 concurrent sync calls all succeed, never more than burst + 10 in a second, no 429', async () => {
  // The CRM enforces the same rate (a little more burst: loopback jitter).
  h.crm.crm.setLimit({ perSecond: 10, burst: 5 });
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => h.op('create_account', { NAME: `ten-${i}` }, { connector: 'zd-ten' })));
  expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
  // 3 at once, then 37 at 10/s.
  expect(Date.now() - started).toBeGreaterThanOrEqual(3400);
  const stats = h.crm.crm.limitStats();
  expect(stats.rejected).toBe(0);
  for (const n of Object.values(stats.perSecond)) expect(n).toBeLessThanOrEqual(13);
  expect(usersNamed('ten-')).toHaveLength(40);
});

test('a sync call over budget: 503 rate_limited with Retry-After, and the CRM never sees it', async () => {
  expect((await h.op('create_account', { NAME: 'minute-1' }, { connector: 'zd-minute' })).status).toBe(200);
  const before = h.crm.crm.requests.length;
  const r = await h.op('create_account', { NAME: 'minute-2' }, { connector: 'zd-minute' });
  expect(r.status).toBe(503);
  expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(r.body).toMatchObject({ type: 'https://crm-gateway.dev/problems/rate-limited', code: 'rate_limited', status: 503 });
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(55);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(h.crm.crm.requests.length).toBe(before);
  expect(usersNamed('minute-2')).toHaveLength(0);
});

test("a 429's Retry-After pauses every call of the connector", async () => {
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 429, retryAfter: 2, times: 1 });
  const first = await h.op('create_account', { NAME: 'pause-1' }, { connector: 'zd-fast' });
  expect(first.status).toBe(503);
  expect(first.body.code).toBe('crm_retry_later');
  const second = await h.op('create_account', { NAME: 'pause-2' }, { connector: 'zd-fast' });
  expect(second.status).toBe(200);
  // Measured where it cannot shrink on a busy machine: the CRM saw the second call at least the
  // Retry-After after the first (the pause starts when the gateway reads the 429, later still).
  const posts = h.crm.crm.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/users.json').slice(-2);
  expect(posts[1].time - posts[0].time).toBeGreaterThanOrEqual(1990);
  expect(second.body.attempts[0].reason).toMatch(/waited \d+ ms for the rate limit/);
});

test("the CRM's rate headers slow a connector configured too fast: few 429s, every write delivered", async () => {
  // The connector thinks 100/s; the CRM allows 10/s (burst 10) and says so in X-Rate-Limit headers.
  h.crm.crm.setLimit({ perSecond: 10, burst: 10 });
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push(await enqueue('zd-fast', `hdr-${i}`));
  const done = await Promise.all(ids.map((id) => final(id, 30_000)));
  expect(done.map((d) => d.status).filter((s) => s !== 'delivered')).toEqual([]);
  expect(usersNamed('hdr-')).toHaveLength(40);
  const stats = h.crm.crm.limitStats();
  // Without reading the headers, 100/s into 10/s was refused 22 times (measured); reading them, 0.
  expect(stats.rejected).toBeLessThanOrEqual(3);
}, 40_000);

test('durable writes over budget are queued, not dropped: order per session kept, the wait not counted as an attempt', async () => {
  // 4/s, burst 1, and 12 sessions of 2 writes: the worker claims 8 heads at once, and those
  // that cannot get a slot within a second go back to the store.
  const sessions = Array.from({ length: 12 }, (_, k) => `s${k}`);
  const ids = new Map<string, string[]>();
  for (const s of sessions) ids.set(s, [await enqueue('zd-slow', `ord-${s}-0`, s), await enqueue('zd-slow', `ord-${s}-1`, s)]);
  const all = [...ids.values()].flat();
  const done = await Promise.all(all.map((id) => final(id, 30_000)));
  expect(done.map((d) => d.status).filter((s) => s !== 'delivered')).toEqual([]);
  // One CRM call each, counted once, however often it waited.
  expect(done.map((d) => d.attempts)).toEqual(all.map(() => 1));
  const waited = done.filter((d) => d.history.some((a: any) => a.classification === 'rate_limited'));
  expect(waited.length).toBeGreaterThan(0);
  expect(waited[0].history.find((a: any) => a.classification === 'rate_limited').reason).toMatch(/^waiting for the CRM's rate limit \(\d+ ms\)$/);
  // Within a session, the second write reached the CRM after the first (user ids grow).
  const users = usersNamed('ord-');
  expect(users).toHaveLength(24);
  for (const s of sessions) {
    const [a, b] = [`ord-${s}-0`, `ord-${s}-1`].map((n) => users.find((u) => u.name === n)!);
    expect(Number(a.id)).toBeLessThan(Number(b.id));
  }
}, 40_000);
