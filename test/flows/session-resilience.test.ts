/**
 * The same call under stress ends in the same CRM state with no duplicate: the CRM answering
 * 400 for a while, the gateway SIGKILLed and restarted in the middle; and batching sends
 * fewer CRM calls with the same content.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { bundled, startHarness, type Harness } from '../helpers/harness';

jest.setTimeout(90_000);

const FAST_RETRY = '\nretry:\n  initial_delay_seconds: 0.2\n  max_delay_seconds: 0.5\n';
const CALL = (n: number, phone: string) => [
  {
    type: 'Session_Started',
    event_id: `${n}-1`,
    data: { call_id: n, session_type: 'IVR_Call', channel: 'voice_call', queue_name: 'Billing', lang: 'en', end_user: { name: `Stress ${n}`, phone } },
  },
  { type: 'New_Call', event_id: `${n}-2`, data: { call_id: n, agent_email: 'kim@example.com', agent_custom_id: '007' } },
  { type: 'CSAT_Submitted', event_id: `${n}-3`, data: { call_id: n, rating: 4 } },
  { type: 'Disposition_Set', event_id: `${n}-4`, data: { call_id: n, code: 'DONE' } },
  { type: 'End_Call', event_id: `${n}-5`, data: { call_id: n, call_duration: 61 } },
  {
    type: 'File_Available',
    event_id: `${n}-6`,
    data: { kind: 'call_recording', name: `call-${n}.mp3`, content_base64: Buffer.from(`rec ${n}`).toString('base64') },
  },
];

async function postTo(base: string, connector: string, session: string, body: unknown) {
  const res = await fetch(`${base}/v1/connectors/${connector}/sessions/${session}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

async function settledAt(base: string, connector: string, session: string, ms = 30_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetch(`${base}/v1/connectors/${connector}/sessions/${session}`).catch(() => undefined);
    const v = res?.ok ? ((await res.json()) as any) : undefined;
    // Follow-up writes (the comment after an upload) are not session steps: wait for the whole queue too.
    const busy = async (status: string) => ((await (await fetch(`${base}/v1/deliveries?status=${status}&limit=1`)).json()) as any).deliveries.length > 0;
    if (
      v &&
      v.held.length === 0 &&
      v.steps.every((s: { status: string }) => ['delivered', 'dead'].includes(s.status)) &&
      !(await busy('pending')) &&
      !(await busy('running'))
    )
      return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectCleanCall(crm: RunningSampleCrm, v: any, n: number) {
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  expect(crm.crm.state.users.filter((u) => u.name === `Stress ${n}`)).toHaveLength(1);
  expect(crm.crm.state.tickets.filter((t) => t.requester_id === v.account_id)).toHaveLength(1);
  const bodies = crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
  expect(bodies.filter((b) => b.startsWith('Call/chat id'))).toHaveLength(1);
  expect(bodies.filter((b) => b.startsWith('CSAT rating 4/5'))).toHaveLength(1);
  expect(bodies.filter((b) => b.startsWith('Disposition DONE'))).toHaveLength(1);
  expect(bodies.filter((b) => b.startsWith('Session ended'))).toHaveLength(1);
  expect(bodies.filter((b) => b.startsWith(`call_recording call-${n}.mp3: http`))).toHaveLength(1);
  // (An upload interrupted mid-call may leave an orphan upload token in Zendesk, never attached
  // to the ticket and expiring on its own; the ticket shows the recording once.)
}

test('the CRM answers 400 for a while: retried, same final state, no duplicate', async () => {
  const h: Harness = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml') + FAST_RETRY } });
  try {
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', status: 400, times: 3 });
    h.crm.crm.injectFault({ method: 'PUT', path: '/api/v2/tickets/', status: 400, times: 4 });
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/uploads.json', status: 400, times: 2 });
    for (const e of CALL(5001, '+1 222 333 5001')) expect(await postTo(h.gw.url, 'zendesk', 's-5001', e)).toBe(202);
    const v = await settledAt(h.gw.url, 'zendesk', 's-5001');
    expectCleanCall(h.crm, v, 5001);
    const retried = (await h.gw.store.list({ limit: 100 })).filter((d) => d.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
  } finally {
    await h.close();
  }
});

test('the gateway is SIGKILLed and restarted mid-call: same final state, no duplicate', async () => {
  const crm = await startSampleCrm({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-crash-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'zendesk.yaml'), bundled('zendesk.yaml') + FAST_RETRY);
  const env = { CONFIG_DIR: path.join(dir, 'config'), DATA_DIR: path.join(dir, 'data'), ZENDESK_URL: crm.url, DELIVERY_LEASE_MS: '1500' };
  crm.crm.injectFault({ path: '/api/v2/', delayMs: 60, always: true });
  let child: Child | undefined;
  try {
    child = await startChild(env);
    const events = CALL(6001, '+1 222 333 6001');
    for (const e of events.slice(0, 3)) expect(await postTo(child.url, 'zendesk', 's-6001', e)).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    await child.kill('SIGKILL');
    child = await startChild(env);
    // The platform resends what it is not sure of, and goes on.
    for (const e of events) expect([200, 202]).toContain(await postTo(child.url, 'zendesk', 's-6001', e));
    await new Promise((r) => setTimeout(r, 150));
    await child.kill('SIGKILL');
    child = await startChild(env);
    const v = await settledAt(child.url, 'zendesk', 's-6001');
    expectCleanCall(crm, v, 6001);
  } finally {
    await child?.kill('SIGKILL');
    await crm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('batching: comments within the window go out as one CRM call per record, same content', async () => {
  const batched = `${bundled('zendesk.yaml').replace(/^id: zendesk$/m, 'id: zd-batch')}\n${bundled('zendesk.yaml').slice(0, 0)}`;
  const yaml = batched.replace(
    '  comment_on: [record_created, end, csat, transfer, disposition, custom_data, survey, file]',
    '  comment_on: [record_created, end, csat, transfer, disposition, custom_data, survey, file]\n  batching:\n    operations: [add_comment]\n    window_seconds: 1',
  );
  const h: Harness = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'batch.yaml': yaml } });
  try {
    const events = [
      {
        type: 'Session_Started',
        data: { call_id: 7001, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Batch One', phone: '+1 222 333 7701' } },
      },
      { type: 'Custom_Data', data: { data: { a: 1 } } },
      { type: 'Custom_Data', data: { data: { b: 2 } } },
      { type: 'CSAT_Submitted', data: { rating: 3 } },
      { type: 'Disposition_Set', data: { code: 'X' } },
    ];
    const run = async (connector: string, session: string) => {
      const before = h.crm.crm.requests.filter((r) => r.method === 'PUT').length;
      for (const e of events) expect(await postTo(h.gw.url, connector, session, e)).toBe(202);
      const v = await settledAt(h.gw.url, connector, session);
      return { v, puts: h.crm.crm.requests.filter((r) => r.method === 'PUT').length - before };
    };
    const plain = await run('zendesk', 'b-plain');
    const merged = await run('zd-batch', 'b-merged');
    expect(merged.puts).toBeLessThan(plain.puts);
    const text = (v: any) =>
      h.crm.crm.state.comments
        .filter((c) => c.ticket_id === v.record_id)
        .map((c) => c.body)
        .join('\n\n');
    // The same comment texts, in the same order, whatever the grouping.
    expect(text(merged.v).replace(/\n\n/g, '\n')).toBe(text(plain.v).replace(/\n\n/g, '\n'));
    expect(merged.v.steps.some((s: { status: string }) => s.status === 'delivered')).toBe(true);
  } finally {
    await h.close();
  }
});
