/**
 * External storage and the session metadata file after whole sessions driven through the
 * events API against the Zendesk-like sample CRM, with a real SFTP server (in-process ssh2,
 * loopback, throwaway keys): files, folders, names and bytes on the server; the metadata
 * file's JSON, on the server and on the ticket; a server down for a while (delivered later,
 * once, no temporary file left); a wrong host key refused; ids that would leave their folder
 * refused; secrets never shown.
 */
import pino from 'pino';
import { createStepRunner } from '../../src/flows/steps';
import { FileStores } from '../../src/storage/registry';
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { startSftpServer, type TestSftpServer } from './sftp-server';

let srv: TestSftpServer;
let h: Harness;
const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');

function connector(id: string, storage: string, metadata = 'metadata_file: { delay_minutes: 0.01 }'): string {
  return `${bundled('zendesk.yaml').replace(/^id: zendesk$/m, `id: ${id}`)}\nstorage:\n${indent(storage)}\n${metadata}\n`;
}

beforeAll(async () => {
  srv = await startSftpServer();
  const common = `type: sftp\nhost: 127.0.0.1\nport: ${srv.port}\nuser: ${srv.user}\ntimeout_seconds: 3\n`;
  h = await startHarness({
    connectors: {
      // Password login, pinned key, a base folder, every kind; the metadata file also goes onto the ticket.
      'zendesk.yaml': connector('zendesk', `${common}password: \${env:SFTP_PASSWORD}\nhost_key_sha256: "${srv.fingerprint}"\nfolder: /exports/ujet`),
      // Key + passphrase login; only transcripts, photos and the metadata file; the metadata file not sent to the CRM.
      'keyed.yaml': connector(
        'keyed',
        `${common}private_key: \${env:SFTP_KEY}\npassphrase: \${env:SFTP_KEY_PASSPHRASE}\nhost_key_sha256: "${srv.fingerprint}"\nfolder: keyed\nkinds: [chat_transcript, photo, session_metadata]`,
        'metadata_file: { delay_minutes: 0.01, send_to_crm: false }',
      ),
      // The CRM gets links, not bytes; the links go to the stored copies (published by a web server at public_url).
      'linked.yaml': connector(
        'linked',
        `${common}password: \${env:SFTP_PASSWORD}\nhost_key_sha256: "${srv.fingerprint}"\nfolder: linked\nlink_in_crm: true\npublic_url: https://files.example.com/ujet/`,
        '',
      ).replace('  send_files_to_crm: true', '  send_files_to_crm: false'),
      // A pin that is not the server's key.
      'wrongkey.yaml': connector('wrongkey', `${common}password: \${env:SFTP_PASSWORD}\nhost_key_sha256: "SHA256:${'B'.repeat(43)}"\nfolder: wrongkey`),
    },
    env: { SFTP_PASSWORD: srv.password, SFTP_KEY: srv.clientKey.privateKey, SFTP_KEY_PASSPHRASE: srv.clientKey.passphrase },
  });
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

const post = async (connectorId: string, sessionId: string, body: unknown) => {
  const res = await fetch(`${h.gw.url}/v1/connectors/${connectorId}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** The session once every step is final (the metadata file and its follow-ups included). */
async function settled(connectorId: string, sessionId: string, until: (v: any) => boolean = () => true, ms = 20_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connectorId}/sessions/${sessionId}`)).body;
    const final = v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status));
    // Follow-ups of follow-ups (the comment after an upload) are not in the view: the queue tells.
    const queue = await h.gw.store.counts();
    if ((final && until(v) && queue.running === 0 && (await dueNow()) === 0) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
/** The session view once `until` holds, whatever else is pending. */
async function viewWhen(connectorId: string, sessionId: string, until: (v: any) => boolean, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connectorId}/sessions/${sessionId}`)).body;
    if (until(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deliveries due now (pending ones waiting for a retry later do not count). */
async function dueNow(): Promise<number> {
  const pending = (await h.get('/v1/deliveries?status=pending&limit=100')).body;
  const items: Array<{ next_attempt_at?: string }> = pending.deliveries;
  return items.filter((d) => !d.next_attempt_at || Date.parse(d.next_attempt_at) <= Date.now()).length;
}
const hasStep = (name: string) => (v: any) => v.steps.some((s: { name: string }) => s.name === name);
const under = (prefix: string) =>
  srv
    .files()
    .filter((f) => f.startsWith(prefix))
    .map((f) => f.slice(prefix.length))
    .filter(Boolean);
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

describe('a whole call, password login', () => {
  const S = 'sess-call-2001';
  const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(70_000, 3)]);
  const photo = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
  const video = Buffer.from('....ftypmp42 video');
  let view: any;

  beforeAll(async () => {
    const events = [
      {
        type: 'Session_Started',
        event_id: 'e1',
        data: {
          call_id: 2001,
          session_type: 'IVR_Call',
          channel: 'voice_call',
          queue_name: 'Billing',
          end_user: { name: 'Ada Caller', phone: '+1 (222) 333-7201', email: 'ada2001@example.com' },
        },
      },
      { type: 'New_Call', event_id: 'e2', data: { agent_id: 7, agent_email: 'kim@example.com', call_id: 2001 } },
      {
        type: 'File_Available',
        event_id: 'e3',
        data: { kind: 'photo', media_id: 'p-1', file_name: 'shot.jpg', content_type: 'image/jpeg', content_base64: b64(photo) },
      },
      { type: 'End_Call', event_id: 'e4', data: { call_id: 2001, call_duration: 61, disconnected_by: 'agent' } },
      { type: 'File_Available', event_id: 'e5', data: { kind: 'call_recording', file_name: 'rec.wav', content_type: 'audio/wav', content_base64: b64(wav) } },
      {
        type: 'File_Available',
        event_id: 'e6',
        data: { kind: 'video', media_id: 'v-9', file_name: 'clip.mp4', content_type: 'video/mp4', content_base64: b64(video) },
      },
    ];
    for (const e of events) expect((await post('zendesk', S, e)).status).toBe(202);
    view = await settled('zendesk', S, hasStep('metadata_file:follow-up:upload_file'));
  });

  test('every step delivered: the CRM writes, one store_file per file, the metadata file and its two deliveries', () => {
    expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    const names = view.steps.map((s: { name: string }) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'e3:store',
        'e5:store',
        'e6:store',
        'metadata_file',
        'metadata_file:follow-up:store_file',
        'metadata_file:follow-up:upload_file',
      ]),
    );
    expect(view.steps.filter((s: { operation: string }) => s.operation === 'store_file')).toHaveLength(4);
    expect(view.warnings).toEqual([]);
  });

  test("the platform's folders and names, the bytes as sent, no temporary file", () => {
    expect(under('exports/ujet/')).toEqual([
      'ujet-media/',
      'ujet-media/call-2001-photo-p-1.jpg',
      'ujet-media/call-2001-video-v-9.mp4',
      'ujet-metadata/',
      'ujet-metadata/call-2001.json',
      'ujet-voice-recordings/',
      'ujet-voice-recordings/call-2001.wav',
    ]);
    expect(srv.read('exports/ujet/ujet-voice-recordings/call-2001.wav').equals(wav)).toBe(true);
    expect(srv.read('exports/ujet/ujet-media/call-2001-photo-p-1.jpg').equals(photo)).toBe(true);
    expect(srv.read('exports/ujet/ujet-media/call-2001-video-v-9.mp4').equals(video)).toBe(true);
  });

  test("the metadata file: the session's data as JSON, the same on the server and on the ticket", () => {
    const text = srv.read('exports/ujet/ujet-metadata/call-2001.json');
    const json = JSON.parse(text.toString());
    expect(json).toMatchObject({
      session_id: S,
      connector: 'zendesk',
      kind: 'call',
      id: '2001',
      call_id: 2001,
      session_type: 'IVR_Call',
      ended: true,
      agent_assigned: true,
      crm: { account_id: view.account_id, record_id: view.record_id, record_url: `${h.crm.url}/agent/tickets/${view.record_id}` },
      agent: { id: 7, email: 'kim@example.com' },
      queue: { name: 'Billing' },
      customer: { name: 'Ada Caller', email: 'ada2001@example.com' },
      disconnected_by: 'agent',
    });
    expect(json.events.map((e: { type: string }) => e.type)).toEqual([
      'Session_Started',
      'New_Call',
      'File_Available',
      'End_Call',
      'File_Available',
      'File_Available',
    ]);
    expect(json.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(json.ended_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const att = h.crm.crm.state.attachments.find((a) => a.file_name === 'call-2001.json')!;
    expect(att.content.equals(text)).toBe(true);
    expect(att.content_type).toBe('application/json');
    const comments = h.crm.crm.state.comments.filter((c) => c.ticket_id === view.record_id).map((c) => c.body);
    expect(comments.filter((c) => /^session_metadata call-2001\.json: http/.test(c))).toHaveLength(1);
  });

  test('the same file again (a duplicate event, or the platform sending it twice): still one file, replaced', async () => {
    expect(
      (
        await post('zendesk', S, {
          type: 'File_Available',
          event_id: 'e5',
          data: { kind: 'call_recording', file_name: 'rec.wav', content_type: 'audio/wav', content_base64: b64(wav) },
        })
      ).body.duplicate,
    ).toBe(true);
    const wav2 = Buffer.concat([wav, Buffer.from('more')]);
    expect(
      (
        await post('zendesk', S, {
          type: 'File_Available',
          event_id: 'e7',
          data: { kind: 'call_recording', file_name: 'rec.wav', content_type: 'audio/wav', content_base64: b64(wav2) },
        })
      ).status,
    ).toBe(202);
    await settled('zendesk', S, hasStep('e7:store'));
    expect(under('exports/ujet/ujet-voice-recordings/')).toEqual(['call-2001.wav']);
    expect(srv.read('exports/ujet/ujet-voice-recordings/call-2001.wav').equals(wav2)).toBe(true);
    // The metadata file is made once per session, however many events follow the end.
    expect((await settled('zendesk', S)).steps.filter((s: { name: string }) => s.name === 'metadata_file')).toHaveLength(1);
  });

  test('the metadata step run again (a crash after it handed the file on): the same two deliveries, nothing sent twice', async () => {
    const step = view.steps.find((s: { name: string }) => s.name === 'metadata_file');
    const d = (await h.gw.store.get(step.delivery_id))!;
    // The session moved on meanwhile: the rendering differs, the first one stands.
    expect((await post('zendesk', S, { type: 'Note_Added', event_id: 'e9', data: { call_id: 2001, note: 'later' } })).status).toBe(202);
    await settled('zendesk', S);
    const fileStores = new FileStores();
    const run = createStepRunner(h.gw.store, { stores: fileStores, deliveries: h.gw.deliveries, view: (c, s) => h.gw.flows.view(c, s) });
    const again = await run(
      { ...d, status: 'running' },
      h.gw.gateway.runtime('zendesk'),
      {},
      {
        logger: pino({ level: 'silent' }),
        requestId: d.id,
        now: Date.now,
        policy: d.policy,
        attempt: { attempt: 2, elapsedMs: 0 },
      },
    );
    await fileStores.close();
    expect(again.result.follow_ups).toEqual(d.result!.follow_ups);
    expect(again.result.follow_ups).toHaveLength(2);
    await settled('zendesk', S);
    expect(h.crm.crm.state.attachments.filter((a) => a.file_name === 'call-2001.json')).toHaveLength(1);
    expect(JSON.parse(srv.read('exports/ujet/ujet-metadata/call-2001.json').toString()).events).toHaveLength(6);
  });

  test('secrets: the connector view and the logs show neither the password nor the key', async () => {
    const source = JSON.stringify((await h.get('/v1/connectors/zendesk')).body) + JSON.stringify((await h.get('/v1/connectors/keyed')).body);
    expect(source).not.toContain(srv.password);
    expect(source).not.toContain(srv.clientKey.passphrase);
    const logs = h.logs.join('');
    for (const secret of [srv.password, srv.clientKey.passphrase, srv.clientKey.privateKey.split('\n')[1]]) expect(logs).not.toContain(secret);
  });
});

test('a chat, key login with a passphrase: transcript, photo and metadata under the chat id; kinds left out are not stored', async () => {
  const S = 'sess-chat-88';
  const transcript = 'Agent: hello\nCustomer: héllo ✓\n';
  for (const e of [
    { type: 'New_Chat', event_id: 'c1', data: { chat_id: 'c-88', end_user: { name: 'Bo Chat', email: 'bo88@example.com' } } },
    { type: 'Active_Chat', event_id: 'c2', data: { chat_id: 'c-88', agent_id: 3 } },
    { type: 'File_Available', event_id: 'c3', data: { kind: 'photo', media_id: '501', content_type: 'image/jpeg', content_base64: b64('jpg-bytes') } },
    { type: 'End_Chat', event_id: 'c4', data: { chat_id: 'c-88' } },
    {
      type: 'File_Available',
      event_id: 'c5',
      data: { kind: 'chat_transcript', file_name: 't.txt', content_type: 'text/plain', content_base64: b64(transcript) },
    },
    {
      type: 'File_Available',
      event_id: 'c6',
      data: { kind: 'call_recording', file_name: 'x.mp3', content_type: 'audio/mpeg', content_base64: b64('not for storage') },
    },
  ])
    expect((await post('keyed', S, e)).status).toBe(202);
  const view = await settled('keyed', S, hasStep('metadata_file:follow-up:store_file'));
  expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  expect(view.steps.map((s: { name: string }) => s.name)).not.toContain('c6:store');
  expect(view.steps.map((s: { name: string }) => s.name)).not.toContain('metadata_file:follow-up:upload_file');
  expect(under('keyed/')).toEqual([
    'ujet-chat-transcripts/',
    'ujet-chat-transcripts/chat-c-88.txt',
    'ujet-media/',
    'ujet-media/chat-c-88-photo-501.jpg',
    'ujet-metadata/',
    'ujet-metadata/chat-c-88.json',
  ]);
  expect(srv.read('keyed/ujet-chat-transcripts/chat-c-88.txt').toString()).toBe(transcript);
  expect(JSON.parse(srv.read('keyed/ujet-metadata/chat-c-88.json').toString())).toMatchObject({ session_id: S, kind: 'chat', chat_id: 'c-88' });
  expect(srv.logins).toContain('publickey');
  // send_to_crm: false — the ticket has no metadata file.
  expect(h.crm.crm.state.attachments.some((a) => a.file_name === 'chat-c-88.json')).toBe(false);
});

test('the server down for a while: the copy waits and is delivered once it is back; one file, no temporary left', async () => {
  const S = 'sess-outage-3001';
  await srv.stop();
  try {
    const audio = Buffer.from('ID3 outage recording');
    expect(
      (
        await post('zendesk', S, {
          type: 'Session_Started',
          event_id: 'o0',
          data: { call_id: 3001, end_user: { name: 'Vi Mail', email: 'vi3001@example.com' } },
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await post('zendesk', S, {
          type: 'File_Available',
          event_id: 'o1',
          data: { call_id: 3001, kind: 'voicemail', file_name: 'vm.mp3', content_type: 'audio/mpeg', content_base64: b64(audio) },
        })
      ).status,
    ).toBe(202);
    // First try fails: pending, with the storage's error.
    const step = (await viewWhen('zendesk', S, (v) => v.steps.find((s: { name: string }) => s.name === 'o1:store')?.last_error)).steps.find(
      (s: { name: string }) => s.name === 'o1:store',
    );
    expect(step).toMatchObject({ status: 'pending', operation: 'store_file', last_error: { code: 'storage_failed' } });
    expect(under('exports/ujet/ujet-voicemails/')).toEqual([]);
    // Meanwhile the CRM got the file, and its upload (delivered) no longer holds the bytes: the copy has its own.
    await viewWhen('zendesk', S, (v) => v.steps.find((s: { name: string }) => s.name === 'o1:upload')?.status === 'delivered');
    expect(h.crm.crm.state.attachments.some((a) => a.file_name === 'vm.mp3' && a.content.equals(audio))).toBe(true);
    await srv.start();
    const view = await viewWhen('zendesk', S, (v) => v.steps.find((s: { name: string }) => s.name === 'o1:store')?.status === 'delivered', 15_000);
    expect(view.steps.find((s: { name: string }) => s.name === 'o1:store').status).toBe('delivered');
    expect(under('exports/ujet/ujet-voicemails/')).toEqual(['call-3001.mp3']);
    expect(srv.read('exports/ujet/ujet-voicemails/call-3001.mp3').equals(audio)).toBe(true);
    const d = (await h.get(`/v1/deliveries/${view.steps.find((s: { name: string }) => s.name === 'o1:store').delivery_id}`)).body;
    expect(d.attempts).toBeGreaterThanOrEqual(2);
    expect(d.result).toMatchObject({ outcome: 'stored', location: `sftp://127.0.0.1:${srv.port}/exports/ujet/ujet-voicemails/call-3001.mp3` });
  } finally {
    if (!srv.port) await srv.start();
  }
  expect(srv.files().filter((f) => f.endsWith('.part'))).toEqual([]);
}, 40_000);

