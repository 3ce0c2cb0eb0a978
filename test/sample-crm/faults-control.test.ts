import { request as httpRequest, Agent } from 'node:http';
import { createSampleCrm, startSampleCrm } from '../../src/sample-crm';
import { parseSampleCrmArgs, runSampleCrmCli } from '../../src/sample-crm/main';
import { startApi, type Api } from './helpers';

type Json = Record<string, any>;

describe('fault injection and control API', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.running.close());
  beforeEach(() => api.running.crm.reset());

  const control = (path: string, init: { method?: string; body?: unknown } = {}) =>
    api.json<Json>(`/__control${path}`, { headers: { authorization: null }, ...init });

  it('status + body + Retry-After, fires once by default, matched before auth', async () => {
    const created = await control('/faults', {
      body: { method: 'GET', path: '/api/v2/users', status: 429, body: { error: 'TooManyRequests' }, retryAfter: 7, headers: { 'X-Rate-Limit': '700' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toEqual(expect.any(String));

    const limited = await api.json('/api/v2/users.json', { headers: { authorization: null } });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'TooManyRequests' });
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('x-rate-limit')).toBe('700');

    expect((await api.json('/api/v2/users.json', { headers: { authorization: null } })).status).toBe(401);
    expect((await api.json('/api/v2/users.json')).status).toBe(200);

    const log = api.running.crm.requests;
    expect(log.map((r) => [r.status, r.faultId ?? null])).toEqual([
      [429, created.body.id],
      [401, null],
      [200, null],
    ]);
  });

  it('times: N fires N times, then requests are served normally', async () => {
    api.running.crm.injectFault({ path: '/api/v2/search', status: 503, times: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.call('/api/v2/search.json?query=x')).status);
    expect(statuses).toEqual([503, 503, 503, 200]);
  });

  it('always / times:0 fire until cleared; method and path filters apply', async () => {
    await control('/faults', { body: { method: 'POST', path: '/api/v2/tickets', status: 500, always: true } });
    api.running.crm.injectFault({ method: 'post', path: '/api/v2/users', status: 502, times: 0 });
    for (let i = 0; i < 3; i++) {
      expect((await api.call('/api/v2/tickets.json', { body: { ticket: {} } })).status).toBe(500);
      expect((await api.call('/api/v2/users.json', { body: { user: { name: 'x' } } })).status).toBe(502);
    }
    expect((await api.call('/api/v2/tickets.json')).status).toBe(200); // GET is not matched
    expect((await control('/faults')).body.faults).toHaveLength(2);
    expect((await control('/faults', { method: 'DELETE' })).status).toBe(204);
    expect((await api.call('/api/v2/users.json', { body: { user: { name: 'x' } } })).status).toBe(201);
  });

  it('regex paths', async () => {
    const user = api.running.crm.seedUser({ name: 'R' });
    await control('/faults', {
      body: { path: '/^\\/api\\/v2\\/users\\/\\d+\\.json$/', status: 404, body: { error: 'RecordNotFound', description: 'Not found' }, always: true },
    });
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
    expect((await api.call(`/api/v2/users/${user.id}.json`)).status).toBe(404);
  });

  it('a prefix ending in a slash stays a prefix', async () => {
    api.running.crm.injectFault({ path: '/api/v2/users/', status: 418 });
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
    expect((await api.call('/api/v2/users/1.json')).status).toBe(418);
  });

  it('delay-only faults delay and then serve normally; delay + status delays the error', async () => {
    api.running.crm.injectFault({ path: '/api/v2/users', delayMs: 300 });
    let t = Date.now();
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);

    api.running.crm.injectFault({ path: '/api/v2/users', delayMs: 200, status: 504, body: 'gateway timeout' });
    t = Date.now();
    const res = await api.call('/api/v2/users.json');
    expect(res.status).toBe(504);
    expect(await res.text()).toBe('gateway timeout');
    expect(Date.now() - t).toBeGreaterThanOrEqual(180);

    // Each fault fired once and is gone: the next call is served as normal (checked by the
    // faults left, not by a clock a busy machine can stretch).
    expect(api.running.crm.listFaults()).toEqual([]);
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
  });

  it('drop destroys the connection: fetch rejects, the server keeps working', async () => {
    api.running.crm.injectFault({ path: '/api/v2/tickets', drop: true });
    await expect(api.call('/api/v2/tickets.json', { body: { ticket: { subject: 'x' } } })).rejects.toThrow();
    expect((await api.call('/api/v2/tickets.json')).status).toBe(200);
    const dropped = api.running.crm.requests.find((r) => r.method === 'POST');
    expect(dropped).toMatchObject({ path: '/api/v2/tickets.json', body: { ticket: { subject: 'x' } }, faultId: expect.any(String) });
    expect(dropped?.status).toBeUndefined();
  });

  it('rejects invalid fault specs', async () => {
    for (const body of [{ status: 99 }, { delay: 5 }, { path: '/(/', status: 500 }, { times: -1 }, [1]]) {
      const res = await control('/faults', { body });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('InvalidFault');
    }
  });

  it('request log: method, path, query, headers, parsed body, time; control calls are not logged', async () => {
    await api.call('/api/v2/users.json?x=1', { body: { user: { name: 'Logged' } }, headers: { 'x-trace': 't1' } });
    await control('/state');
    const { body } = await control('/requests');
    expect(body.requests).toHaveLength(1);
    expect(body.requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v2/users.json',
      query: { x: '1' },
      headers: { 'x-trace': 't1', 'content-type': 'application/json' },
      body: { user: { name: 'Logged' } },
      time: expect.any(Number),
      status: 201,
    });
    expect((await control('/requests', { method: 'DELETE' })).status).toBe(204);
    expect(api.running.crm.requests).toHaveLength(0);
  });

  it('GET /__control/state serializes data with bytes summarized; reset empties data, log, faults but keeps auth', async () => {
    const user = api.running.crm.seedUser({ name: 'S', email: 's@example.com' });
    api.running.crm.seedUpload({ filename: 'a.txt', content: 'abc' });
    api.running.crm.injectFault({ path: '/nowhere', status: 500, always: true });
    const state = (await control('/state')).body;
    expect(state.users).toEqual([expect.objectContaining({ id: user.id, email: 's@example.com' })]);
    expect(state.attachments[0].content).toEqual({ size: 3, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(state.tokens).toMatchObject({ issued: { authorization_code: 0, refresh_token: 0, client_credentials: 0 } });

    const stateRef = api.running.crm.state;
    expect((await control('/reset', { method: 'POST' })).status).toBe(204);
    expect(api.running.crm.state).toBe(stateRef);
    expect(stateRef.users).toEqual([]);
    expect(stateRef.attachments).toEqual([]);
    expect(api.running.crm.requests).toEqual([]);
    expect(api.running.crm.listFaults()).toEqual([]);
    // Ids start over and default credentials still work.
    expect(api.running.crm.seedUser({ name: 'again' }).id).toBe(user.id);
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
  });

  it('in-process API: injectFault returns an id, clearFaults removes all', async () => {
    const f = api.running.crm.injectFault({ status: 500, always: true });
    expect(f.id).toEqual(expect.any(String));
    expect((await api.call('/api/v2/users.json')).status).toBe(500);
    api.running.crm.clearFaults();
    expect((await api.call('/api/v2/users.json')).status).toBe(200);
  });
});

