/** The pure cores of the session outcome e-mail: who gets it, when a session succeeded, SMTP verdicts, the message. */
import { outcomeRecipient } from '../../src/outcome-email/recipient';
import { sessionSucceeded, type StepStatus } from '../../src/flows/session-outcome';
import { classifySmtpError } from '../../src/outcome-email/smtp-errors';
import { buildOutcomeMessage, MAX_TRANSCRIPT_BYTES, outcomeMessageId, DEFAULT_OUTCOME_SUBJECT } from '../../src/outcome-email/message';
import { sessionKind, sessionMetadata, sessionNumber } from '../../src/flows/session-metadata';
import { validAddressList } from '../../src/config/outcome-email';
import type { OutcomeEmailQueue } from '../../src/config/outcome-email-types';

describe('recipient: global and per-queue switches and addresses', () => {
  const G = 'global@example.com';
  const Q = 'queue@example.com';
  // [global on, global address, queue entry (undefined: not listed), expected recipient]
  const table: Array<[boolean, string, { enabled: boolean; address: string } | undefined, string | undefined]> = [
    [false, G, undefined, undefined], // global off, queue not listed: nothing
    [false, G, { enabled: false, address: Q }, undefined], // global off, queue off: nothing
    [false, G, { enabled: true, address: Q }, Q], // global off, queue on: the queue's address
    [false, '', { enabled: true, address: Q }, Q], // …even without a global address
    [false, G, { enabled: true, address: '' }, undefined], // queue on with no address: nothing
    [true, G, undefined, G], // global on, queue not listed: inherits the global address
    [true, G, { enabled: false, address: Q }, G], // global on, queue off: inherits the global switch and address
    [true, G, { enabled: false, address: '' }, G],
    [true, G, { enabled: true, address: Q }, Q], // both on: the queue's address
    [true, G, { enabled: true, address: '  ' }, undefined], // both on, the queue's address empty: nothing
    [true, '', undefined, undefined], // global on without an address: nothing
    [true, '', { enabled: false, address: Q }, undefined], // the queue off inherits the empty global address
    [true, '', { enabled: true, address: Q }, Q],
  ];
  test.each(table)('global %p %p, queue %p → %p', (enabled, address, queue, expected) => {
    const queues: OutcomeEmailQueue[] = queue ? [{ queue: 'Support / Billing', ...queue }] : [];
    const r = outcomeRecipient({ enabled, address, queues }, { name: 'Support / Billing', id: 8469 });
    expect(r.to).toBe(expected);
    expect(r.because).toEqual(expect.any(String));
  });

  test('queues match by path (case and spaces aside) or by id; another queue does not match', () => {
    const queues: OutcomeEmailQueue[] = [
      { queue: 'Support / Billing', enabled: true, address: 'billing@example.com' },
      { queueId: '8469', enabled: true, address: 'devs@example.com' },
    ];
    const s = { enabled: true, address: 'all@example.com', queues };
    expect(outcomeRecipient(s, { name: ' support / billing ' }).to).toBe('billing@example.com');
    expect(outcomeRecipient(s, { name: 'Developers / Kim', id: 8469 }).to).toBe('devs@example.com');
    expect(outcomeRecipient(s, { name: 'Sales', id: 1 }).to).toBe('all@example.com');
    expect(outcomeRecipient({ ...s, enabled: false }, { name: 'Sales' }).to).toBeUndefined();
    expect(outcomeRecipient(s, {}).to).toBe('all@example.com');
  });
});