test('a server whose host key is not the pinned one: refused, nothing written, the CRM writes go on', async () => {
  const S = 'sess-wrongkey';
  for (const e of [
    { type: 'Session_Started', event_id: 'w1', data: { call_id: 4001, end_user: { name: 'Cy', email: 'cy4001@example.com' } } },
    { type: 'File_Available', event_id: 'w2', data: { kind: 'call_recording', content_type: 'audio/mpeg', content_base64: b64('mp3') } },
  ])
    expect((await post('wrongkey', S, e)).status).toBe(202);
  const step = (await viewWhen('wrongkey', S, (v) => v.steps.find((s: { name: string }) => s.name === 'w2:store')?.last_error)).steps.find(
    (s: { name: string }) => s.name === 'w2:store',
  );
  expect(step.status).toBe('pending');
  expect(step.last_error.code).toBe('storage_failed');
  expect(step.last_error.message).toContain(`host key ${srv.fingerprint} is not the pinned storage.host_key_sha256`);
  expect(under('wrongkey')).toEqual([]);
  const view = await viewWhen('wrongkey', S, (v) => v.steps.find((s: { name: string }) => s.name === 'record')?.status === 'delivered');
  expect(view.steps.find((s: { name: string }) => s.name === 'record').status).toBe('delivered');
});

