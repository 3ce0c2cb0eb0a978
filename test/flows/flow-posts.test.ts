/**
 * Flow-script posts: a whole call driven by the two posts a platform's flow scripts send —
 * `{engagementId, caller_number, agent_email, queue_name}` when the agent accepts the call and
 * the same plus `disposition_name` when the agent saves the disposition — through the bundled
 * config/zendesk.yaml mappings, against the Zendesk-like sample CRM: in order, repeated,
 * reordered, and with the gateway killed mid-call. Plus the translation itself and its config.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import type { CompiledFlowPost } from '../../src/config/types';
import { formatIssue } from '../../src/config/yaml-source';
import { translateFlowPost } from '../../src/flows/flow-posts';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { bundled, startHarness, type Harness } from '../helpers/harness';

jest.setTimeout(90_000);

// The posts exactly as the flow scripts build them: these keys and nothing else.
const accepted = (engagementId: string, phone: string) => ({ engagementId, caller_number: phone, agent_email: 'kim@example.com', queue_name: 'Billing' });
const dispositioned = (engagementId: string, phone: string) => ({ ...accepted(engagementId, phone), disposition_name: 'Resolved' });

async function post(base: string, name: string, body: unknown, connector = 'zendesk') {
  const res = await fetch(`${base}/v1/connectors/${connector}/flow-posts/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
}

async function settled(base: string, session: string, ms = 30_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetch(`${base}/v1/connectors/zendesk/sessions/${session}`).catch(() => undefined);
    const v = res?.ok ? ((await res.json()) as any) : undefined;
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

/** The CRM after one whole call, whatever the order the posts came in: one of everything. */
function expectWholeCall(crm: RunningSampleCrm, v: any, engagementId: string, phone: string) {
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  expect(v).toMatchObject({ ended: true, record: 'created' });
  // After a crash the account step may run again and find the user its first try created.
  expect(['created', 'found']).toContain(v.account);
  const users = crm.crm.state.users.filter((u) => u.phone === phone);
  expect(users).toHaveLength(1);
  expect(users[0].id).toBe(v.account_id);
  const tickets = crm.crm.state.tickets.filter((t) => t.requester_id === v.account_id);
  expect(tickets).toHaveLength(1);
  expect(tickets[0].id).toBe(v.record_id);
  expect(tickets[0].custom_fields.slice(0, 2)).toEqual([
    { id: 1001, value: 'Billing' },
    { id: 1002, value: 'voice_call' },
  ]);
  const bodies = crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
  const once = (re: RegExp) => expect(bodies.filter((b) => re.test(b))).toHaveLength(1);
  once(new RegExp(`^Call/chat id ${engagementId} · language - · menu/queue Billing$`));
  once(/^Disposition Resolved$/);
  once(/^Session ended\. .*Agent: kim@example\.com\.$/);
  // The description: at creation, and again with the update at the end.
  const descriptions = bodies.filter((b) => b.startsWith(`Session ${engagementId} `));
  expect(descriptions).toHaveLength(2);
  for (const d of descriptions) expect(d).toContain(`Phone: ${phone}`);
  for (const d of descriptions) expect(d).toContain('Queue: Billing');
  expect(descriptions[1]).toContain('Agent: kim@example.com');
  expect(bodies).toHaveLength(5);
}

