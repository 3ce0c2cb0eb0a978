/**
 * Session outcome e-mail end to end: whole sessions driven through the events API against the
 * Zendesk-like sample CRM, e-mails sent to a real SMTP server (smtp-server, STARTTLS with a
 * throwaway certificate, login) and parsed as received: headers, JSON body, attachment bytes.
 * Abandoned and failed sessions send nothing; an SMTP server that is down for a while gets the
 * e-mail later, once; a permanent refusal kills the step with the server's answer (and a replay
 * sends it); an e-mail due while the session's writes are still retried waits for them; a
 * transcript served by URL is downloaded and attached; neither the SMTP password nor the
 * transcript appears in logs or views. Views and deliveries are checked against openapi.yaml.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { freePort, selfSignedCert, startSmtp, type TestSmtp } from './smtp';
import { ResponseValidator, createOpenApiAjv, documentedResponse, formatAjvErrors, loadOpenApi } from '../helpers/openapi';

const doc = loadOpenApi();
const validator = new ResponseValidator(doc, createOpenApiAjv(doc));
/** The answer is what openapi.yaml documents for it. */
function documented(apiPath: string, body: unknown): void {
  const r = validator.validate(documentedResponse(doc, apiPath, 'GET', 200)!, 'application/json', body);
  expect({ apiPath, documented: r.documented, errors: formatAjvErrors(r.errors) }).toEqual({ apiPath, documented: true, errors: '' });
}

jest.setTimeout(60_000);

const SMTP_USER = 'gateway-mailer';
const SMTP_PASSWORD = 'smtp-pass-4f9e2b7c';
const TRANSCRIPT = 'Agent: Bonjour, how can I help?\nKim: My invoice is wrong — 3 × €20.\n';
let h: Harness;
let smtp: TestSmtp;
let downPort: number;
let late: TestSmtp | undefined;
const cert = selfSignedCert();

/** The bundled Zendesk connector with an outcome_email block (and fast retries for the test). */
function connector(id: string, port: number, extra = ''): string {
  return `${bundled('zendesk.yaml').replace(/^id: zendesk$/m, `id: ${id}`)}
retry: { initial_delay_seconds: 0.2, max_delay_seconds: 0.4 }
outcome_email:
  enabled: true
  address: crm-inbox@example.com
  delay_minutes: 0.005
  queues:
    - { queue: "Billing", enabled: true, address: billing@example.com }
    - { queue_id: 999, enabled: false, address: ignored@example.com }
    - { queue: "Quiet", enabled: true, address: "" }
${extra}  smtp:
    host: 127.0.0.1
    port: ${port}
    user: \${env:SMTP_USER}
    password: \${env:SMTP_PASSWORD}
    from: "Contact center <no-reply@cc.example.com>"
    ca: \${env:SMTP_CA}
    servername: localhost
`;
}

beforeAll(async () => {
  smtp = await startSmtp({ ...cert, user: SMTP_USER, password: SMTP_PASSWORD });
  downPort = await freePort();
  h = await startHarness({
    connectors: { 'zendesk.yaml': connector('zendesk', smtp.port), 'down.yaml': connector('zdown', downPort) },
    env: { SMTP_USER, SMTP_PASSWORD, SMTP_CA: cert.cert },
  });
});
afterAll(async () => {
  await h.close();
  await smtp.close();
  await late?.close();
});

const post = async (connector: string, sessionId: string, body: unknown) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connector}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return res.json();
};