test('ids that would leave their folder are refused: the file is not stored, the session says why, the CRM still gets it', async () => {
  const S = 'sess-traversal';
  for (const e of [
    { type: 'Session_Started', event_id: 't1', data: { call_id: '../../../etc', end_user: { name: 'Eve', email: 'eve@example.com' } } },
    { type: 'File_Available', event_id: 't2', data: { kind: 'call_recording', content_type: 'audio/mpeg', file_name: 'x.mp3', content_base64: b64('evil') } },
    { type: 'File_Available', event_id: 't3', data: { kind: 'photo', media_id: 'a/../../b', content_type: 'image/jpeg', content_base64: b64('evil') } },
  ])
    expect((await post('zendesk', S, e)).status).toBe(202);
  const view = await settled('zendesk', S);
  expect(view.steps.filter((s: { operation: string }) => s.operation === 'store_file')).toEqual([]);
  expect(view.warnings).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^File_Available: the call_recording file is not stored: Call_ID "\.\.\/\.\.\/\.\.\/etc" cannot be part of a file name/),
    ]),
  );
  expect(h.crm.crm.state.attachments.some((a) => a.file_name === 'x.mp3' && a.content.toString() === 'evil')).toBe(true);
  expect(srv.files().filter((f) => !/^(exports|keyed|abs|outage)\//.test(f) && !/^(exports|keyed|abs|outage)\/$/.test(f))).toEqual([]);
});