describe('a whole call from the two posts, against the Zendesk-like sample CRM', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('accepted, then dispositioned: one user, one ticket, the comments; a repeated post changes nothing', async () => {
    const id = 'eng-2001';
    const a = await post(h.gw.url, 'acceptedcall', accepted(id, '+12223337101'));
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ duplicate: false, session: { session_id: id, ended: false } });
    const d = await post(h.gw.url, 'dispositionedcall', dispositioned(id, '+12223337101'));
    expect(d.status).toBe(202);
    expect(d.body.session.events.map((e: { type: string }) => e.type)).toEqual(['New_Call', 'Disposition_Set', 'End_Call']);
    const v = await settled(h.gw.url, id);
    expectWholeCall(h.crm, v, id, '+1 222 333 7101');
    const bodies = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
    expect(bodies[1]).toBe(`Call/chat id ${id} · language - · menu/queue Billing`);
    expect(bodies.slice(2, 4)).toEqual(['Disposition Resolved', 'Session ended. Duration -, hold -, wait -. Agent: kim@example.com.']);

    // The flow script retries (same bytes): 200, duplicate, nothing new in the CRM.
    const before = h.crm.crm.requests.length;
    const again = await post(h.gw.url, 'acceptedcall', accepted(id, '+12223337101'));
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    const twice = await post(h.gw.url, 'dispositionedcall', dispositioned(id, '+12223337101'));
    expect(twice).toMatchObject({ status: 200, body: { duplicate: true } });
    expectWholeCall(h.crm, await settled(h.gw.url, id), id, '+1 222 333 7101');
    expect(h.crm.crm.requests.length).toBe(before);
  });

  test('reordered: the disposition arrives first, the acceptance later; the same CRM state', async () => {
    const id = 'eng-2002';
    expect((await post(h.gw.url, 'dispositionedcall', dispositioned(id, '+12223337102'))).status).toBe(202);
    await settled(h.gw.url, id);
    expect((await post(h.gw.url, 'acceptedcall', accepted(id, '+12223337102'))).status).toBe(202);
    expectWholeCall(h.crm, await settled(h.gw.url, id), id, '+1 222 333 7102');
  });

  test('a post the mapping cannot place is refused whole, naming the field; an unknown mapping names the known ones', async () => {
    const missing = await post(h.gw.url, 'acceptedcall', { caller_number: '+12223337103', agent_email: 'kim@example.com' });
    expect(missing.status).toBe(422);
    expect(missing.type).toMatch(/^application\/problem\+json/);
    expect(missing.body.errors).toEqual([{ field: 'engagementId', message: 'required' }]);
    const bad = await post(h.gw.url, 'acceptedcall', { engagementId: 'has spaces/slash', caller_number: '+12223337103' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('engagementId');
    const unknown = await post(h.gw.url, 'hangup', accepted('eng-2003', '+12223337103'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toContain('known: acceptedcall, dispositionedcall');
    const notJson = await post(h.gw.url, 'acceptedcall', '{"engagementId": ');
    expect(notJson.status).toBe(400);
    // The platform's missing-comma style is repaired, as for events.
    const lenient = await post(h.gw.url, 'acceptedcall', '{"engagementId": "eng-2004"\n"caller_number": "+12223337104"}');
    expect(lenient.status).toBe(202);
    expect(h.crm.crm.state.users.filter((u) => u.phone === '+1 222 333 7103')).toEqual([]);
  });

  test("the events route's input bounds hold here too: nesting, lone surrogates, values too long for a CRM URL", async () => {
    const deep = `{"engagementId":"eng-2005","x":${'['.repeat(40)}${']'.repeat(40)}}`;
    expect((await post(h.gw.url, 'acceptedcall', deep)).body).toMatchObject({ status: 422, errors: [{ field: '(body)' }] });
    const surrogate = await post(h.gw.url, 'acceptedcall', '{"engagementId":"eng-2005","agent_email":"\\ud800"}');
    expect(surrogate.body).toMatchObject({ status: 422, errors: [{ field: 'agent_email', message: 'not valid Unicode' }] });
    // PHONE_NUMBER goes into find_account's search URL: a value no CRM URL takes is refused now.
    const long = await post(h.gw.url, 'acceptedcall', { engagementId: 'eng-2005', caller_number: `+1${'2'.repeat(9000)}` });
    expect(long.body).toMatchObject({ status: 422, errors: [{ field: 'PHONE_NUMBER' }] });
    expect((await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/eng-2005`)).status).toBe(404);
  });
});

test('the gateway is SIGKILLed mid-call: the platform resends, the CRM ends the same, no duplicate', async () => {
  const crm = await startSampleCrm({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-post-crash-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'zendesk.yaml'), `${bundled('zendesk.yaml')}\nretry:\n  initial_delay_seconds: 0.2\n  max_delay_seconds: 0.5\n`);
  const env = { CONFIG_DIR: path.join(dir, 'config'), DATA_DIR: path.join(dir, 'data'), ZENDESK_URL: crm.url, DELIVERY_LEASE_MS: '1500' };
  crm.crm.injectFault({ path: '/api/v2/', delayMs: 60, always: true });
  const id = 'eng-3001';
  let child: Child | undefined;
  try {
    child = await startChild(env);
    expect((await post(child.url, 'acceptedcall', accepted(id, '+12223338001'))).status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    await child.kill('SIGKILL');
    child = await startChild(env);
    // The flow scripts are not sure what arrived: both posts again, then the disposition once more.
    expect((await post(child.url, 'acceptedcall', accepted(id, '+12223338001'))).status).toBe(200);
    expect((await post(child.url, 'dispositionedcall', dispositioned(id, '+12223338001'))).status).toBe(202);
    await new Promise((r) => setTimeout(r, 150));
    await child.kill('SIGKILL');
    child = await startChild(env);
    expect((await post(child.url, 'dispositionedcall', dispositioned(id, '+12223338001'))).status).toBe(200);
    expectWholeCall(crm, await settled(child.url, id), id, '+1 222 333 8001');
  } finally {
    await child?.kill('SIGKILL');
    await crm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('translation (pure)', () => {
  const yaml = (flowPosts: string) => `${bundled('zendesk.yaml').replace(/^flow_posts:\n(?: {2}.*\n|\n)*/m, '')}\nflow_posts:\n${flowPosts}`;
  const mapping = (flowPosts: string, name: string): CompiledFlowPost => {
    const r = compileConnector(yaml(flowPosts), 'zendesk.yaml', {});
    expect(r.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
    return r.connector!.flowPosts.get(name)!;
  };
  const byStatus = mapping(
    [
      '  status:',
      '    session_id: call.id',
      '    event_id: post_id',
      '    event: { field: call.status, map: { answered: New_Call, done: [Disposition_Set, End_Call] } }',
      '    variables: { PHONE_NUMBER: call.from, DISPOSITION_CODE: outcome, CUSTOM_DATA: extra }',
    ].join('\n'),
    'status',
  );

  test.each<[string, unknown, string[], Record<string, unknown>]>([
    ['a value of the map', { call: { id: 'c1', status: 'answered', from: '+12223330001' }, post_id: 'p1' }, ['New_Call'], { PHONE_NUMBER: '+12223330001' }],
    ['a list of events', { call: { id: 'c1', status: 'done' }, outcome: 'Sold', post_id: 7 }, ['Disposition_Set', 'End_Call'], { DISPOSITION_CODE: 'Sold' }],
    ['an object becomes JSON text', { call: { id: 'c1', status: 'answered' }, extra: { a: 1 } }, ['New_Call'], { CUSTOM_DATA: '{"a":1}' }],
    ['empty values are left out', { call: { id: 'c1', status: 'answered', from: '' }, outcome: null }, ['New_Call'], {}],
  ])('%s', (_label, body, types, vars) => {
    const t = translateFlowPost(byStatus, body);
    expect(t.sessionId).toBe('c1');
    expect(t.events.map((e) => e.body.type)).toEqual(types);
    for (const e of t.events) expect(e.vars).toEqual(vars);
  });

  test("the event id is the post's own, one per event of the post; without one, a hash of the content", () => {
    const t = translateFlowPost(byStatus, { call: { id: 'c1', status: 'done' }, post_id: 'p9' });
    expect(t.events.map((e) => e.body.event_id)).toEqual(['status:p9:Disposition_Set', 'status:p9:End_Call']);
    const accepted1 = mapping('  a:\n    session_id: engagementId\n    event: New_Call\n', 'a');
    const k = (b: unknown) => translateFlowPost(accepted1, b).events[0].body.event_id;
    expect(k({ engagementId: 'e', x: 1 })).toBe(k({ engagementId: 'e', x: 1 }));
    expect(k({ engagementId: 'e', x: 1 })).not.toBe(k({ engagementId: 'e', x: 2 }));
  });

  test('data fields carry what the engine reads facts from (a disposition, the agent)', () => {
    const t = translateFlowPost(byStatus, { call: { id: 'c1', status: 'done' }, outcome: 'Sold' });
    expect(t.events[0].body.data).toEqual({ code: 'Sold' });
  });

  test.each<[string, unknown, string, string]>([
    ['no session id', { call: { status: 'answered' } }, 'call.id', 'required'],
    ['a session id the store cannot key on', { call: { id: 'a b', status: 'answered' } }, 'call.id', 'invalid session id'],
    ['an event value the map does not know', { call: { id: 'c1', status: 'ringing' } }, 'call.status', 'unknown value'],
    ['no event value', { call: { id: 'c1' } }, 'call.status', 'required'],
    ['an event id too long to keep', { call: { id: 'c1', status: 'answered' }, post_id: 'p'.repeat(201) }, 'post_id', 'too long'],
    ['a prototype key is no field', { call: { id: 'c1', status: 'constructor' } }, 'call.status', 'unknown value'],
  ])('%s → 422 naming the field', (_label, body, field, message) => {
    let err: any;
    try {
      translateFlowPost(byStatus, body);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'validation_failed', extensions: { errors: [{ field, message }] } });
  });

  test('a body that is not an object is refused', () => {
    expect(() => translateFlowPost(byStatus, [1])).toThrow(/JSON object/);
  });
});

describe('config', () => {
  const compile = (flowPosts: string) =>
    compileConnector(`${bundled('zendesk.yaml')}\n`.replace(/^flow_posts:\n(?: {2}.*\n|\n)*/m, `flow_posts:\n${flowPosts}\n`), 'zendesk.yaml', {});
  const errors = (flowPosts: string) =>
    compile(flowPosts)
      .issues.filter((i) => i.severity === 'error')
      .map(formatIssue);

  test('the bundled Zendesk connector maps the two posts', () => {
    const r = compileConnector(bundled('zendesk.yaml'), 'zendesk.yaml', {});
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect([...r.connector!.flowPosts.keys()]).toEqual(['acceptedcall', 'dispositionedcall']);
  });

  test.each<[string, string, RegExp]>([
    [
      'an unknown variable, with a suggestion',
      '  a:\n    session_id: id\n    event: New_Call\n    variables: { PHONE_NUMBR: caller }',
      /zendesk\.yaml:\d+:\d+ flow_posts\.a\.variables\.PHONE_NUMBR: unknown variable PHONE_NUMBR \(did you mean PHONE_NUMBER\?\)/,
    ],
    [
      'a variable the gateway sets',
      '  a:\n    session_id: id\n    event: New_Call\n    variables: { SESSION_ID: id }',
      /flow_posts\.a\.variables\.SESSION_ID: SESSION_ID is set by the gateway/,
    ],
    [
      'an unknown event type',
      '  a:\n    session_id: id\n    event: Call_Answered',
      /flow_posts\.a\.event: unknown event type "Call_Answered"; known: New_Call/,
    ],
    [
      'an unknown event type in a map',
      '  a:\n    session_id: id\n    event: { field: s, map: { x: [New_Call, Nope] } }',
      /flow_posts\.a\.event\.map\.x\[1\]: unknown event type "Nope"/,
    ],
    ['a broken field path', '  a:\n    session_id: "a[x"\n    event: New_Call', /flow_posts\.a\.session_id: unclosed or non-numeric "\["/],
    ['no session id', '  a:\n    event: New_Call', /flow_posts\.a: missing required property "session_id"/],
    ['a name a URL cannot carry', '  "a b":\n    session_id: id\n    event: New_Call', /zendesk\.yaml:\d+:\d+ flow_posts: does not match the expected form/],
  ])('%s is a load error naming file, line and path', (_label, text, re) => {
    const e = errors(text);
    expect(e.join('\n')).toMatch(re);
  });
});
