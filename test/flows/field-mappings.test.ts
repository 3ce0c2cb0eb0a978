/**
 * Data memorialization: session data written as text to record fields at transfer, call end and
 * after-call-work end. A whole call with a transfer against the Zendesk-like sample CRM, every
 * mapped ticket custom field asserted; the pure rendering, the `{VAR:json}` cast and the `"<<"`
 * merge (for flat-property CRMs) as tables; the config checks.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { compileConnector } from '../../src/config/compile';
import type { Connector } from '../../src/config/types';
import { formatIssue } from '../../src/config/yaml-source';
import { cutText, mappedFieldsJson, renderMappedFields, stampSessionTimes } from '../../src/flows/field-mappings';
import { normalizeEvent } from '../../src/flows/events';
import { buildRequest } from '../../src/operations/request';
import { castValue } from '../../src/template/casts';
import { compileValue } from '../../src/template/compile';
import { DROP, renderNode } from '../../src/template/render';
import { ROOT, bundled, startHarness, type Harness } from '../helpers/harness';

const MAPPINGS = `
field_mappings:
  write_on: [end, acw_end, transfer]
  format: custom_fields
  max_length: 60
  fields:
    "2001": "{START_TIME}"
    "2002": "{END_TIME}"
    "2003": "{AGENT_NAME}"
    "2004": "{AGENT_ID}"
    "2005": "{ANI}"
    "2006": "{DNIS}"
    "2007": "{DIRECTION}"
    "2008": "{DISPOSITION_CODE}"
    "2009": "{NOTES}"
    "2010": "{RECORDING_URL}"
    "2011": "{TRANSCRIPT_URL}"
    "2012": "{ACW_END_TIME}"
    "2013": "{{default QUEUE_NAME \\"-\\"}} · {{default CALL_DURATION \\"-\\"}}"
`;

describe('a whole call with a transfer, mapped onto Zendesk ticket custom fields', () => {
  let h: Harness;
  let files: http.Server;
  let filesUrl: string;
  const S = 'memo-9001';
  const at = (seconds: number) => new Date(Date.UTC(2026, 2, 2, 10, 0, seconds)).toISOString();
  const notes = `Refund issued; customer asked for a callback next week about the second invoice.`;
  const post = async (body: unknown) => {
    const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${S}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  async function settled(ms = 15_000): Promise<any> {
    const end = Date.now() + ms;
    for (;;) {
      const v = (await h.get(`/v1/connectors/zendesk/sessions/${S}`)).body;
      const q = await h.gw.store.counts();
      if (
        (v.steps.every((s: { status: string }) => ['delivered', 'dead'].includes(s.status)) && v.held.length === 0 && q.pending + q.running === 0) ||
        Date.now() > end
      )
        return v;
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  beforeAll(async () => {
    files = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/octet-stream');
      res.end('file bytes');
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml') + MAPPINGS } });
  });
  afterAll(async () => {
    await h.close();
    files.close();
  });

  test('every mapped field holds its text after the call, and each moment wrote once', async () => {
    const events = [
      {
        type: 'Session_Started',
        event_id: 'm1',
        timestamp: at(0),
        data: {
          call_id: 9001,
          session_type: 'IVR_Call',
          channel: 'voice_call',
          queue_name: 'Billing',
          direction: 'inbound',
          dnis: '+1 800 555 0100',
          end_user: { name: 'Mia Memo', phone: '+1 222 333 9001' },
        },
      },
      { type: 'New_Call', event_id: 'm2', timestamp: at(30), data: { call_id: 9001, agent_id: 7, agent_name: 'Kim Agent', agent_email: 'kim@example.com' } },
      {
        type: 'Party_Added',
        event_id: 'm3',
        timestamp: at(120),
        data: { call_id: 9001, agent_id: 8, agent_name: 'Lee Agent', agent_email: 'lee@example.com' },
      },
      { type: 'Disposition_Set', event_id: 'm4', timestamp: at(300), data: { call_id: 9001, code: 'RESOLVED', notes } },
      { type: 'End_Call', event_id: 'm5', timestamp: at(310), data: { call_id: 9001, call_duration: 310 } },
      {
        type: 'File_Available',
        event_id: 'm6',
        timestamp: at(320),
        data: { kind: 'call_recording', file_name: 'call-9001.mp3', content_type: 'audio/mpeg', url: `${filesUrl}/rec/call-9001.mp3` },
      },
      {
        type: 'File_Available',
        event_id: 'm7',
        timestamp: at(330),
        data: { kind: 'chat_transcript', file_name: 'call-9001.txt', content_type: 'text/plain', url: `${filesUrl}/tx/call-9001.txt` },
      },
      // A link that needs credentials is never written to the CRM as a link.
      {
        type: 'File_Available',
        event_id: 'm8',
        timestamp: at(340),
        data: {
          kind: 'call_recording',
          file_name: 'private.mp3',
          content_type: 'audio/mpeg',
          url: `${filesUrl}/private/rec.mp3`,
          headers: { Authorization: 'Bearer platform-token-xyz' },
        },
      },
      { type: 'After_Call_Work_Ended', event_id: 'm9', timestamp: at(400), data: { call_id: 9001 } },
    ];
    for (const e of events) expect((await post(e)).status).toBe(202);
    const v = await settled();
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    const ticket = h.crm.crm.state.tickets.find((t) => t.id === v.record_id)!;
    const field = (id: number) => ticket.custom_fields.find((f) => f.id === id)?.value;
    expect(Object.fromEntries([...Array(13).keys()].map((i) => [2001 + i, field(2001 + i)]))).toEqual({
      2001: at(0),
      2002: at(310),
      2003: 'Lee Agent',
      2004: '8',
      2005: '+1 222 333 9001',
      2006: '+1 800 555 0100',
      2007: 'inbound',
      2008: 'RESOLVED',
      2009: `${notes.slice(0, 59)}…`,
      2010: `${filesUrl}/rec/call-9001.mp3`,
      2011: `${filesUrl}/tx/call-9001.txt`,
      2012: at(400),
      2013: 'Billing · 05:10',
    });
    // Every value is text; the queue and channel fields the record was created with are kept.
    expect(ticket.custom_fields.every((f) => typeof f.value === 'string')).toBe(true);
    expect(field(1001)).toBe('Billing');
    const bodies = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
    expect(bodies.filter((b) => b.startsWith('Call data recorded'))).toEqual([
      `Call data recorded: transferred (${at(120)})`,
      `Call data recorded: call ended (${at(310)})`,
      `Call data recorded: after-call work ended (${at(400)})`,
    ]);
    // At the transfer the call had not ended: no end time, no disposition yet.
    const changes = h.crm.crm.state.audits
      .filter((a) => a.ticket_id === ticket.id)
      .flatMap((a) => a.events)
      .filter((e) => e.type === 'Change' && String(e.field_name).startsWith('custom_field_20'));
    const first = (name: string) => changes.find((c) => c.field_name === name)?.value;
    expect(first('custom_field_2003')).toBe('Lee Agent');
    expect(changes.filter((c) => c.field_name === 'custom_field_2002')).toHaveLength(1);
    expect(JSON.stringify(h.crm.crm.requests)).not.toContain('/private/rec.mp3');

    // The same end again is a duplicate: no second field update.
    const before = h.crm.crm.requests.length;
    expect((await post(events[4])).status).toBe(200);
    await settled();
    expect(h.crm.crm.requests.length).toBe(before);
  });
});

describe('flow-script posts drive the mappings too', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml') + MAPPINGS } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('the disposition post ends the call: the fields are written once, from what the posts carried', async () => {
    const post = (name: string, body: unknown) =>
      fetch(`${h.gw.url}/v1/connectors/zendesk/flow-posts/${name}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const accepted = { engagementId: 'eng-memo-1', caller_number: '+12223339101', agent_email: 'kim@example.com', queue_name: 'Support' };
    expect((await post('acceptedcall', accepted)).status).toBe(202);
    expect((await post('dispositionedcall', { ...accepted, disposition_name: 'Callback' })).status).toBe(202);
    expect((await post('dispositionedcall', { ...accepted, disposition_name: 'Callback' })).status).toBe(200);
    let v: any;
    for (let i = 0; i < 300; i++) {
      v = (await h.get('/v1/connectors/zendesk/sessions/eng-memo-1')).body;
      const q = await h.gw.store.counts();
      if (v.steps.every((s: { status: string }) => s.status === 'delivered') && q.pending + q.running === 0) break;
      await new Promise((r) => setTimeout(r, 30));
    }
    const ticket = h.crm.crm.state.tickets.find((t) => t.id === v.record_id)!;
    const mapped = Object.fromEntries(ticket.custom_fields.filter((f) => f.id >= 2001).map((f) => [f.id, f.value]));
    const events = v.events as Array<{ type: string; at: string }>;
    expect(mapped).toEqual({
      2001: events[0].at,
      2002: events.find((e) => e.type === 'End_Call')!.at,
      2005: '+1 222 333 9101', // inbound: the caller's number is the ANI
      2007: 'inbound',
      2008: 'Callback',
      2013: 'Support · -',
    });
    const notes = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id && c.body.startsWith('Call data recorded'));
    expect(notes).toHaveLength(1);
  });
});

describe('rendering (pure)', () => {
  test.each<[string, number, string]>([
    ['abc', 5, 'abc'],
    ['abcdef', 6, 'abcdef'],
    ['abcdef', 4, 'abc…'],
    ['ab\u{1F600}cd', 4, 'ab…'], // never half an emoji
    ['ab\u{1F600}cd', 5, 'ab\u{1F600}…'],
    ['abc', 1, '…'],
  ])('cutText(%j, %i) → %j', (text, max, out) => {
    expect(cutText(text, max)).toBe(out);
    expect(cutText(text, max).isWellFormed()).toBe(true);
  });

  test.each<[string, Record<string, string>, Record<string, unknown>, Array<[string, string]>]>([
    ['a variable', { a: '{AGENT_NAME}' }, { AGENT_NAME: 'Kim' }, [['a', 'Kim']]],
    [
      'numbers and booleans become text',
      { a: '{AGENT_ID}', b: 'ok {VERIFIED}' },
      { AGENT_ID: 7, VERIFIED: true },
      [
        ['a', '7'],
        ['b', 'ok true'],
      ],
    ],
    ['text with a missing variable is left out, not half-filled', { a: 'Agent {AGENT_NAME} ({AGENT_ID})' }, { AGENT_NAME: 'Kim' }, []],
    ['handlebars renders missing values empty', { a: '{{AGENT_NAME}}/{{AGENT_ID}}' }, { AGENT_NAME: 'Kim' }, [['a', 'Kim/']]],
    ['a blank result is left out', { a: '{{NOTES}}' }, { NOTES: '  ' }, []],
    ['an empty variable counts as missing', { a: '{NOTES}' }, { NOTES: '' }, []],
    ['long text is cut', { a: '{NOTES}' }, { NOTES: 'x'.repeat(20) }, [['a', `${'x'.repeat(9)}…`]]],
    [
      'several fields, in the order written',
      { b: '{DNIS}', a: '{ANI}' },
      { ANI: '1', DNIS: '2' },
      [
        ['b', '2'],
        ['a', '1'],
      ],
    ],
  ])('%s', (_label, fields, vars, out) => {
    expect(renderMappedFields({ fields: Object.entries(fields), maxLength: 10 }, vars)).toEqual(out);
  });

  test.each<['custom_fields' | 'properties', Array<[string, string]>, unknown]>([
    [
      'custom_fields',
      [
        ['2001', 'a'],
        ['2002', 'b'],
      ],
      [
        { id: 2001, value: 'a' },
        { id: 2002, value: 'b' },
      ],
    ],
    ['custom_fields', [['123456789012345678', 'a']], [{ id: '123456789012345678', value: 'a' }]], // too long for an exact number
    [
      'properties',
      [
        ['call_start', 'a'],
        ['agent', 'b'],
      ],
      { call_start: 'a', agent: 'b' },
    ],
    ['properties', [], {}],
  ])('MAPPED_FIELDS as %s', (format, fields, out) => {
    expect(JSON.parse(mappedFieldsJson(format, fields))).toEqual(out);
  });

  // START_TIME and END_TIME are the engine's (test/flows/event-variables.test.ts); the mappings add these two.
  test('the last after-call work ends ACW; a session is inbound until an event says outbound', () => {
    const state = { vars: {} as Record<string, string | number | boolean>, events: [] as Array<{ type: string; at: number }>, outbound: false };
    const apply = (body: unknown, at: number) => {
      const ev = normalizeEvent(body);
      state.events.push({ type: ev.type, at: ev.facts.at ?? at });
      stampSessionTimes(state, ev, at);
    };
    apply({ type: 'New_Call', data: { agent_id: 1 } }, 2_000);
    expect(state.vars).toEqual({ DIRECTION: 'inbound' });
    apply({ type: 'Session_Started', timestamp: 1_000, data: { direction: 'outbound' } }, 3_000);
    state.outbound = true;
    apply({ type: 'End_Call', data: {} }, 4_000);
    apply({ type: 'End_Chat', data: {} }, 5_000);
    apply({ type: 'After_Call_Work_Ended', data: {} }, 6_000);
    apply({ type: 'After_Call_Work_Ended', timestamp: 7_000, data: {} }, 8_000);
    expect(state.vars).toEqual({ ACW_END_TIME: '1970-01-01T00:00:07.000Z', DIRECTION: 'outbound' });
  });

  test.each<[string, Record<string, unknown>, unknown]>([
    ['a public recording link', { kind: 'call_recording', url: 'https://files.example/r.mp3' }, { RECORDING_URL: 'https://files.example/r.mp3' }],
    ['a transcript link', { kind: 'chat_transcript', url: 'https://files.example/t.txt' }, { TRANSCRIPT_URL: 'https://files.example/t.txt' }],
    ['a link that needs credentials', { kind: 'call_recording', url: 'https://platform.example/r.mp3', headers: { Authorization: 'Bearer t' } }, {}],
    ['another kind of file', { kind: 'photo', url: 'https://files.example/p.png' }, {}],
  ])('File_Available: %s', (_label, data, vars) => {
    const ev = normalizeEvent({ type: 'File_Available', data });
    expect({ RECORDING_URL: ev.vars.RECORDING_URL, TRANSCRIPT_URL: ev.vars.TRANSCRIPT_URL }).toEqual({
      RECORDING_URL: undefined,
      TRANSCRIPT_URL: undefined,
      ...(vars as object),
    });
  });

  test('event data fields for the mappings: agent name, ANI, DNIS, notes, links (http(s) only)', () => {
    const ev = normalizeEvent({
      type: 'End_Call',
      data: {
        agent_name: 'Kim',
        ani: '+12223334444',
        dnis: '8005550100',
        notes: 'n',
        recording_url: 'javascript:alert(1)',
        transcript_url: 'https://x.example/t',
      },
    });
    expect(ev.vars).toMatchObject({ AGENT_NAME: 'Kim', ANI: '+12223334444', DNIS: '8005550100', NOTES: 'n', TRANSCRIPT_URL: 'https://x.example/t' });
    expect(ev.vars.RECORDING_URL).toBeUndefined();
  });
});

describe('{VAR:json} and the "<<" merge', () => {
  test.each<[unknown, boolean, unknown]>([
    ['[{"id":1,"value":"a"}]', true, [{ id: 1, value: 'a' }]],
    ['{"a":"b"}', true, { a: 'b' }],
    ['not json', false, undefined],
    [7, false, undefined],
  ])('castValue(%j, json)', (v, ok, out) => {
    const r = castValue(v, 'json');
    expect(r.ok).toBe(ok);
    if (r.ok) expect(r.value).toEqual(out);
  });

  const render = (value: unknown, vars: Record<string, unknown>) => {
    const out = renderNode(compileValue(value), { vars, html: false, missing: new Set() });
    return out === DROP ? 'DROPPED' : out;
  };
  test.each<[string, unknown, Record<string, unknown>, unknown]>([
    [
      'merged beside the written entries',
      { subject: '{TICKET_SUBJECT}', '<<': '{MAPPED_FIELDS:json}' },
      { TICKET_SUBJECT: 's', MAPPED_FIELDS: '{"a":"1","b":"2"}' },
      { subject: 's', a: '1', b: '2' },
    ],
    ['nothing to merge', { subject: '{TICKET_SUBJECT}', '<<': '{MAPPED_FIELDS:json}' }, { TICKET_SUBJECT: 's' }, { subject: 's' }],
    ['no __proto__ from a merged map', { '<<': '{MAPPED_FIELDS:json}' }, { MAPPED_FIELDS: '{"__proto__":{"x":1},"a":"1"}' }, { a: '1' }],
    ['a list placed as is', { custom_fields: '{MAPPED_FIELDS:json}' }, { MAPPED_FIELDS: '[{"id":1,"value":"a"}]' }, { custom_fields: [{ id: 1, value: 'a' }] }],
    ['absent: the param is dropped', { custom_fields: '{MAPPED_FIELDS:json}', x: 1 }, {}, { x: 1 }],
  ])('%s', (_label, value, vars, out) => {
    const r = render(value, vars);
    expect(r).toEqual(out);
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
  });

  test('merging a list into a map is refused, naming the key', () => {
    expect(() => render({ '<<': '{MAPPED_FIELDS:json}' }, { MAPPED_FIELDS: '[1]' })).toThrow(/"<<" entry merges a map/);
  });

  test('a flat-property CRM (HubSpot): mapped fields beside subject and content in the update', () => {
    const yaml = `${bundled('hubspot.yaml').replace(
      '        content: "{TICKET_DESCRIPTION}"\n',
      '        content: "{TICKET_DESCRIPTION}"\n        "<<": "{MAPPED_FIELDS:json}"\n',
    )}\nfield_mappings:\n  format: properties\n  fields:\n    call_start: "{START_TIME}"\n    agent_name: "{AGENT_NAME}"\n`;
    const r = compileConnector(yaml, 'hubspot.yaml', {});
    expect(r.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
    const c = r.connector as Connector;
    const fields = renderMappedFields(c.fieldMappings!, { START_TIME: '2026-03-02T10:00:00.000Z', AGENT_NAME: 'Kim' });
    const req = buildRequest(c, c.endpoints.get('update_record')!, { RECORD_ID: '55', MAPPED_FIELDS: mappedFieldsJson(c.fieldMappings!.format, fields) });
    expect(req.body).toEqual({ kind: 'json', value: { properties: { call_start: '2026-03-02T10:00:00.000Z', agent_name: 'Kim' } } });
    const end = buildRequest(c, c.endpoints.get('update_record')!, { RECORD_ID: '55', TICKET_DESCRIPTION: 'd' });
    expect(end.body).toEqual({ kind: 'json', value: { properties: { content: 'd' } } });
  });
});

describe('config', () => {
  const errors = (text: string, base = bundled('zendesk.yaml')) =>
    compileConnector(base + text, 'zendesk.yaml', {})
      .issues.filter((i) => i.severity === 'error')
      .map(formatIssue)
      .join('\n');

  test('the mappings of this test load', () => {
    expect(errors(MAPPINGS)).toBe('');
  });

  test.each<[string, string, RegExp]>([
    [
      'an unknown variable, with a suggestion',
      '\nfield_mappings:\n  fields:\n    "2001": "{AGENT_NAM}"\n',
      /zendesk\.yaml:\d+:\d+ field_mappings\.fields\.2001: unknown variable \{AGENT_NAM\} \(did you mean \{AGENT_NAME\}\?\)/,
    ],
    ['an unknown variable in handlebars', '\nfield_mappings:\n  fields:\n    "2001": "{{NOPE}}"\n', /field_mappings\.fields\.2001: unknown variable \{NOPE\}/],
    [
      'a custom field that is not an id',
      '\nfield_mappings:\n  fields:\n    call_start: "{START_TIME}"\n',
      /field_mappings\.fields\.call_start: format custom_fields sends \[\{id, value\}\]/,
    ],
    ['an unknown moment', '\nfield_mappings:\n  write_on: [hangup]\n  fields:\n    "2001": "{START_TIME}"\n', /field_mappings\.write_on\[0\]/],
    ['a bad cast', '\nfield_mappings:\n  fields:\n    "2001": "{START_TIME:date}"\n', /field_mappings\.fields\.2001: \{START_TIME:date\}: unknown cast "date"/],
    [
      'a cast (fields are text)',
      '\nfield_mappings:\n  fields:\n    "2001": "{NOTES:json}"\n',
      /field_mappings\.fields\.2001: a mapped field is written as text: remove the :cast/,
    ],
  ])('%s is a load error naming file, line and path', (_label, text, re) => {
    expect(errors(text)).toMatch(re);
  });

  test("the README's examples load with the bundled connectors", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = (start: string) => [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.startsWith(start))!;
    expect(errors(`\n${block('field_mappings:')}`)).toBe('');
    const flowPosts = block('flow_posts:');
    expect(errors('', bundled('zendesk.yaml').replace(/^flow_posts:\n(?: {2}.*\n|\n)*/m, `${flowPosts}\n`))).toBe('');
    const hubspot = block('  update_record:\n    params:\n      properties:');
    expect(hubspot).toContain('"<<": "{MAPPED_FIELDS:json}"');
  });

  test('mappings need an update_record that places {MAPPED_FIELDS}', () => {
    const without = bundled('zendesk.yaml').replace('      custom_fields: "{MAPPED_FIELDS:json}"\n', '');
    expect(errors('\nfield_mappings:\n  fields:\n    "2001": "{START_TIME}"\n', without)).toMatch(
      /field_mappings: update_record must place the mapped fields: add custom_fields: "\{MAPPED_FIELDS:json\}"/,
    );
  });
});