describe('sessionSucceeded', () => {
  const ok: StepStatus[] = [
    { name: 'account', operation: 'resolve_account', status: 'delivered' },
    { name: 'record', operation: 'resolve_record', status: 'delivered' },
  ];
  const base = { ended: true, agentAssigned: true };
  const table: Array<[string, Partial<typeof base> & { abandoned?: boolean }, StepStatus[], string]> = [
    ['ended, agent, all delivered', {}, ok, 'succeeded'],
    ['no writes at all', {}, [], 'succeeded'],
    ['not ended', { ended: false }, ok, 'not_ended'],
    ['no agent', { agentAssigned: false }, ok, 'abandoned'],
    ['said abandoned', { abandoned: true }, ok, 'abandoned'],
    ['a dead write', {}, [...ok, { name: 'e1:comment', operation: 'add_comment', status: 'dead' }], 'failed'],
    ['a cancelled write', {}, [...ok, { name: 'e1:update', operation: 'update_record', status: 'cancelled' }], 'failed'],
    ['a dead follow-up', {}, [...ok, { name: 'record:follow-up:update_record', operation: 'update_record', status: 'dead' }], 'failed'],
    ['a pending write', {}, [...ok, { name: 'e1:comment', operation: 'add_comment', status: 'pending' }], 'in_progress'],
    ['a running write', {}, [...ok, { name: 'e1:comment', operation: 'add_comment', status: 'running' }], 'in_progress'],
    ['an unknown outcome', {}, [{ ...ok[0], status: 'unknown_outcome' }, ok[1]], 'in_progress'],
    [
      'dead and pending: failed wins',
      {},
      [
        { ...ok[0], status: 'dead' },
        { ...ok[1], status: 'pending' },
      ],
      'failed',
    ],
    ['a dead record pop does not count', {}, [...ok, { name: 'record_pop', operation: 'record_pop', status: 'dead' }], 'succeeded'],
    ['the e-mail itself does not count', {}, [...ok, { name: 'outcome_email', operation: 'outcome_email', status: 'running' }], 'succeeded'],
    [
      'storage steps do not count',
      {},
      [...ok, { name: 'metadata_file', operation: 'metadata_file', status: 'dead' }, { name: 'x:store', operation: 'store_file', status: 'pending' }],
      'succeeded',
    ],
  ];
  test.each(table)('%s', (_label, state, steps, verdict) => {
    expect(sessionSucceeded({ ...base, ...state }, steps).verdict).toBe(verdict);
  });
});

