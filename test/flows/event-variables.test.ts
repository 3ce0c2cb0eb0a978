/**
 * The adapter events' data fields as template variables, and signed custom data, through the
 * whole gateway against the Zendesk-like sample CRM: a chat whose end comment template uses them.
 */
import jwt from 'jsonwebtoken';
import { MAX_MESSAGE_CHARS } from '../../src/flows/events';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const SECRET = 'shop-signing-secret-0123456789-abcdef';
const END_TEMPLATE = [
  'campaign {{CAMPAIGN_ID}} {{CAMPAIGN_NAME}}',
  'va {{VIRTUAL_AGENT_ID}} {{VA_DATA_PARAMETERS}}',
  'sv {{SESSION_VARIABLE}}',
  'sip {{CUSTOM_SIP_HEADERS}}',
  '{{DIRECTION}} {{SOURCE_TYPE}} {{START_TIME}} → {{END_TIME}}',
  'from {{FROM_AGENT_ID}} {{FROM_AGENT_CUSTOM_ID}} {{FROM_AGENT_EMAIL}} {{FROM_QUEUE_ID}} {{FROM_QUEUE_PATH}}',
  'to {{TO_AGENT_ID}} {{TO_AGENT_CUSTOM_ID}} {{TO_AGENT_EMAIL}} {{TO_QUEUE_ID}} {{TO_QUEUE_PATH}}',
  'cobrowse {{COBROWSE_SESSION_ID}} {{COBROWSE_REQUESTED_BY}} {{COBROWSE_REMOTE_CONTROL}} {{COBROWSE_FULL_DEVICE}} {{COBROWSE_ENDED_BY}}',
  'party {{PARTY_TYPE}} assist {{CONVERSATION_ID}} {{PLATFORM_SESSION_ID}} {{LANG}}',
  'in {{LAST_INBOUND_MESSAGE}}',
  'out {{LAST_OUTBOUND_MESSAGE}}',
  'verified {{VERIFIED_CUSTOM_DATA}}',
].join('\n');

function connector(id: string, signed: boolean): string {
  const yaml = bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, `id: ${id}`)
    .replace(/^( {2}comment_on: .*)$/m, `$1\n  templates:\n    end: ${JSON.stringify(END_TEMPLATE)}`);
  // Into the bundled connector's events: section (which maps identity paths).
  return signed
    ? yaml.replace(
        /^events:\n/m,
        'events:\n  signed_custom_data:\n    algorithm: HS256\n    secret: ${env:SHOP_SIGNING_SECRET}\n    issuer: https://shop.example\n',
      )
    : yaml;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    connectors: { 'signed.yaml': connector('signed', true), 'plain.yaml': connector('plain', false) },
    env: { SHOP_SIGNING_SECRET: SECRET },
  });
});
afterAll(async () => {
  await h.close();
});

const post = async (connectorId: string, sessionId: string, body: unknown) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connectorId}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

