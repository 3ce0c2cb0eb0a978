/**
 * Pushed screen pops (events.record_pop): a small receiving HTTP server on loopback gets
 * exactly one CRM_Record_Pop per session, with the record's URL, only once the record exists,
 * retried after a 500; its header (a secret) never appears in views or logs; a receiver the
 * SSRF guard refuses kills only the pop, never the session's CRM writes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { SPEC_NEW_CALL } from '../helpers/platform-events';

const TOKEN = 'Bearer pop-token-7f3a9c';
let h: Harness;
let receiver: http.Server;
let popUrl: string;
const received: Array<{ path: string; auth?: string; body: any }> = [];
/** Statuses to answer with, in order; then 200. */
const answers: number[] = [];

const withPop = (id: string, url: string) =>
  bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^ {2}# record_pop: .*$/m, `  record_pop: { url: "${url}", headers: { Authorization: "\${env:POP_TOKEN}" } }`);

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      received.push({ path: req.url!, auth: req.headers.authorization, body: JSON.parse(text) });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  popUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crm-events`;
  h = await startHarness({
    connectors: {
      'zendesk.yaml': withPop('zendesk', popUrl),
      // 127.0.0.2 is loopback but not in allow_private_network: the SSRF guard refuses it.
      'blocked.yaml': withPop('popblocked', popUrl.replace('127.0.0.1', '127.0.0.2')),
    },
    env: { POP_TOKEN: TOKEN },
  });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => receiver.close(r));
});

const post = async (connector: string, sessionId: string, body: unknown) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connector}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

async function settled(connector: string, sessionId: string, ms = 15_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connector}/sessions/${sessionId}`)).body;
    const queue = await h.gw.store.counts();
    if (
      (v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status)) && queue.pending + queue.running === 0) ||
      Date.now() > end
    )
      return v;
    await new Promise((r) => setTimeout(r, 30));
  }
}

// The spec's own examples, as printed: no customer identity in them.
const NEW_CALL = SPEC_NEW_CALL;

test('one pop per session with the record URL, none before the record exists, retried after a 500', async () => {
  const S = 'pop-1';
  expect((await post('zendesk', S, NEW_CALL)).status).toBe(202);
  await new Promise((r) => setTimeout(r, 300));
  expect(received).toEqual([]); // no identity, no record, no pop
  expect((await h.get(`/v1/connectors/zendesk/sessions/${S}`)).body.steps.map((s: { name: string }) => s.name)).not.toContain('record_pop');

  answers.push(500);
  expect(
    (await post('zendesk', S, { type: 'User_Verified', data: { call_id: 103646, custom_sip_headers: { 'X-Caller-Number': '+1 222 333 7401' } } })).status,
  ).toBe(202);
  let view = await settled('zendesk', S);
  expect(view.record_id).toEqual(expect.any(Number));
  const recordUrl = `${h.crm.url}/agent/tickets/${view.record_id}`;
  expect(received).toHaveLength(2); // the 500, then the retry
  for (const r of received) expect(r).toEqual({ path: '/crm-events', auth: TOKEN, body: { type: 'CRM_Record_Pop', data: { recordUrl } } });
  const step = view.steps.find((s: { name: string }) => s.name === 'record_pop');
  expect(step).toMatchObject({ operation: 'record_pop', status: 'delivered' });
  expect(view.record_pop).toEqual({ type: 'CRM_Record_Pop', data: { recordUrl } });

  // The pop's delivery: its history shows the 500 and the success, never the header or the URL.
  const d = (await h.get(`/v1/deliveries/${step.delivery_id}`)).body;
  expect(d.attempts).toBe(2);
  expect(d.result).toMatchObject({ outcome: 'pushed', record_url: recordUrl });
  expect(JSON.stringify(d)).toMatch(/HTTP 500/);

  // Later events of the same session: no second pop.
  expect((await post('zendesk', S, { ...NEW_CALL, type: 'End_Call' })).status).toBe(202);
  view = await settled('zendesk', S);
  expect(received).toHaveLength(2);
  expect(view.steps.filter((s: { name: string }) => s.name === 'record_pop')).toHaveLength(1);

  // Secrets never leave: not in the session view, the delivery, the connector detail, the logs.
  const shown = [view, d, (await h.get('/v1/connectors/zendesk')).body, h.logs.join('\n')].map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  for (const text of shown) expect(text).not.toContain('pop-token-7f3a9c');
});

test('a receiver the SSRF guard refuses: the pop is dead (destination_blocked), the CRM writes all go out', async () => {
  const before = received.length;
  await post('popblocked', 'pop-2', { type: 'Session_Started', data: { call_id: 2, end_user: { phone: '+1 222 333 7402' } } });
  await post('popblocked', 'pop-2', { type: 'End_Call', data: { call_id: 2 } });
  const view = await settled('popblocked', 'pop-2');
  const pop = view.steps.find((s: { name: string }) => s.name === 'record_pop');
  expect(pop).toMatchObject({ status: 'dead', last_error: { code: 'destination_blocked' } });
  expect(view.steps.filter((s: { name: string }) => s.name !== 'record_pop').every((s: { status: string }) => s.status === 'delivered')).toBe(true);
  expect(received.length).toBe(before);
});
