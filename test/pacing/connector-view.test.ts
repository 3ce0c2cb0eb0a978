/**
 * The connector view (GET /v1/connectors/{id}, what the console's card shows) carries the
 * compiled pacing, per second, and nothing when the file has no rate_limit.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  const paced = bundled('zendesk.yaml').replace(
    /^timeout_seconds: 5$/m,
    'timeout_seconds: 5\nrate_limit:\n  requests: 700\n  per_seconds: 60\n  burst: 20\n  max_concurrent: 8\n  operations:\n    find_account: { requests: 100, per_seconds: 60 }',
  );
  h = await startHarness({ connectors: { 'zendesk.yaml': paced, 'plain.yaml': bundled('zendesk.yaml').replace(/^id: zendesk$/m, 'id: plain') } });
});
afterAll(async () => {
  await h.close();
});

test('a paced connector shows its rate limit; an unpaced one shows none', async () => {
  const paced = (await h.get('/v1/connectors/zendesk')).body;
  expect(paced.rate_limit).toEqual({
    requests_per_second: 700 / 60,
    burst: 20,
    max_concurrent: 8,
    count_token_calls: false,
    operations: { find_account: { requests_per_second: 100 / 60, burst: expect.any(Number) } },
  });
  const plain = (await h.get('/v1/connectors/plain')).body;
  expect(plain.valid).toBe(true);
  expect(plain).not.toHaveProperty('rate_limit');
});
