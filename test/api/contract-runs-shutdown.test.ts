/**
 * Stopping the gateway while a contract test runs: no new run starts (503 shutting_down), the
 * run in flight gets the shutdown grace, then ends `failed` with a check that says the gateway
 * stopped, and whoever watches its event stream gets that check and `done` before the
 * connection closes (not a stream that just breaks).
 */
import { ContractRuns } from '../../src/api/contract-runs';
import { GatewayError } from '../../src/errors';
import { Gateway } from '../../src/gateway';
import { bundled, startHarness } from '../helpers/harness';

test('a run in flight at shutdown ends failed with a "gateway stopped" check, and its stream gets done', async () => {
  const h = await startHarness({ env: { SHUTDOWN_GRACE_MS: '300' } });
  try {
    // Every call of the run is held 3 s at the CRM: the run is still going when the gateway stops.
    h.crm.crm.injectFault({ path: '/^\\/api\\/v2\\//', delayMs: 3000, always: true });
    const start = await fetch(`${h.gw.url}/v1/connectors/zendesk/contract-tests`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'config', base_url: h.crm.url }),
    });
    expect(start.status).toBe(202);
    const { id } = (await start.json()) as { id: string };
    const stream = fetch(`${h.gw.url}/v1/contract-tests/${id}/events`).then((r) => r.text());
    for (const end = Date.now() + 10_000; !h.crm.crm.requests.some((r) => r.path.startsWith('/api/v2/')) && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await h.gw.close();
    // The grace (300 ms), not the 3 s the CRM holds the call.
    expect(Date.now() - started).toBeLessThan(2500);
    const events = await stream;
    expect(events).toMatch(/event: check\ndata: \{[^\n]*"status":"stopped"[^\n]*the gateway stopped before the run finished/);
    expect(events).toMatch(/event: done\ndata: \{[^\n]*"state":"failed"/);
  } finally {
    await h.close();
  }
}, 30_000);

test('once closing, no run starts: 503 shutting_down', async () => {
  const gw = new Gateway({ configFiles: [`${__dirname}/../../config/zendesk.yaml`], env: {} });
  gw.load();
  expect(bundled('zendesk.yaml')).toContain('id: zendesk');
  const runs = new ContractRuns(gw);
  await runs.close(0);
  let error: unknown;
  try {
    runs.start('zendesk', { target: 'config' });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe('shutting_down');
  expect((error as GatewayError).status).toBe(503);
});
