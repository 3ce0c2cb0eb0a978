/**
 * A whole engagement reported by Zoom-style webhooks alone, against the Zendesk-like sample CRM:
 * notes, a disposition set twice (before and after a transfer), two recordings and a transcript.
 * The platform drops both recordings' webhooks, sends one note twice and everything out of order,
 * and the gateway is SIGKILLed and restarted in the middle (the platform resends what got no answer).
 * Reconciliation then fills in exactly the dropped recordings; a second one does nothing. The CRM
 * ends with one account, one ticket, each comment once and each file once with the right bytes,
 * and never the platform's private download URLs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSampleCrm, type RunningSampleCrm } from '../../../src/sample-crm';
import { startSampleZoom, type RunningSampleZoom, type SendResult } from '../../../src/sample-platform/zoom';
import { startChild, type Child } from '../../helpers/child';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../../helpers/postgres';
import { settled, zoomEnv, zoomZendeskYaml } from './helpers';

jest.setTimeout(120_000);

const ENG = 'eng-whole-1';
const RECORDING_1 = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
const RECORDING_2 = Buffer.from('ID3 second leg of the call, after the transfer');
const TRANSCRIPT_1 = 'WEBVTT\n\n00:00.000 --> 00:02.000\nHello, I have a question about my invoice.';

let crm: RunningSampleCrm;
let z: RunningSampleZoom;
let dir: string;
let child: Child | undefined;

afterEach(async () => {
  await child?.kill('SIGKILL');
  child = undefined;
  await crm?.close();
  await z?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('SQLite: webhooks dropped, duplicated, reordered, a crash mid-session; reconciliation fills in the recordings once', async () => {
  await wholeCall({});
});

test('PostgreSQL: the same call', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    await wholeCall({ DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema });
  } finally {
    await child?.kill('SIGKILL');
    child = undefined;
    await dropSchema(schema);
  }
});

async function wholeCall(storeEnv: Record<string, string>): Promise<void> {
  crm = await startSampleCrm({ port: 0 });
  z = await startSampleZoom();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zoom-call-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'zendesk.yaml'), zoomZendeskYaml());
  const env = {
    ...zoomEnv(z.url),
    ...storeEnv,
    CONFIG_DIR: path.join(dir, 'config'),
    DATA_DIR: path.join(dir, 'data'),
    ZENDESK_URL: crm.url,
    DELIVERY_LEASE_MS: '1500',
  };
  // Every CRM call takes a little while, so the kill lands while writes are in flight.
  crm.crm.injectFault({ path: '/api/v2/', delayMs: 40, always: true });

  const start = Date.now();
  z.zoom.addEngagement({
    engagement_id: ENG,
    channel: 'voice',
    queue_name: 'Billing',
    user_id: 'agent-1',
    user_email: 'kim@example.com',
    consumer: { number: '+12223334777', name: 'Whole Call' },
  });
  z.zoom.addRecording({ engagement_id: ENG, recording_id: 'rec-1', content: RECORDING_1, transcript: TRANSCRIPT_1 });
  z.zoom.addRecording({ engagement_id: ENG, recording_id: 'rec-2', content: RECORDING_2 });
  const ev = z.zoom.events;
  const events = [
    ev.noteAdded(ENG, 'Customer asks about invoice 1234', 'note-1'), // 0, sent twice
    ev.dispositionAdded(ENG, 'Transferred', 'disp-transfer'), //       1
    ev.recordingCompleted('rec-1'), //                                 2, dropped
    ev.recordingTranscriptCompleted('rec-1'), //                       3
    ev.dispositionAdded(ENG, 'Resolved', 'disp-resolved'), //          4, after the transfer
    ev.recordingCompleted('rec-2'), //                                 5, dropped
    ev.noteAdded(ENG, 'Refund approved by billing', 'note-2'), //      6
  ];
  const order = [6, 4, 3, 2, 1, 0, 5];

  child = await startChild(env);
  const hook = () => `${child!.url}/v1/connectors/zendesk/webhooks/zoom`;
  const sent: SendResult[] = [];
  // Before the crash: the first three of the order.
  sent.push(...(await z.zoom.deliver(events, { target: hook(), order: order.slice(0, 3), drop: [2, 5] })));
  await new Promise((r) => setTimeout(r, 60));
  await child.kill('SIGKILL');
  child = await startChild(env);
  // The platform resends the last one it is not sure of, then goes on.
  sent.push(...(await z.zoom.deliver(events, { target: hook(), order: order.slice(2), drop: [2, 5], duplicate: [0] })));
  expect(sent.filter((s) => !s.dropped).every((s) => s.status === 200)).toBe(true);
  expect(sent.filter((s) => s.dropped).map((s) => s.event)).toEqual(['contact_center.recording_completed', 'contact_center.recording_completed']);

  let v = await settled(child.url, 'zendesk', ENG);
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  const ticket = () => crm.crm.state.tickets.filter((t) => t.requester_id === v.account_id);
  const bodies = () => crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
  const attached = () =>
    crm.crm.state.comments
      .filter((c) => c.ticket_id === v.record_id)
      .flatMap((c) => c.attachment_ids)
      .map((id) => crm.crm.state.attachments.find((a) => a.id === id)!);
  expect(attached().map((a) => a.file_name)).toEqual(['transcript-rec-1.vtt']);

  // Reconciliation: lists recordings by end time since before the engagement and finds what webhooks missed.
  const reconcile = async () => {
    const res = await fetch(
      `${child!.url}/v1/connectors/zendesk/webhooks/zoom/reconcile?since=${encodeURIComponent(new Date(start - 3_600_000).toISOString())}`,
      { method: 'POST' },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as any;
  };
  const first = await reconcile();
  expect(first).toMatchObject({ connector: 'zendesk', found: 3, already_known: 1, delivered_now: 2, failed: 0 });
  expect(
    first.items
      .filter((i: { outcome: string }) => i.outcome === 'delivered_now')
      .map((i: { event_id: string }) => i.event_id)
      .sort(),
  ).toEqual(['recording:rec-1', 'recording:rec-2']);
  expect(Date.parse(first.watermark.after)).toBeGreaterThan(start - 1000);

  v = await settled(child.url, 'zendesk', ENG);
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  const crmRequests = crm.crm.requests.length;
  const second = await reconcile();
  expect(second).toMatchObject({ found: 3, already_known: 3, delivered_now: 0, failed: 0 });
  await new Promise((r) => setTimeout(r, 300));
  expect(crm.crm.requests.length).toBe(crmRequests); // nothing written the second time

  // Final CRM state: one customer, one ticket, every comment once, every file once with its bytes.
  expect(crm.crm.state.users.filter((u) => u.name === 'Whole Call')).toHaveLength(1);
  expect(ticket()).toHaveLength(1);
  expect(ticket()[0].subject).toContain('Whole Call');
  const b = bodies();
  expect(b.filter((x) => x === 'Note by kim@example.com: Customer asks about invoice 1234')).toHaveLength(1);
  expect(b.filter((x) => x === 'Note by kim@example.com: Refund approved by billing')).toHaveLength(1);
  expect(b.filter((x) => x.startsWith('Disposition Transferred'))).toHaveLength(1);
  expect(b.filter((x) => x.startsWith('Disposition Resolved'))).toHaveLength(1);
  expect(b.filter((x) => x.startsWith('Call/chat id eng-whole-1'))).toHaveLength(1);
  const files = attached();
  expect(files.map((a) => a.file_name).sort()).toEqual(['recording-rec-1.mp3', 'recording-rec-2.mp3', 'transcript-rec-1.vtt']);
  expect(files.find((a) => a.file_name === 'recording-rec-1.mp3')!.content.equals(RECORDING_1)).toBe(true);
  expect(files.find((a) => a.file_name === 'recording-rec-2.mp3')!.content.equals(RECORDING_2)).toBe(true);
  expect(files.find((a) => a.file_name === 'transcript-rec-1.vtt')!.content.toString()).toBe(TRANSCRIPT_1);
  // The disposition updated the ticket (update_record_on: disposition), each time.
  expect(crm.crm.requests.filter((r) => r.method === 'PUT' && JSON.stringify(r.body).includes('Session eng-whole-1')).length).toBeGreaterThanOrEqual(2);
  // The platform's private URLs were never posted to the CRM nor kept in a delivery.
  expect(JSON.stringify(crm.crm.state.comments)).not.toContain(z.url);
  expect(JSON.stringify(crm.crm.requests.map((r) => r.body))).not.toContain(z.url);
  const deliveries = await (await fetch(`${child.url}/v1/deliveries?limit=200`)).json();
  expect(JSON.stringify(deliveries)).not.toContain(z.url);
  // The files were fetched with the platform's token (one token for the whole run of this process).
  const downloads = z.zoom.requests.filter((r) => r.path.endsWith('/download') || r.path.endsWith('/transcript'));
  expect(downloads.every((r) => String(r.headers.authorization).startsWith('Bearer zoom-at-'))).toBe(true);
}
