/**
 * The CRM HTTP client (undici) against a real node:http server on loopback: one deadline for
 * the whole exchange, the response size cap, no redirects, stable network error codes, the
 * SSRF guard on IP literals, on DNS answers and on the gateway's own listen address, and the one safe retry (a GET on a socket that
 * died under us).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, NetworkError } from '../../src/http/client';
import os from 'node:os';
import { ListenAddresses, SsrfGuard, hasTemplatedHost } from '../../src/http/ssrf';

let server: http.Server;
let base: string;
let hits: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
/** How the next requests are answered, by path. */
const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const route = routes.get(req.url!.split('?')[0]);
      if (route) return route(req, res);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits = [];
  routes.clear();
});

const allowLoopback = new SsrfGuard({ allow: ['127.0.0.1'] });
const client = (o: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) => new HttpClient({ timeoutMs: 1000, guard: allowLoopback, ...o });

async function networkError(p: Promise<unknown>): Promise<NetworkError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NetworkError) return e;
    throw e;
  }
  throw new Error('expected a network error');
}

test('sends method, headers and body; answers status, lower-case headers (repeated ones joined) and the raw body', async () => {
  routes.set('/echo', (_req, res) => {
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.writeHead(201, { 'X-Thing': 'yes', 'Content-Type': 'application/json' }).end('{"id":7}');
  });
  const c = client();
  const a = await c.request({
    method: 'POST',
    url: `${base}/echo?x=1`,
    headers: { 'Content-Type': 'application/json', Authorization: 'Basic abc' },
    body: '{"n":1}',
  });
  expect(a.status).toBe(201);
  expect(a.headers['x-thing']).toBe('yes');
  expect(a.headers['set-cookie']).toBe('a=1, b=2');
  expect(a.body.toString()).toBe('{"id":7}');
  expect(hits[0]).toMatchObject({
    method: 'POST',
    url: '/echo?x=1',
    body: '{"n":1}',
    headers: expect.objectContaining({ authorization: 'Basic abc', 'content-type': 'application/json' }),
  });
  await c.close();
});

test('keeps connections alive between calls', async () => {
  const c = client();
  for (let i = 0; i < 5; i++) await c.request({ method: 'GET', url: `${base}/k`, headers: {} });
  const ports = new Set<number>();
  routes.set('/port', (req, res) => {
    res.end(String(req.socket.remotePort));
  });
  for (let i = 0; i < 10; i++) ports.add(Number((await c.request({ method: 'GET', url: `${base}/port`, headers: {} })).body.toString()));
  // Ten calls one after another: the pool may open a second connection while the first is
  // being released, never one per call.
  expect(ports.size).toBeLessThanOrEqual(2);
  await c.close();
});

test('one deadline for the whole exchange: a slow answer is ECONNABORTED after about the timeout', async () => {
  routes.set('/slow', (_req, res) => {
    setTimeout(() => res.end('late'), 1500);
  });
  const c = client({ timeoutMs: 300 });
  const started = Date.now();
  const e = await networkError(c.request({ method: 'POST', url: `${base}/slow`, headers: {}, body: '{}' }));
  expect(e.code).toBe('ECONNABORTED');
  expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  expect(Date.now() - started).toBeLessThan(1200);
  // A body that trickles in counts against the same deadline.
  routes.set('/trickle', (_req, res) => {
    res.writeHead(200);
    res.write('a');
    setTimeout(() => res.end('b'), 1500);
  });
  expect((await networkError(c.request({ method: 'GET', url: `${base}/trickle`, headers: {} }))).code).toBe('ECONNABORTED');
  await c.close();
});

test('a response over the size cap is refused, not buffered', async () => {
  routes.set('/big', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(50_000));
  });
  const c = client({ maxResponseBytes: 10_000 });
  expect((await networkError(c.request({ method: 'GET', url: `${base}/big`, headers: {} }))).code).toBe('ERR_RESPONSE_TOO_LARGE');
  await c.close();
});

test('redirects are answers, not followed (a 3xx is classified like any other status)', async () => {
  routes.set('/moved', (_req, res) => {
    res.writeHead(302, { location: '/elsewhere' }).end();
  });
  const c = client();
  const a = await c.request({ method: 'GET', url: `${base}/moved`, headers: {} });
  expect(a.status).toBe(302);
  expect(hits.map((h) => h.url)).toEqual(['/moved']);
  await c.close();
});

test('connection refused is ECONNREFUSED', async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const c = client();
  expect((await networkError(c.request({ method: 'GET', url: `http://127.0.0.1:${port}/x`, headers: {} }))).code).toBe('ECONNREFUSED');
  await c.close();
});