async function settled(connectorId: string, sessionId: string, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connectorId}/sessions/${sessionId}`)).body;
    const queue = await h.gw.store.counts();
    const done =
      v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status)) &&
      v.held.length === 0 &&
      queue.pending + queue.running === 0;
    if (done || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
}

const comments = (ticketId: number) => h.crm.crm.state.comments.filter((c) => c.ticket_id === ticketId).map((c) => c.body);
const token = (claims: Record<string, unknown>, secret = SECRET) =>
  jwt.sign({ iss: 'https://shop.example', ...claims }, secret, { algorithm: 'HS256', expiresIn: 600 });

describe('a chat whose end comment uses every event variable', () => {
  const S = 'chat-vars-1';
  const longMessage = `Where is my order? ${'x'.repeat(3000)}`;
  const forged = token({ cuid: 'someone-else' }, 'a-guessed-secret-that-is-not-the-shop-one');
  let view: any;
  let end: string;

  beforeAll(async () => {
    const events = [
      // Arrives first, but happened second: START_TIME is the earliest event's time.
      {
        type: 'Chat_Inbound_Message',
        timestamp: '2026-12-04T10:00:20Z',
        data: { chat_id: 5001, session_type: 'Messaging Inbound (Web Chat)', message: longMessage },
      },
      {
        type: 'New_Chat',
        timestamp: '2026-12-04T10:00:00Z',
        data: {
          chat_id: 5001,
          session_type: 'Messaging Inbound (Web Chat)',
          agent_id: 1,
          agent_email: 'ariel@example.com',
          queue_id: 7678,
          queue_path: 'HB TEAM / Ariel',
          campaign_id: 1432,
          campaign_name: 'Survey Movie',
          virtual_agent_id: 'va-9',
          va_data_parameters: { plan: 'gold', tries: 2 },
          session_variable: { intent: 'order_status' },
          custom_sip_headers: { 'X-Account': 'A-1' },
          end_user: { name: 'Vera Vars', email: 'vera@example.com' },
          custom_data_not_secured: { cuid: 'unsigned-cuid', page: '/checkout' },
          custom_data_secured: token({ cuid: 'cuid-verified-7', tier: 'platinum' }),
        },
      },
      { type: 'Chat_Outbound_Message', timestamp: '2026-12-04T10:00:30Z', data: { chat_id: 5001, message: 'Let me check' } },
      // An unsigned CUID later does not replace the verified one.
      { type: 'Custom_Data', timestamp: '2026-12-04T10:00:40Z', data: { chat_id: 5001, custom_data_not_secured: { cuid: 'later-unsigned' } } },
      {
        type: 'Transfer_Chat',
        timestamp: '2026-12-04T10:01:00Z',
        data: {
          chat_id: 5001,
          from_agent_id: 1,
          from_agent_custom_id: '007',
          from_agent_email: 'ira@example.com',
          to_agent_id: 5,
          to_agent_custom_id: '100',
          to_agent_email: 'ariel@example.com',
          from_queue_id: 8469,
          from_queue_path: 'Developers / Ariel',
          to_queue_id: 1234,
          to_queue_path: 'Schemes / Auric',
        },
      },
      { type: 'Party_Added', timestamp: '2026-12-04T10:01:10Z', data: { chat_id: 5001, agent_id: 1, agent_email: 'ariel@example.com', type: 'agent' } },
      {
        type: 'Cobrowse_Session_Started',
        timestamp: '2026-12-04T10:02:00Z',
        data: {
          agent_id: 5,
          chat_id: 5001,
          cobrowse_session_id: 'Y1zYY6XIYX4oapqpEz3qHw',
          cobrowse_session_requested_by: 'agent',
          cobrowse_session_remote_control: 'off',
          cobrowse_session_full_device: 'off',
        },
      },
      {
        type: 'Cobrowse_Session_Ended',
        timestamp: '2026-12-04T10:03:00Z',
        data: {
          agent_id: 5,
          cobrowse_session_id: 'Y1zYY6XIYX4oapqpEz3qHw',
          cobrowse_session_ended_by: 'agent',
          cobrowse_session_remote_control: 'on',
          cobrowse_session_full_device: 'rejected',
        },
      },
      {
        type: 'Agent_Assist_Started',
        timestamp: '2026-12-04T10:03:30Z',
        data: { conversation_id: '12345', queue_id: '65', agent_id: '1', session_id: '78534G4RT4284', queue_language_id: 'en', timestamp: '12:45:15' },
      },
      // A forged token and an oversized object: ignored with a warning; the rest of the event counts.
      {
        type: 'Agent_Joined_Chat',
        timestamp: '2026-12-04T10:04:00Z',
        data: { chat_id: 5001, agent_email: 'ariel@example.com', custom_data_secured: forged, va_data_parameters: { blob: 'y'.repeat(10_000) } },
      },
      { type: 'End_Chat', timestamp: '2026-12-04T10:05:00Z', data: { chat_id: 5001, agent_email: 'ariel@example.com' } },
      // The agent closes the tab later: END_TIME stays the end of the chat.
      { type: 'Dismissed_Chat', timestamp: '2026-12-04T10:09:00Z', data: { chat_id: 5001 } },
    ];
    for (const e of events) expect((await post('signed', S, e)).status).toBe(202);
    view = await settled('signed', S);
    end = comments(view.record_id).find((c) => c.startsWith('campaign'))!;
  });

  test('every variable renders in the comment template', () => {
    const lines = end.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      'campaign 1432 Survey Movie',
      'va va-9 {"plan":"gold","tries":2}',
      'sv {"intent":"order_status"}',
      'sip {"X-Account":"A-1"}',
      'inbound CHAT 2026-12-04T10:00:00.000Z → 2026-12-04T10:05:00.000Z',
      'from 1 007 ira@example.com 8469 Developers / Ariel',
      'to 5 100 ariel@example.com 1234 Schemes / Auric',
      'cobrowse Y1zYY6XIYX4oapqpEz3qHw agent on rejected agent',
      'party agent assist 12345 78534G4RT4284 en',
    ]);
    expect(lines[10]).toBe('out Let me check');
    expect(lines.slice(11).join('\n')).toBe('verified cuid: cuid-verified-7\ntier: platinum');
  });

  test('only the latest message is kept, cut to its limit', () => {
    const inbound = end.split('\n')[9].slice('in '.length);
    expect(inbound).toHaveLength(MAX_MESSAGE_CHARS);
    expect(inbound.endsWith('…')).toBe(true);
    expect(inbound.startsWith('Where is my order? xxx')).toBe(true);
  });

  test('the verified CUID wins over the unsigned one and the forged one (lookup URL)', () => {
    expect(view.links.lookup).toContain('external_id=cuid-verified-7');
  });

  test('a forged token and an oversized object: one warning each, one log line, no token text', () => {
    expect(view.warnings).toEqual([
      'Agent_Joined_Chat: VA_DATA_PARAMETERS not kept: 10011 characters, at most 8192',
      'Agent_Joined_Chat: custom_data_secured ignored: signature does not verify',
    ]);
    const logged = h.logs.filter((l) => l.includes('custom_data_secured ignored'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('"session":"chat-vars-1"');
    const all = h.logs.join('\n');
    expect(all).not.toContain(forged.split('.')[2]);
    expect(all).not.toContain(SECRET);
  });
});

describe('a connector without events.signed_custom_data', () => {
  test('custom_data_secured is never trusted, and the session says so once', async () => {
    const S = 'chat-plain-1';
    const secured = token({ cuid: 'cuid-from-token', tier: 'platinum' });
    await post('plain', S, {
      type: 'New_Chat',
      data: {
        chat_id: 6001,
        session_type: 'Messaging Inbound (Web Chat)',
        end_user: { name: 'Pia Plain', email: 'pia@example.com' },
        custom_data_secured: secured,
      },
    });
    await post('plain', S, {
      type: 'Custom_Data',
      data: { chat_id: 6001, data: { page: '/help' }, custom_data_secured: { cuid: 'forged-object', vip: true } },
    });
    await post('plain', S, { type: 'End_Chat', data: { chat_id: 6001 } });
    const v = await settled('plain', S);
    expect(v.warnings).toEqual(['custom_data_secured ignored: this connector has no events.signed_custom_data key to verify it with, so it is not trusted']);
    expect(v.links.lookup).not.toContain('cuid');
    const all = comments(v.record_id).join('\n');
    expect(all).toContain('Custom data:\npage: /help');
    expect(all).not.toMatch(/forged-object|vip|platinum|cuid-from-token/);
  });
});

test('every event variable is documented in README and openapi.yaml, and known to templates', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { EVENT_VARIABLES, REQUEST_VARIABLE_SET } = await import('../../src/template/variables');
  const root = path.join(__dirname, '../..');
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const openapi = new Set(fs.readFileSync(path.join(root, 'openapi.yaml'), 'utf8').split(/[^\w]+/));
  for (const v of EVENT_VARIABLES) {
    expect(readme).toContain(`\`${v}\``);
    expect(openapi.has(v)).toBe(true);
    expect(REQUEST_VARIABLE_SET.has(v)).toBe(true);
  }
});