test('a session that ended without anyone identified: its metadata file is still stored; the CRM part says why not', async () => {
  const S = 'sess-anon-5001';
  expect((await post('zendesk', S, { type: 'End_Call', event_id: 'a1', data: { call_id: 5001, disconnected_by: 'end_user' } })).status).toBe(202);
  const view = await settled('zendesk', S, hasStep('metadata_file:follow-up:store_file'));
  expect(view.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`)).toEqual([
    'metadata_file delivered',
    'metadata_file:follow-up:store_file delivered',
  ]);
  const d = (await h.get(`/v1/deliveries/${view.steps[0].delivery_id}`)).body;
  expect(d.result).toMatchObject({ outcome: 'made', file: 'ujet-metadata/call-5001.json', reason: 'not sent to the CRM: the session has no record' });
  expect(JSON.parse(srv.read('exports/ujet/ujet-metadata/call-5001.json').toString())).toMatchObject({
    session_id: S,
    call_id: 5001,
    agent_assigned: false,
    ended: true,
  });
  expect(JSON.parse(srv.read('exports/ujet/ujet-metadata/call-5001.json').toString()).crm).toBeUndefined();
});

test('link_in_crm with public_url: the CRM comment links to the stored copy, never to the platform', async () => {
  const S = 'sess-linked-7001';
  for (const e of [
    { type: 'Session_Started', event_id: 'l1', data: { call_id: 7001, end_user: { name: 'Lin Ked', email: 'lin7001@example.com' } } },
    {
      type: 'File_Available',
      event_id: 'l2',
      data: { kind: 'call_recording', content_type: 'audio/mpeg', file_name: 'r.mp3', content_base64: b64('ID3 linked') },
    },
  ])
    expect((await post('linked', S, e)).status).toBe(202);
  const view = await settled('linked', S, hasStep('l2:store'));
  expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  expect(srv.read('linked/ujet-voice-recordings/call-7001.mp3').toString()).toBe('ID3 linked');
  const comments = h.crm.crm.state.comments.filter((c) => c.ticket_id === view.record_id).map((c) => c.body);
  expect(comments).toContain('call_recording r.mp3: https://files.example.com/ujet/ujet-voice-recordings/call-7001.mp3');
  // No bytes went to the CRM.
  expect(h.crm.crm.state.attachments.some((a) => a.file_name === 'r.mp3')).toBe(false);
  const stored = (await h.get(`/v1/deliveries/${view.steps.find((s: { name: string }) => s.name === 'l2:store').delivery_id}`)).body;
  expect(stored.result.url).toBe('https://files.example.com/ujet/ujet-voice-recordings/call-7001.mp3');
});
