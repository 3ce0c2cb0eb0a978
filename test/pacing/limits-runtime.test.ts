/**
 * The parts of `rate_limit:` beyond the connector-wide bucket, end to end against sample CRMs
 * over loopback: `max_concurrent` bounds the calls in flight, a per-operation budget paces its
 * operation and not the others, and `count_token_calls` makes an OAuth token request take a
 * slot like any other call.
 *
 * The assertions are lower bounds on the time between arrivals at the CRM (a loaded machine only
 * makes the gaps longer), or outcomes that do not depend on timing at all.
 */
import type { SampleCrm } from '../../src/sample-crm';
import { bundled, startHarness, type Harness } from '../helpers/harness';

function withLimit(file: string, id: string, rateLimit: string): string {
  const text = bundled(file);
  const out = text.replace(/^id: \S+$/m, `id: ${id}`).replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5\nrate_limit:\n${rateLimit}`);
  if (out === text || !out.includes(`id: ${id}`) || !out.includes('rate_limit:')) throw new Error(`${file}: could not add rate_limit`);
  return out;
}

const arrivals = (crm: { requests: Array<{ method: string; path: string; time: number }> }, method: string, path: string, since: number) =>
  crm.requests
    .filter((r) => r.method === method && r.path === path && r.time >= since)
    .map((r) => r.time)
    .sort((a, b) => a - b);

describe('Zendesk: max_concurrent and per-operation budgets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      connectors: {
        'two.yaml': withLimit('zendesk.yaml', 'zd-two', '  requests: 1000\n  burst: 100\n  max_concurrent: 2'),
        'ops.yaml': withLimit('zendesk.yaml', 'zd-ops', '  requests: 1000\n  burst: 100\n  operations:\n    find_account:\n      requests: 1\n      burst: 1'),
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => h.crm.crm.clearFaults());

  test('max_concurrent 2: six calls against a CRM that takes 300 ms each arrive two at a time', async () => {
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', delayMs: 300, always: true });
    const since = Date.now();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => h.op('create_account', { NAME: `two-${i}` }, { connector: 'zd-two' })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const t = arrivals(h.crm.crm, 'POST', '/api/v2/users.json', since);
    expect(t).toHaveLength(6);
    // The third call can only leave once one of the first two has its answer (300 ms after it
    // arrived), and so on: any three arrivals span at least one CRM answer.
    for (let i = 0; i + 2 < t.length; i++) expect(t[i + 2] - t[i]).toBeGreaterThanOrEqual(290);
  });

  test('a budget of 1/s on find_account paces the searches, not the other operations', async () => {
    const since = Date.now();
    const finds = Array.from({ length: 4 }, (_, i) => h.op('find_account', { PHONE_NUMBER: `+3902123456${i}` }, { connector: 'zd-ops' }));
    const creates = Array.from({ length: 5 }, (_, i) => h.op('create_account', { NAME: `ops-${i}` }, { connector: 'zd-ops' }));
    const answers = await Promise.all([...finds, ...creates]);
    expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));
    const searches = arrivals(h.crm.crm, 'GET', '/api/v2/search.json', since);
    expect(searches).toHaveLength(4);
    // One at once (the burst), then one a second: three gaps of a second. (The first search may
    // itself be late, which only shortens the span, so the bound allows half a second of it.)
    expect(searches[3] - searches[0]).toBeGreaterThanOrEqual(2500);
    // The creates share only the connector's 1000/s: all of them were in before the searches
    // were done, not queued behind them.
    const created = arrivals(h.crm.crm, 'POST', '/api/v2/users.json', since);
    expect(created).toHaveLength(5);
    expect(created[4]).toBeLessThan(searches[3]);
  });
});

describe('Salesforce (OAuth client credentials): count_token_calls', () => {
  let h: Harness;
  let crm: SampleCrm<'salesforce'>;
  // One request a minute: the first call of a counted connector spends it on the token.
  const budget = '  requests: 1\n  per_seconds: 60\n  burst: 1';
  beforeAll(async () => {
    h = await startHarness({
      connectors: {
        'counted.yaml': withLimit('salesforce.yaml', 'sf-counted', `${budget}\n  count_token_calls: true`),
        'free.yaml': withLimit('salesforce.yaml', 'sf-free', budget),
      },
      crm: { flavor: 'salesforce' },
      env: { SALESFORCE_URL: '{{CRM}}' },
    });
    crm = h.crm.crm as unknown as SampleCrm<'salesforce'>;
  });
  afterAll(async () => {
    await h?.close();
  });

  test('not counted (the default): the token request is free, the search takes the one slot', async () => {
    const r = await h.op('find_account', { EMAIL: 'kim@example.com' }, { connector: 'sf-free' });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('not_found');
    // …and the minute's budget is now spent.
    const again = await h.op('find_account', { EMAIL: 'kim@example.com' }, { connector: 'sf-free' });
    expect(again.status).toBe(503);
    expect(again.body.code).toBe('rate_limited');
  });

  test('counted: the token request spends the slot, so the search is refused unsent (503 rate_limited)', async () => {
    const before = crm.requests.filter((x) => x.path === '/services/data/v59.0/query').length;
    const r = await h.op('find_account', { EMAIL: 'kim@example.com' }, { connector: 'sf-counted' });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('rate_limited');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(crm.requests.filter((x) => x.path === '/services/data/v59.0/query').length).toBe(before);
  });
});
