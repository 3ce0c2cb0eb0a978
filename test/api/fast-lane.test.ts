/**
 * The operations fast lane (src/api/fast-lane.ts) must answer exactly as the express route
 * does: the same request sent to a server that takes the lane and to one that only has the
 * express app gets the same status, content type, headers that matter and body (ids, times and
 * durations aside). And what the lane does not handle plainly must reach express untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { operationsFastLane } from '../../src/api/fast-lane';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
let both: string;
let expressOnly: string;
const servers: http.Server[] = [];
const ADMIN = 'cgw_admin-key-for-fast-lane-tests';
const SCOPED = 'cgw_scoped-key-for-other-connector';

async function listen(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  h = await startHarness();
  h.crm.crm.state.users.push({ id: 9001, name: 'Kim Seed', email: 'kim@example.com', phone: '+1 222 333 4444', created_at: '2026-01-01T00:00:00Z' } as never);
  const gate = new ApiKeys(parseKeyEntries(`${hashKey(ADMIN)}:admin\n${hashKey(SCOPED)}:connectors=other`, 'test'));
  const opts = { deliveries: h.gw.deliveries, store: h.gw.store, flows: h.gw.flows, apiKeys: gate, jsonLimit: '4kb' };
  const app = createApp(h.gw.gateway, opts);
  const fast = operationsFastLane(h.gw.gateway, { deliveries: h.gw.deliveries, apiKeys: gate, maxBodyBytes: 4096 });
  both = await listen((req, res) => {
    if (fast(req, res)) return;
    res.setHeader('X-Lane', 'express');
    app(req, res);
  });
  expressOnly = await listen(app);
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await h.close();
});

interface Sent {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
// What legitimately differs between two calls: ids, times, durations, the retry jitter, the store's cursor.
const norm = (text: string) =>
  text
    .replace(UUID, '<uuid>')
    .replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"<time>"')
    .replace(/"duration_ms":[\d.]+/g, '"duration_ms":0')
    .replace(/retry in \d+ s/g, 'retry in N s')
    .replace(/"retry_after_ms":\d+/g, '"retry_after_ms":0')
    .replace(/"cursor":\d+/g, '"cursor":0')
    .replace(/^\d+$/, 'N');

async function send(base: string, r: Sent) {
  const res = await fetch(base + r.path, {
    method: r.method ?? 'POST',
    body: r.body,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...r.headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    lane: res.headers.get('x-lane') ?? 'fast',
    headers: Object.fromEntries(
      ['content-type', 'location', 'retry-after', 'www-authenticate'].map((k) => [k, res.headers.get(k) && norm(res.headers.get(k)!)]),
    ),
    requestId: res.headers.get('x-request-id'),
    body: norm(text),
  };
}

const OP = '/v1/connectors/zendesk/operations';
const J = (x: unknown) => JSON.stringify(x);

test.each<[string, Sent]>([
  ['a find that matches', { path: `${OP}/find_account`, body: J({ variables: { EMAIL: 'kim@example.com' } }) }],
  ['a find that does not', { path: `${OP}/find_account`, body: J({ variables: { EMAIL: 'nobody@example.com' } }) }],
  ['a dry run', { path: `${OP}/create_record?dry_run=true`, body: J({ variables: { ACCOUNT_ID: 1, TICKET_SUBJECT: 'Hello' } }) }],
  [
    'a charset=utf-8 body',
    { path: `${OP}/find_account`, body: J({ variables: { EMAIL: 'kim@example.com' } }), headers: { 'content-type': 'application/json; charset=UTF-8' } },
  ],
  ['an empty body', { path: `${OP}/find_account`, body: '' }],
  ['a body with a byte order mark', { path: `${OP}/find_account`, body: `\ufeff${J({ variables: { EMAIL: 'kim@example.com' } })}` }],
  ['malformed JSON', { path: `${OP}/find_account`, body: '{"variables": {' }],
  ['a JSON string, not an object', { path: `${OP}/find_account`, body: '"x"' }],
  ['an unknown top-level field', { path: `${OP}/find_account`, body: J({ vars: {} }) }],
  ['an unknown variable', { path: `${OP}/find_account`, body: J({ variables: { PHONE: '1' } }) }],
  ['an unparseable phone', { path: `${OP}/find_account`, body: J({ variables: { PHONE_NUMBER: 'call me' } }) }],
  ['an unknown connector', { path: '/v1/connectors/nope/operations/find_account', body: '{}' }],
  ['an unknown operation', { path: `${OP}/drop_tables`, body: '{}' }],
  ['a body over the limit', { path: `${OP}/find_account`, body: J({ variables: { NAME: 'x'.repeat(5000) } }) }],
  ['no API key', { path: `${OP}/find_account`, body: '{}', headers: { authorization: '' } }],
  ['a wrong API key', { path: `${OP}/find_account`, body: '{}', headers: { authorization: 'Bearer nope' } }],
  ['a key scoped to another connector', { path: `${OP}/find_account`, body: '{}', headers: { authorization: `Bearer ${SCOPED}` } }],
  ['an invalid Idempotency-Key', { path: `${OP}/create_account`, body: J({ variables: { NAME: 'Kim' } }), headers: { 'idempotency-key': 'has space' } }],
  ['a durable write (async)', { path: `${OP}/add_comment?async=true`, body: J({ variables: { RECORD_ID: 1, COMMENT_BODY: 'hi' } }) }],
  [
    '?async given twice is not async (as express reads it)',
    { path: `${OP}/find_account?async=true&async=true`, body: J({ variables: { EMAIL: 'kim@example.com' } }) },
  ],
  ['a percent-encoded connector id', { path: '/v1/connectors/zen%64esk/operations/find_account', body: J({ variables: { EMAIL: 'kim@example.com' } }) }],
])('%s: the fast lane answers as express does', async (_name, r) => {
  const fast = await send(both, r);
  const slow = await send(expressOnly, r);
  expect(fast.lane).toBe('fast');
  expect({ ...fast, lane: undefined, requestId: undefined }).toEqual({ ...slow, lane: undefined, requestId: undefined });
  expect(fast.requestId).toMatch(/^[\w.-]+$/);
});

test("the caller's X-Request-Id is kept (and a bad one replaced) on both lanes", async () => {
  const r: Sent = { path: `${OP}/find_account`, body: '{}', headers: { 'x-request-id': 'call-42.a' } };
  expect((await send(both, r)).requestId).toBe('call-42.a');
  expect((await send(both, { ...r, headers: { 'x-request-id': 'bad id!' } })).requestId).toMatch(UUID);
});

test.each<[string, Sent]>([
  [
    'multipart',
    {
      path: `${OP}/upload_file`,
      body: '--b\r\nContent-Disposition: form-data; name="variables"\r\n\r\n{}\r\n--b--\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    },
  ],
  ['another media type', { path: `${OP}/find_account`, body: 'EMAIL=x', headers: { 'content-type': 'text/plain' } }],
  ['application/*+json', { path: `${OP}/find_account`, body: '{}', headers: { 'content-type': 'application/vnd.api+json' } }],
  ['another charset', { path: `${OP}/find_account`, body: '{}', headers: { 'content-type': 'application/json; charset=latin1' } }],
  ['a compressed body', { path: `${OP}/find_account`, body: '{}', headers: { 'content-encoding': 'gzip' } }],
  ['a trailing slash', { path: `${OP}/find_account/`, body: '{}' }],
  ['another method', { method: 'PUT', path: `${OP}/find_account`, body: '{}' }],
])('%s goes to express, unchanged', async (_name, r) => {
  const fast = await send(both, r);
  const slow = await send(expressOnly, r);
  expect(fast.lane).toBe('express');
  expect({ ...fast, lane: undefined, requestId: undefined }).toEqual({ ...slow, lane: undefined, requestId: undefined });
});

test('an unknown connector is a 404 whatever the body (the body is read after the route is known)', async () => {
  for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'multipart/form-data; boundary=b' }]) {
    const r = await send(both, {
      path: '/v1/connectors/nope/operations/find_account',
      body: '--b\r\nContent-Disposition: form-data; name="variables"\r\n\r\n{bad\r\n--b--\r\n',
      headers,
    });
    expect([r.status, JSON.parse(r.body).code]).toEqual([404, 'connector_not_found']);
  }
});