test('a socket that dies before answering: a GET is retried once, a write is not', async () => {
  let drops = 1;
  routes.set('/flaky', (req, res) => {
    if (drops-- > 0) {
      req.socket.destroy();
      return;
    }
    res.end('{"found":true}');
  });
  const c = client();
  const a = await c.request({ method: 'GET', url: `${base}/flaky`, headers: {} });
  expect(a.status).toBe(200);
  expect(hits.filter((h) => h.url === '/flaky')).toHaveLength(2);
  drops = 1;
  hits = [];
  const e = await networkError(c.request({ method: 'POST', url: `${base}/flaky`, headers: {}, body: '{}' }));
  expect(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']).toContain(e.code);
  expect(hits.filter((h) => h.url === '/flaky')).toHaveLength(1);
  await c.close();
});

test('the SSRF guard refuses private IP literals and private DNS answers unless allowed', async () => {
  const strict = new HttpClient({ timeoutMs: 1000, guard: new SsrfGuard({ allow: [] }) });
  await expect(strict.request({ method: 'GET', url: `${base}/x`, headers: {} })).rejects.toMatchObject({ code: 'ESSRF' });
  // localhost resolves to a loopback address: refused after DNS, before connecting.
  await expect(strict.request({ method: 'GET', url: `${base.replace('127.0.0.1', 'localhost')}/x`, headers: {} })).rejects.toMatchObject({ code: 'ESSRF' });
  expect(hits).toHaveLength(0);
  await strict.close();
});

test('a URL as given (file downloads): normalised on the wire, fragment dropped, credentials as Basic auth; hop-by-hop headers left to the client', async () => {
  const c = client();
  await c.request({
    method: 'GET',
    url: `${base.replace('http://', 'http://us%20er:p%40ss@')}/files/call 1/é.mp3?x=a b#frag`,
    headers: { Connection: 'upgrade', Expect: '100-continue', 'X-Keep': 'yes' },
  });
  expect(hits[0].url).toBe('/files/call%201/%C3%A9.mp3?x=a%20b');
  expect(hits[0].headers.authorization).toBe(`Basic ${Buffer.from('us er:p@ss').toString('base64')}`);
  expect(hits[0].headers['x-keep']).toBe('yes');
  expect(hits[0].headers.expect).toBeUndefined();
  await c.close();
});

describe("the gateway's own listen address is never a destination, even where private networks are allowed", () => {
  const port = () => Number(new URL(base).port);
  const selfGuard = (host: string, p = port()) => {
    const listen = new ListenAddresses();
    listen.add(host, p);
    return new HttpClient({
      timeoutMs: 1000,
      guard: new SsrfGuard({ allow: ['127.0.0.0/8', '::1', 'localhost', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }, listen),
    });
  };

  test.each([
    ['the IP literal it listens on', '127.0.0.1', (p: number) => `http://127.0.0.1:${p}/v1/connectors`],
    ['a name that resolves to it', '127.0.0.1', (p: number) => `http://localhost:${p}/healthz`],
    ['another loopback address (a server on 0.0.0.0 answers there too)', '0.0.0.0', (p: number) => `http://127.0.0.2:${p}/healthz`],
  ])('%s', async (_name, host, url) => {
    const c = selfGuard(host);
    await expect(c.request({ method: 'GET', url: url(port()), headers: {} })).rejects.toMatchObject({
      code: 'ESSRF',
      message: expect.stringMatching(/this gateway's own address/),
    });
    expect(hits).toHaveLength(0);
    await c.close();
  });

  test('listening on every interface: each interface address with that port is refused', async () => {
    const listen = new ListenAddresses();
    listen.add('0.0.0.0', 3000);
    for (const i of Object.values(os.networkInterfaces()).flat()) if (i) expect(listen.isSelf(i.address, 3000)).toBe(true);
    expect(listen.isSelf('127.0.0.1', 3001)).toBe(false);
    expect(listen.isSelf('::ffff:127.0.0.1', 3000)).toBe(true);
  });

  test('its public URL (behind a proxy) is the gateway too: refused by name; only its listen ports need the closer look when connecting', () => {
    const listen = new ListenAddresses();
    listen.add('127.0.0.1', 3000);
    listen.addPublicUrl('https://gw.example.com');
    const guard = new SsrfGuard({ allow: [] }, listen);
    expect(() => guard.checkSelf('GW.example.com', 443)).toThrow(/this gateway's own address/);
    expect(() => guard.checkSelf('crm.example.com', 443)).not.toThrow();
    expect(guard.listensOn(443)).toBe(false);
    expect(guard.listensOn(3000)).toBe(true);
    expect(() => guard.checkSelf('127.0.0.1', 3000)).toThrow(/own address/);
  });

  test('another port on the same host is not the gateway', async () => {
    const c = selfGuard('127.0.0.1', port() === 1 ? 2 : 1);
    expect((await c.request({ method: 'GET', url: `${base}/x`, headers: {} })).status).toBe(200);
    await c.close();
  });
});

test.each<[string, boolean]>([
  ['https://crm.example.com/api/{ACCOUNT_ID}', false],
  ['https://crm.example.com:8443/api?x={EMAIL}', false],
  ['https://{TENANT}.crm.example.com/api', true],
  ['https://crm.example.com:{PORT}/api', true],
  ['{BASE_URL}/api/users', true],
  ['http{S}://crm.example.com/api', true],
])('templated host: %s → %s', (template, templated) => {
  expect(hasTemplatedHost(template)).toBe(templated);
});