describe('lifecycle and CLI', () => {
  it('createSampleCrm gives an in-process app; unknown flavours are refused', () => {
    const crm = createSampleCrm();
    expect(typeof crm.app).toBe('function');
    expect(crm.flavor).toBe('zendesk');
    expect(() => createSampleCrm({ flavor: 'nope' as 'zendesk' })).toThrow(/unknown sample CRM flavor/);
  });

  it('close() resolves promptly even with an idle keep-alive connection open', async () => {
    const running = await startSampleCrm({ port: 0 });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${running.url}/api/v2/users.json`, { agent, headers: { 'x-api-key': 'sample-key' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const t = Date.now();
    await running.close();
    expect(Date.now() - t).toBeLessThan(1000);
    agent.destroy();
  });

  it('parses CLI arguments', () => {
    expect(parseSampleCrmArgs([])).toEqual({ flavor: 'zendesk', port: 4010, host: '127.0.0.1' });
    expect(parseSampleCrmArgs(['--flavor', 'zendesk', '--port=0', '--host', '0.0.0.0'])).toEqual({ flavor: 'zendesk', port: 0, host: '0.0.0.0' });
    expect(() => parseSampleCrmArgs(['--flavor', 'pipedrive'])).toThrow(/unknown flavor/);
    expect(() => parseSampleCrmArgs(['--port', 'abc'])).toThrow(/invalid --port/);
    expect(() => parseSampleCrmArgs(['--port'])).toThrow(/needs a value/);
    expect(() => parseSampleCrmArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  it('runSampleCrmCli starts a server and prints the URL and default credentials', async () => {
    const lines: string[] = [];
    const running = await runSampleCrmCli(['--port', '0'], (l) => lines.push(l));
    try {
      const text = lines.join('\n');
      expect(text).toContain(running.url);
      expect(text).toContain('agent@example.com/token : sample-token');
      expect(text).toContain('X-Api-Key: sample-key');
      expect(text).toContain('sample-client / sample-secret');
      expect((await fetch(`${running.url}/api/v2/users.json`, { headers: { 'X-Api-Key': 'sample-key' } })).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