/** Waits until the session's outcome_email step is final; returns the view and that delivery. */
async function emailStep(connector: string, sessionId: string, ms = 20_000): Promise<{ view: any; delivery: any }> {
  const end = Date.now() + ms;
  for (;;) {
    const view = (await h.get(`/v1/connectors/${connector}/sessions/${sessionId}`)).body;
    const step = view.steps?.find((s: { name: string }) => s.name === 'outcome_email');
    if (step && ['delivered', 'dead', 'cancelled'].includes(step.status)) {
      const delivery = (await h.get(`/v1/deliveries/${step.delivery_id}?history=true`)).body;
      documented('/v1/connectors/{id}/sessions/{sessionId}', view);
      documented('/v1/deliveries/{id}', delivery);
      return { view, delivery };
    }
    if (Date.now() > end) throw new Error(`no final outcome_email step: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mailsFor = (server: TestSmtp, sessionMarker: string) => server.received.filter((m) => m.parsed.text?.includes(sessionMarker));

test('a completed call: one e-mail to the global address, with subject, Message-ID and the metadata as JSON', async () => {
  const S = 'mail-call-1';
  await post('zendesk', S, {
    type: 'New_Call',
    event_id: `${S}-1`,
    data: {
      call_id: 103646,
      agent_id: 1,
      agent_email: 'agent@example.com',
      queue_id: 8469,
      queue_path: 'Developers / Kim',
      end_user: { name: 'Kim Lee', phone: '+1 222 333 7501' },
    },
  });
  await post('zendesk', S, { type: 'Disposition_Set', event_id: `${S}-2`, data: { call_id: 103646, code: 'resolved', notes: 'refund issued' } });
  await post('zendesk', S, { type: 'End_Call', event_id: `${S}-3`, data: { call_id: 103646, call_duration: 125 } });
  const { view, delivery } = await emailStep('zendesk', S);
  expect(delivery).toMatchObject({ operation: 'outcome_email', status: 'delivered', result: { outcome: 'sent', to: 'crm-inbox@example.com' } });

  const mails = mailsFor(smtp, `"session_id": "${S}"`);
  expect(mails).toHaveLength(1);
  const m = mails[0];
  expect(m.secure).toBe(true); // STARTTLS
  expect(m.user).toBe(SMTP_USER);
  expect(m.rcptTo).toEqual(['crm-inbox@example.com']);
  expect(m.parsed.from?.value).toEqual([{ address: 'no-reply@cc.example.com', name: 'Contact center' }]);
  expect((m.parsed.to as { text: string }).text).toBe('crm-inbox@example.com');
  expect(m.parsed.subject).toBe('Call 103646 with Kim Lee — completed');
  expect(m.parsed.messageId).toMatch(/^<session-outcome\.[0-9a-f]{32}@cc\.example\.com>$/);
  expect(m.parsed.messageId).toBe(delivery.result.message_id);
  expect(m.parsed.attachments).toEqual([]);
  const body = JSON.parse(m.parsed.text!);
  expect(body).toMatchObject({
    session_id: S,
    kind: 'call',
    id: '103646',
    connector: 'zendesk',
    call_id: 103646,
    agent: { id: 1, email: 'agent@example.com' },
    queue: { id: 8469, name: 'Developers / Kim' },
    customer: { name: 'Kim Lee', phone: '+1 222 333 7501' },
    disposition: { code: 'resolved', notes: 'refund issued' },
    crm: { account_id: view.account_id, record_id: view.record_id, record_url: `${h.crm.url}/agent/tickets/${view.record_id}` },
  });
  expect(body.ended_at).toEqual(expect.any(String));
  expect(body.events.map((e: { type: string }) => e.type)).toEqual(['New_Call', 'Disposition_Set', 'End_Call']);
  expect(view.steps.find((s: { name: string }) => s.name === 'outcome_email')).toMatchObject({ operation: 'outcome_email', status: 'delivered' });

  // A late event of the same session plans no second e-mail.
  await post('zendesk', S, { type: 'CSAT_Submitted', event_id: `${S}-4`, data: { call_id: 103646, rating: 5 } });
  await new Promise((r) => setTimeout(r, 800));
  expect(mailsFor(smtp, `"session_id": "${S}"`)).toHaveLength(1);
});

test('a completed chat in a queue of its own: the queue address, the transcript attached byte for byte', async () => {
  const S = 'mail-chat-1';
  await post('zendesk', S, {
    type: 'New_Chat',
    event_id: `${S}-1`,
    data: { chat_id: 2001, queue_path: 'Billing', end_user: { name: 'Kim Lee', email: 'kim@example.com' } },
  });
  await post('zendesk', S, { type: 'Active_Chat', event_id: `${S}-2`, data: { chat_id: 2001, agent_id: 2, agent_email: 'ariel@example.com' } });
  await post('zendesk', S, { type: 'End_Chat', event_id: `${S}-3`, data: { chat_id: 2001 } });
  // The transcript arrives after the end, within the delay.
  await post('zendesk', S, {
    type: 'File_Available',
    event_id: `${S}-4`,
    data: {
      chat_id: 2001,
      kind: 'chat_transcript',
      file_name: 'transcript-2001.txt',
      content_type: 'text/plain',
      content_base64: Buffer.from(TRANSCRIPT).toString('base64'),
    },
  });
  const { delivery } = await emailStep('zendesk', S);
  expect(delivery.result).toMatchObject({
    outcome: 'sent',
    to: 'billing@example.com',
    attachment: { name: 'chat-2001.txt', bytes: Buffer.byteLength(TRANSCRIPT) },
  });
  const mails = mailsFor(smtp, `"session_id": "${S}"`);
  expect(mails).toHaveLength(1);
  const m = mails[0];
  expect(m.rcptTo).toEqual(['billing@example.com']);
  expect(m.parsed.subject).toBe('Chat 2001 with Kim Lee — completed');
  expect(m.parsed.attachments).toHaveLength(1);
  expect(m.parsed.attachments[0].filename).toBe('chat-2001.txt');
  expect(m.parsed.attachments[0].contentType).toBe('text/plain');
  expect(Buffer.compare(m.parsed.attachments[0].content, Buffer.from(TRANSCRIPT))).toBe(0);
  expect(JSON.parse(m.parsed.text!)).toMatchObject({
    kind: 'chat',
    id: '2001',
    chat_id: 2001,
    queue: { name: 'Billing' },
    transcript: { attachment: 'chat-2001.txt' },
  });

  // Neither the SMTP password nor the transcript is in the logs, the views or the connector detail.
  const shown = [
    JSON.stringify((await h.get(`/v1/connectors/zendesk/sessions/${S}`)).body),
    JSON.stringify(delivery),
    JSON.stringify((await h.get('/v1/connectors/zendesk')).body),
    h.logs.join('\n'),
  ];
  for (const text of shown) {
    expect(text).not.toContain(SMTP_PASSWORD);
    expect(text).not.toContain('My invoice is wrong');
    expect(text).not.toContain(Buffer.from(TRANSCRIPT).toString('base64'));
  }
});

test('an abandoned session, a failed session and a queue with an empty address send nothing', async () => {
  const before = smtp.received.length;
  // Abandoned: the caller hung up before any agent.
  await post('zendesk', 'mail-abandoned', {
    type: 'Session_Started',
    event_id: 'ab-1',
    data: { call_id: 7001, queue_path: 'Billing', end_user: { phone: '+1 222 333 7502' } },
  });
  await post('zendesk', 'mail-abandoned', { type: 'End_Call', event_id: 'ab-2', data: { call_id: 7001 } });
  const abandoned = await emailStep('zendesk', 'mail-abandoned');
  expect(abandoned.delivery.result).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/abandoned \(no agent/) });

  // Failed: the CRM refuses the ticket for good, so the record step is dead.
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', status: 422, body: { error: 'RecordInvalid' }, always: true });
  await post('zendesk', 'mail-failed', {
    type: 'New_Call',
    event_id: 'fa-1',
    data: { call_id: 7002, agent_id: 1, queue_path: 'Billing', end_user: { phone: '+1 222 333 7503' } },
  });
  await post('zendesk', 'mail-failed', { type: 'End_Call', event_id: 'fa-2', data: { call_id: 7002 } });
  const failed = await emailStep('zendesk', 'mail-failed');
  h.crm.crm.clearFaults();
  expect(failed.delivery.result).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/failed: record is dead/) });

  // A queue switched on with an empty address: no step at all.
  await post('zendesk', 'mail-quiet', {
    type: 'New_Call',
    event_id: 'qu-1',
    data: { call_id: 7003, agent_id: 1, queue_path: 'Quiet', end_user: { phone: '+1 222 333 7504' } },
  });
  await post('zendesk', 'mail-quiet', { type: 'End_Call', event_id: 'qu-2', data: { call_id: 7003 } });
  await new Promise((r) => setTimeout(r, 800));
  const quiet = (await h.get('/v1/connectors/zendesk/sessions/mail-quiet')).body;
  expect(quiet.steps.map((s: { name: string }) => s.name)).not.toContain('outcome_email');
  expect(smtp.received.length).toBe(before);
});

test('SMTP down for a while (refused, then 421): delivered later, exactly once', async () => {
  const S = 'mail-down-1';
  await post('zdown', S, {
    type: 'New_Call',
    event_id: `${S}-1`,
    data: { call_id: 8001, agent_id: 1, queue_path: 'Sales', end_user: { name: 'Ana Ruiz', phone: '+1 222 333 7505' } },
  });
  await post('zdown', S, { type: 'End_Call', event_id: `${S}-2`, data: { call_id: 8001 } });
  // Nothing listens on the port: the step is retried (connection refused).
  const end = Date.now() + 15_000;
  let d: any;
  for (;;) {
    const view = (await h.get(`/v1/connectors/zdown/sessions/${S}`)).body;
    const step = view.steps.find((s: { name: string }) => s.name === 'outcome_email');
    d = step ? (await h.get(`/v1/deliveries/${step.delivery_id}`)).body : undefined;
    if ((d?.attempts ?? 0) >= 2 || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(['pending', 'running']).toContain(d.status);
  expect(d).toMatchObject({ last_error: { code: 'outcome_email_failed', message: expect.stringMatching(/could not be reached/) } });
  // The server comes up, refusing the first two connections with 421, then accepting.
  late = await startSmtp({ ...cert, user: SMTP_USER, password: SMTP_PASSWORD, port: downPort });
  late.refuse = 2;
  const { delivery } = await emailStep('zdown', S);
  expect(delivery).toMatchObject({ status: 'delivered', result: { outcome: 'sent' } });
  expect(delivery.attempts).toBeGreaterThanOrEqual(5);
  expect(JSON.stringify(delivery.history)).toMatch(/421/);
  await new Promise((r) => setTimeout(r, 800));
  expect(late.received).toHaveLength(1);
  expect(late.received[0].parsed.subject).toBe('Call 8001 with Ana Ruiz — completed');
});

test("a permanent refusal (550) kills the step with the server's answer; the session is untouched", async () => {
  smtp.rejectDomain = 'example.com';
  try {
    const S = 'mail-550';
    await post('zendesk', S, {
      type: 'New_Call',
      event_id: `${S}-1`,
      data: { call_id: 9001, agent_id: 1, queue_path: 'Sales', end_user: { phone: '+1 222 333 7506' } },
    });
    await post('zendesk', S, { type: 'End_Call', event_id: `${S}-2`, data: { call_id: 9001 } });
    const { view, delivery } = await emailStep('zendesk', S);
    expect(delivery).toMatchObject({
      status: 'dead',
      attempts: 1,
      last_error: { code: 'outcome_email_rejected', message: expect.stringMatching(/refused the e-mail for good: 550 .*No such user/) },
    });
    expect(view.steps.filter((s: { name: string }) => s.name !== 'outcome_email').every((s: { status: string }) => s.status === 'delivered')).toBe(true);
    expect(mailsFor(smtp, `"session_id": "${S}"`)).toHaveLength(0);
    // Listed among the dead deliveries; once the mailbox exists, a replay sends it, once.
    const dead = (await h.get('/v1/deliveries?status=dead&connector=zendesk')).body;
    expect(JSON.stringify(dead)).toContain(delivery.id);
    smtp.rejectDomain = undefined;
    const replay = await fetch(`${h.gw.url}/v1/deliveries/${delivery.id}/retry`, { method: 'POST' });
    expect(replay.status).toBe(200);
    const again = await emailStep('zendesk', S);
    expect(again.delivery).toMatchObject({ status: 'delivered', result: { outcome: 'sent' } });
    expect(mailsFor(smtp, `"session_id": "${S}"`)).toHaveLength(1);
  } finally {
    smtp.rejectDomain = undefined;
  }
});

test('writes still being retried when the e-mail is due: it waits for them, then goes out once with the record', async () => {
  const S = 'mail-wait-1';
  // The ticket is refused with a retryable 400 a few times: the record step is pending past the e-mail's delay.
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', status: 400, body: { error: 'busy' }, times: 4 });
  await post('zendesk', S, {
    type: 'New_Call',
    event_id: `${S}-1`,
    data: { call_id: 9101, agent_id: 1, queue_path: 'Sales', end_user: { name: 'Lee Park', phone: '+1 222 333 7507' } },
  });
  await post('zendesk', S, { type: 'End_Call', event_id: `${S}-2`, data: { call_id: 9101 } });
  const { view, delivery } = await emailStep('zendesk', S);
  expect(delivery).toMatchObject({ status: 'delivered', result: { outcome: 'sent' } });
  expect(JSON.stringify(delivery.history)).toMatch(/waiting for the session's CRM writes: record is (pending|running)/);
  const mails = mailsFor(smtp, `"session_id": "${S}"`);
  expect(mails).toHaveLength(1);
  expect(JSON.parse(mails[0].parsed.text!).crm).toMatchObject({ record_id: view.record_id });
});

test('a transcript the platform serves by URL (with a credential header): downloaded, attached byte for byte, the header never shown', async () => {
  const http = await import('node:http');
  const bytes = Buffer.concat([Buffer.from('Agent: hi\n'), Buffer.from([0xc3, 0xa9, 0x0a]), Buffer.from('Kim: bye\r\n')]);
  const seen: Array<string | undefined> = [];
  const files = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(req.headers.authorization === 'Bearer file-token-5d1e' ? 200 : 401, { 'content-type': 'text/plain' }).end(bytes);
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(files.address() as { port: number }).port}/transcripts/3001.txt`;
    const S = 'mail-chat-url';
    await post('zendesk', S, {
      type: 'New_Chat',
      event_id: `${S}-1`,
      data: { chat_id: 3001, agent_id: 3, queue_path: 'Sales', end_user: { name: 'Noa Ito', email: 'noa@example.com' } },
    });
    await post('zendesk', S, { type: 'End_Chat', event_id: `${S}-2`, data: { chat_id: 3001 } });
    await post('zendesk', S, {
      type: 'File_Available',
      event_id: `${S}-3`,
      data: {
        chat_id: 3001,
        kind: 'chat_transcript',
        file_name: 'chat-3001.txt',
        content_type: 'text/plain',
        url,
        headers: { Authorization: 'Bearer file-token-5d1e' },
      },
    });
    const { view, delivery } = await emailStep('zendesk', S);
    expect(seen).toEqual(['Bearer file-token-5d1e']);
    expect(delivery.result).toMatchObject({ outcome: 'sent', attachment: { name: 'chat-3001.txt', bytes: bytes.length } });
    const mails = mailsFor(smtp, `"session_id": "${S}"`);
    expect(mails).toHaveLength(1);
    expect(Buffer.compare(mails[0].parsed.attachments[0].content, bytes)).toBe(0);
    for (const text of [JSON.stringify(view), JSON.stringify(delivery), h.logs.join('\n')]) expect(text).not.toContain('file-token-5d1e');
  } finally {
    await new Promise((r) => files.close(r));
  }
});