describe('SMTP failures', () => {
  const table: Array<[string, Record<string, unknown>, boolean]> = [
    ['connection refused', { code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:2525' }, true],
    ['timeout', { code: 'ETIMEDOUT', message: 'Greeting never received' }, true],
    ['socket closed', { code: 'ESOCKET', message: 'socket hang up' }, true],
    ['TLS failed', { code: 'ETLS', message: 'certificate has expired' }, true],
    ['421 shutting down', { code: 'EENVELOPE', responseCode: 421, response: '421 Service not available', command: 'MAIL FROM' }, true],
    ['451 greylisted', { code: 'EMESSAGE', responseCode: 451, response: '451 4.7.1 Greylisted, try later', command: 'DATA' }, true],
    ['auth refused 535', { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication failed', command: 'AUTH PLAIN' }, true],
    ['550 no such mailbox', { code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 No such user', command: 'RCPT TO' }, false],
    ['552 too big', { code: 'EMESSAGE', responseCode: 552, response: '552 Message too large', command: 'DATA' }, false],
    ['554 rejected', { code: 'EMESSAGE', responseCode: 554, response: '554 Transaction failed', command: 'DATA' }, false],
    ['no recipients', { code: 'EENVELOPE', message: 'No recipients defined' }, false],
    ['anything else', { message: 'boom' }, true],
  ];
  test.each(table)('%s → retry %p', (_label, e, retry) => {
    const v = classifySmtpError(e);
    expect(v.retry).toBe(retry);
    expect(v.reason.length).toBeLessThan(320);
  });
});

describe('the message', () => {
  const state = {
    vars: {
      SESSION_ID: 's1',
      Call_ID: 103646,
      CHANNEL: 'voice_call',
      NAME: 'Kim Lee',
      PHONE_NUMBER: '+12223334444',
      AGENT_EMAIL: 'agent@example.com',
      AGENT_ID: 1,
      QUEUE_ID: 8469,
      QUEUE_NAME: 'Developers / Kim',
      START_TIME: '2026-01-01T10:00:00.000Z',
      END_TIME: '2026-01-01T10:05:00.000Z',
      DISPOSITION_CODE: 'resolved',
    } as Record<string, string | number | boolean>,
    events: [{ key: 'e1', type: 'New_Call', at: Date.parse('2026-01-01T10:00:00Z') }],
    agentAssigned: true,
    ended: true,
    outbound: false,
  };
  const view = {
    connector: 'zendesk',
    session_id: 's1',
    account_id: 7,
    record_id: 9,
    links: { account: 'https://crm/u/7', record: 'https://crm/t/9', lookup: null },
  };

  test('metadata: ids, times, agent, queue, customer, disposition, CRM ids and links; nothing empty', () => {
    const m = sessionMetadata(state, view);
    expect(m).toMatchObject({
      session_id: 's1',
      kind: 'call',
      id: '103646',
      connector: 'zendesk',
      call_id: 103646,
      started_at: '2026-01-01T10:00:00.000Z',
      ended_at: '2026-01-01T10:05:00.000Z',
      abandoned: false,
      agent: { id: 1, email: 'agent@example.com' },
      queue: { id: 8469, name: 'Developers / Kim' },
      customer: { name: 'Kim Lee', phone: '+12223334444' },
      disposition: { code: 'resolved' },
      crm: { account_id: 7, record_id: 9, account_url: 'https://crm/u/7', record_url: 'https://crm/t/9' },
      events: [{ type: 'New_Call', at: '2026-01-01T10:00:00.000Z' }],
    });
    expect(JSON.stringify(m)).not.toMatch(/null|""/);
    expect(sessionMetadata({ ...state, vars: { Chat_ID: 55 } }, view)).toMatchObject({ kind: 'chat', id: '55' });
  });

  test('subject, JSON body, transcript attachment, Message-ID from the session', () => {
    const transcript = { name: 't.txt', data: Buffer.from('Agent: hello\nKim: hi\n'), bytes: 21 };
    const m = buildOutcomeMessage({
      connectorId: 'zendesk',
      sessionId: 's1',
      from: 'Gateway <no-reply@mail.example.com>',
      to: 'crm@example.com',
      subjectTemplate: DEFAULT_OUTCOME_SUBJECT,
      vars: state.vars,
      metadata: sessionMetadata(state, view),
      transcript,
    });
    expect(m.subject).toBe('Call 103646 with Kim Lee — completed');
    expect(JSON.parse(m.text)).toMatchObject({ session_id: 's1', transcript: { attachment: 'call-103646.txt', bytes: transcript.data.length } });
    expect(m.attachments).toEqual([{ filename: 'call-103646.txt', content: transcript.data, contentType: 'text/plain; charset=utf-8' }]);
    expect(m.messageId).toBe(outcomeMessageId('zendesk', 's1', 'x@mail.example.com'));
    expect(m.messageId).toMatch(/^<session-outcome\.[0-9a-f]{32}@mail\.example\.com>$/);
    expect(outcomeMessageId('zendesk', 's2', 'x@mail.example.com')).not.toBe(m.messageId);
    expect(outcomeMessageId('hubspot', 's1', 'x@mail.example.com')).not.toBe(m.messageId);
  });

  test('a transcript over the limit is left out and the body says so; a subject cannot break lines', () => {
    const big = { name: 't.txt', data: Buffer.alloc(MAX_TRANSCRIPT_BYTES + 1, 'a'), bytes: MAX_TRANSCRIPT_BYTES + 1 };
    const m = buildOutcomeMessage({
      connectorId: 'c',
      sessionId: 's1',
      from: 'a@b.c',
      to: 'd@e.f',
      subjectTemplate: '{{NAME}}',
      vars: { NAME: 'Kim\r\nBcc: x@evil.example' },
      metadata: sessionMetadata(state, view),
      transcript: big,
    });
    expect(m.attachments).toEqual([]);
    expect(JSON.parse(m.text).transcript.omitted).toMatch(/over the/);
    expect(m.subject).toBe('Kim Bcc: x@evil.example');
    // Kept without its bytes (too large when it came): the body says so too.
    const kept = buildOutcomeMessage({
      connectorId: 'c',
      sessionId: 's1',
      from: 'a@b.c',
      to: 'd@e.f',
      subjectTemplate: 'x',
      vars: {},
      metadata: sessionMetadata(state, view),
      transcript: { name: 't.txt', bytes: 5_000_000 },
    });
    expect(kept.attachments).toEqual([]);
    expect(JSON.parse(kept.text).transcript.omitted).toMatch(/5000000 bytes, over the/);
  });

  test('address lists', () => {
    for (const ok of ['', 'a@b.c', 'A B <a@b.c>', 'a@b.c, d@e.f']) expect(validAddressList(ok)).toBe(true);
    for (const bad of ['nobody', 'a@b.c d@e.f', 'a@b.c,,']) expect(validAddressList(bad)).toBe(false);
  });
});

describe('session kind and number (the metadata file names use them)', () => {
  const table: Array<[Record<string, string | number>, 'call' | 'chat', string]> = [
    [{ Call_ID: 103646, CHANNEL: 'voice_call' }, 'call', '103646'],
    [{ Chat_ID: 2001 }, 'chat', '2001'],
    [{ CHANNEL: 'chat', SESSION_ID: 's9' }, 'chat', 's9'],
    [{ CHANNEL: 'SMS inbound' }, 'chat', 'fallback'],
    [{ CHANNEL: 'WhatsApp', Chat_ID: '77' }, 'chat', '77'],
    [{}, 'call', 'fallback'],
  ];
  test.each(table)('%p → %s %s', (vars, kind, id) => {
    expect(sessionKind(vars)).toBe(kind);
    expect(sessionNumber(vars, 'fallback')).toBe(id);
  });
});
