/**
 * Outage faults: a CRM that swallows requests (with or without doing the work) and one that
 * commits, resets the connection and then refuses connections for a while.
 */
import http from 'node:http';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { DEFAULT_BASIC } from './helpers';

let running: RunningSampleCrm;
beforeAll(async () => {
  running = await startSampleCrm({ port: 0 });
});
afterAll(() => running.close());
beforeEach(() => running.crm.reset());

/** One request on a fresh connection (no keep-alive reuse), with a client timeout. */
function post(path: string, body: unknown, timeoutMs = 2000): Promise<{ status?: number; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request(
      `${running.url}${path}`,
      { method: 'POST', agent: false, timeout: timeoutMs, headers: { authorization: DEFAULT_BASIC, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code, ms: Date.now() - started }));
    req.end(JSON.stringify(body));
  });
}

let owner = 0;
const ticket = (subject: string) => ({ ticket: { subject, comment: { body: 'x' }, requester_id: owner } });

test('swallow: no answer until the client gives up; without commit nothing is written', async () => {
  owner = running.crm.seedUser({ name: 'Owner' }).id;
  running.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 5000 });
  const r = await post('/api/v2/tickets.json', ticket('lost'), 300);
  expect(r.error).toBe('ETIMEDOUT');
  expect(r.ms).toBeGreaterThanOrEqual(280);
  expect(running.crm.state.tickets).toHaveLength(0);
});

test('swallow + commit: the ticket is created, the answer never comes', async () => {
  owner = running.crm.seedUser({ name: 'Owner' }).id;
  running.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, commit: true, delayMs: 5000 });
  const r = await post('/api/v2/tickets.json', ticket('committed'), 300);
  expect(r.error).toBe('ETIMEDOUT');
  expect(running.crm.state.tickets.map((t) => t.subject)).toEqual(['committed']);
});

test('swallow with a short hold: the connection is destroyed after delayMs', async () => {
  running.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', swallow: true, delayMs: 100 });
  const r = await post('/api/v2/tickets.json', ticket('held'), 2000);
  expect(r.error).toBe('ECONNRESET');
  expect(r.ms).toBeGreaterThanOrEqual(90);
});

test('reset then refuse: committed, connection reset, then ECONNREFUSED for refuseMs, then served again', async () => {
  owner = running.crm.seedUser({ name: 'Owner' }).id;
  running.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', drop: true, commit: true, refuseMs: 400 });
  expect((await post('/api/v2/tickets.json', ticket('first'))).error).toBe('ECONNRESET');
  expect(running.crm.state.tickets.map((t) => t.subject)).toEqual(['first']);
  expect((await post('/api/v2/tickets.json', ticket('second'))).error).toBe('ECONNREFUSED');
  await new Promise((r) => setTimeout(r, 500));
  expect((await post('/api/v2/tickets.json', ticket('third'))).status).toBe(201);
  expect(running.crm.state.tickets.map((t) => t.subject)).toEqual(['first', 'third']);
});

test('clearing the faults ends a refusal at once', async () => {
  owner = running.crm.seedUser({ name: 'Owner' }).id;
  running.crm.injectFault({ method: 'POST', path: '/api/v2/tickets', drop: true, commit: true, refuseMs: 60_000 });
  expect((await post('/api/v2/tickets.json', ticket('a'))).error).toBe('ECONNRESET');
  expect((await post('/api/v2/tickets.json', ticket('b'))).error).toBe('ECONNREFUSED');
  running.crm.clearFaults();
  expect((await post('/api/v2/tickets.json', ticket('c'))).status).toBe(201);
});

test('invalid combinations are refused', () => {
  expect(() => running.crm.injectFault({ commit: true })).toThrow(/commit applies to drop or swallow/);
  expect(() => running.crm.injectFault({ swallow: true, status: 500 })).toThrow(/swallow never answers/);
});
