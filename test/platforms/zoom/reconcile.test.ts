/**
 * The platform's API as the gateway uses it, against the sample Zoom-like platform: the OAuth
 * token cached and fetched again on a 401, downloads only to the platform's hosts, through the
 * SSRF guard and the size limit; reconciliation advancing its watermark only past what it handled,
 * failing cleanly when the list fails, and running on its schedule.
 */
import { ZoomSource, WATERMARK_SOURCE } from '../../../src/platforms/zoom/source';
import { startSampleZoom, type RunningSampleZoom } from '../../../src/sample-platform/zoom';
import { startHarness, type Harness } from '../../helpers/harness';
import { ZOOM_BLOCK, postSigned, settled, zoomEnv, zoomZendeskYaml } from './helpers';

jest.setTimeout(60_000);

let z: RunningSampleZoom;
let h: Harness;
const hookOf = (connector: string) => `${h.gw.url}/v1/connectors/${connector}/webhooks/zoom`;

beforeAll(async () => {
  z = await startSampleZoom();
  const yaml = zoomZendeskYaml();
  h = await startHarness({
    connectors: {
      'zendesk.yaml': yaml,
      // The same, with a 10-byte file limit.
      'small.yaml': yaml.replace(/^id: zendesk$/m, 'id: zd-small').replace('    reconcile:\n', '    max_file_bytes: 10\n    reconcile:\n'),
      // Without allow_private_network: the platform (on 127.0.0.1) is out of reach.
      'guarded.yaml': yaml.replace(/^id: zendesk$/m, 'id: zd-guarded').replace(/^allow_private_network: \[127\.0\.0\.1\]\n/m, ''),
      // Reconciled on a schedule.
      'nightly.yaml': yaml.replace(/^id: zendesk$/m, 'id: zd-nightly').replace('      every_hours: 0', '      every_hours: 24'),
    },
    env: zoomEnv(z.url),
  });
});
afterAll(async () => {
  await h.close();
  await z.close();
});

function engagement(id: string, phone: string) {
  return z.zoom.addEngagement({ engagement_id: id, queue_name: 'Billing', user_email: 'kim@example.com', consumer: { number: phone, name: `Caller ${id}` } });
}

test('the token is fetched once, reused, and fetched again when the platform says it expired', async () => {
  engagement('eng-tok', '+12223335001');
  z.zoom.addRecording({ engagement_id: 'eng-tok', recording_id: 'tok-1', content: 'one' });
  z.zoom.addRecording({ engagement_id: 'eng-tok', recording_id: 'tok-2', content: 'two' });
  z.zoom.addRecording({ engagement_id: 'eng-tok', recording_id: 'tok-3', content: 'three' });
  const before = z.zoom.state.tokensIssued;
  expect((await postSigned(hookOf('zendesk'), z.zoom.events.recordingCompleted('tok-1'))).body.outcome).toBe('delivered_now');
  expect((await postSigned(hookOf('zendesk'), z.zoom.events.recordingCompleted('tok-2'))).body.outcome).toBe('delivered_now');
  expect(z.zoom.state.tokensIssued - before).toBe(1);
  z.zoom.expireAllTokens();
  expect((await postSigned(hookOf('zendesk'), z.zoom.events.recordingCompleted('tok-3'))).body.outcome).toBe('delivered_now');
  expect(z.zoom.state.tokensIssued - before).toBe(2);
  const v = await settled(h.gw.url, 'zendesk', 'eng-tok');
  const names = h.crm.crm.state.comments
    .filter((c) => c.ticket_id === v.record_id)
    .flatMap((c) => c.attachment_ids)
    .map((id) => h.crm.crm.state.attachments.find((a) => a.id === id)!.file_name);
  expect(names.sort()).toEqual(['recording-tok-1.mp3', 'recording-tok-2.mp3', 'recording-tok-3.mp3']);
});

test('the token goes only to the platform: a download URL elsewhere is refused, nothing accepted', async () => {
  engagement('eng-far', '+12223335002');
  const ev = {
    event: 'contact_center.recording_completed',
    event_ts: Date.now(),
    payload: {
      account_id: 'a',
      object: { engagement_id: 'eng-far', recording_id: 'far-1', consumer_number: '+12223335002', download_url: 'http://127.0.0.2:9/steal' },
    },
  };
  const a = await postSigned(hookOf('zendesk'), ev);
  expect(a.status).toBe(502);
  expect(a.body).toMatchObject({ code: 'file_download_failed' });
  expect(a.body.detail).toContain("not on the platform's hosts");
  expect((await h.get('/v1/connectors/zendesk/sessions/eng-far')).status).toBe(404);
});

test('a file over max_file_bytes: 413, nothing accepted', async () => {
  engagement('eng-big', '+12223335003');
  z.zoom.addRecording({ engagement_id: 'eng-big', recording_id: 'big-1', content: 'more than ten bytes' });
  const a = await postSigned(hookOf('zd-small'), z.zoom.events.recordingCompleted('big-1'));
  expect(a).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
  expect((await h.get('/v1/connectors/zd-small/sessions/eng-big')).status).toBe(404);
});

test('the SSRF guard: a platform in a private network the connector does not allow is not called', async () => {
  engagement('eng-ssrf', '+12223335004');
  z.zoom.addRecording({ engagement_id: 'eng-ssrf', recording_id: 'ssrf-1', content: 'x' });
  const before = z.zoom.requests.length;
  const a = await postSigned(hookOf('zd-guarded'), z.zoom.events.recordingCompleted('ssrf-1'));
  expect(a).toMatchObject({ status: 502, body: { code: 'destination_blocked' } });
  expect(z.zoom.requests.length).toBe(before);
});

test('a recording whose event does not name the customer waits for one that does, then lands on the same ticket', async () => {
  z.zoom.addEngagement({ engagement_id: 'eng-anon', queue_name: 'Billing', consumer: {} });
  z.zoom.addRecording({ engagement_id: 'eng-anon', recording_id: 'anon-1', content: 'anonymous audio' });
  expect((await postSigned(hookOf('zendesk'), z.zoom.events.recordingCompleted('anon-1'))).body.outcome).toBe('delivered_now');
  const waiting = (await h.get('/v1/connectors/zendesk/sessions/eng-anon')).body;
  expect(waiting).toMatchObject({ account_id: null, record_id: null, held: ['recording:anon-1:upload'] });
  const note = z.zoom.events.noteAdded('eng-anon', 'Identified by the agent', 'anon-note');
  Object.assign((note.payload as { object: Record<string, unknown> }).object, { consumer_number: '+12223335008', consumer_name: 'Late Name' });
  expect((await postSigned(hookOf('zendesk'), note)).body.outcome).toBe('delivered_now');
  const v = await settled(h.gw.url, 'zendesk', 'eng-anon');
  expect(v.held).toEqual([]);
  expect(h.crm.crm.state.users.filter((u) => u.name === 'Late Name')).toHaveLength(1);
  const comments = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id);
  expect(comments.map((c) => c.body).filter((b) => b.startsWith('Note'))).toEqual(['Note: Identified by the agent']);
  const files = comments.flatMap((c) => c.attachment_ids).map((id) => h.crm.crm.state.attachments.find((a) => a.id === id)!);
  expect(files.map((f) => `${f.file_name}=${f.content.toString()}`)).toEqual(['recording-anon-1.mp3=anonymous audio']);
});

test('reconciliation: a failed download stops the watermark before it; the next run delivers it, then nothing', async () => {
  engagement('eng-rec', '+12223335005');
  const t0 = Date.parse('2026-02-01T10:00:00Z');
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  z.zoom.addRecording({ engagement_id: 'eng-rec', recording_id: 'r-a', content: 'A', recording_end_time: at(1) });
  z.zoom.addRecording({ engagement_id: 'eng-rec', recording_id: 'r-b', content: 'B', recording_end_time: at(2), transcript: 'WEBVTT\n\nb' });
  z.zoom.addRecording({ engagement_id: 'eng-rec', recording_id: 'r-c', content: 'C', recording_end_time: at(3) });
  z.zoom.injectFault({ method: 'GET', path: '/v2/contact_center/recordings/r-b/download', status: 500, times: 1 });
  const run = async (q: string) => {
    const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/webhooks/zoom/reconcile${q}`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as any };
  };
  // Only this engagement's window (others' recordings end now).
  const first = await run(`?since=${encodeURIComponent(at(0))}`);
  expect(first.status).toBe(200);
  const mine = (r: any) => r.items.filter((i: { session_id: string }) => i.session_id === 'eng-rec');
  expect(mine(first.body).map((i: any) => [i.event_id, i.outcome])).toEqual([
    ['recording:r-a', 'delivered_now'],
    ['recording:r-b', 'failed'],
    ['recording_transcript:r-b', 'delivered_now'],
    ['recording:r-c', 'delivered_now'],
  ]);
  expect(first.body.failed).toBe(1);
  expect(first.body.watermark.after).toBe(new Date(Date.parse(at(2)) - 1).toISOString());
  expect((await h.gw.store.loadWatermark('zendesk', WATERMARK_SOURCE))!.watermark).toBe(Date.parse(at(2)) - 1);
  // From the watermark (less the overlap): r-b again, now delivered; the rest already known.
  const second = await run('');
  expect(mine(second.body).map((i: any) => [i.event_id, i.outcome])).toEqual([
    ['recording:r-a', 'already_known'],
    ['recording:r-b', 'delivered_now'],
    ['recording_transcript:r-b', 'already_known'],
    ['recording:r-c', 'already_known'],
  ]);
  expect(second.body.failed).toBe(0);
  const third = await run('');
  // (Other tests' recordings that ended in the second run's last, unlisted second may come now.)
  expect(mine(third.body).filter((i: any) => i.outcome !== 'already_known')).toEqual([]);
  const v = await settled(h.gw.url, 'zendesk', 'eng-rec');
  const files = h.crm.crm.state.comments
    .filter((c) => c.ticket_id === v.record_id)
    .flatMap((c) => c.attachment_ids)
    .map((id) => h.crm.crm.state.attachments.find((a) => a.id === id)!);
  expect(files.map((f) => `${f.file_name}=${f.content.toString()}`).sort()).toEqual([
    'recording-r-a.mp3=A',
    'recording-r-b.mp3=B',
    'recording-r-c.mp3=C',
    'transcript-r-b.vtt=WEBVTT\n\nb',
  ]);
});

test('reconciliation over more than the list API month: windows without a gap, each recording once; a future since is 422', async () => {
  engagement('eng-long', '+12223335007');
  const from = Date.parse('2025-01-01T00:00:00.250Z');
  const day = 86_400_000;
  // The second one ends half a second after the first 30-day window's last whole second.
  for (const [id, t] of [
    ['long-1', from + day],
    ['long-2', from + 30 * day + 500],
    ['long-3', from + 45 * day],
  ] as const) {
    z.zoom.addRecording({ engagement_id: 'eng-long', recording_id: id, content: id, recording_end_time: new Date(t).toISOString() });
  }
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/webhooks/zoom/reconcile?since=${encodeURIComponent(new Date(from).toISOString())}`, {
    method: 'POST',
  });
  const body = (await res.json()) as any;
  expect(body.items.filter((i: { session_id: string }) => i.session_id === 'eng-long').map((i: { event_id: string }) => i.event_id)).toEqual([
    'recording:long-1',
    'recording:long-2',
    'recording:long-3',
  ]);
  const future = await fetch(
    `${h.gw.url}/v1/connectors/zendesk/webhooks/zoom/reconcile?since=${encodeURIComponent(new Date(Date.now() + day).toISOString())}`,
    { method: 'POST' },
  );
  expect(future.status).toBe(422);
  expect((await h.gw.store.loadWatermark('zendesk', WATERMARK_SOURCE))!.watermark).toBeLessThanOrEqual(Date.now());
});

test('reconciliation: the list failing is a 502 and the watermark does not move; a bad since is 422', async () => {
  const before = await h.gw.store.loadWatermark('zendesk', WATERMARK_SOURCE);
  z.zoom.injectFault({ method: 'GET', path: '/v2/contact_center/recordings', status: 503, times: 1 });
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/webhooks/zoom/reconcile`, { method: 'POST' });
  expect(res.status).toBe(502);
  expect(await res.json()).toMatchObject({ code: 'platform_request_failed' });
  expect(await h.gw.store.loadWatermark('zendesk', WATERMARK_SOURCE)).toEqual(before);
  const bad = await fetch(`${h.gw.url}/v1/connectors/zendesk/webhooks/zoom/reconcile?since=last-tuesday`, { method: 'POST' });
  expect(bad.status).toBe(422);
});

test('the schedule: the first tick sets the start, a run is due every_hours after the last one', async () => {
  const source = new ZoomSource(h.gw.gateway, h.gw.flows, h.gw.store);
  try {
    expect(await h.gw.store.loadWatermark('zd-nightly', WATERMARK_SOURCE)).toBeUndefined();
    await source.runDue();
    const seeded = (await h.gw.store.loadWatermark('zd-nightly', WATERMARK_SOURCE))!;
    expect(Date.now() - seeded.watermark).toBeGreaterThan(23 * 3_600_000); // first_lookback_hours back
    await source.runDue(); // not due yet
    expect(await h.gw.store.loadWatermark('zd-nightly', WATERMARK_SOURCE)).toEqual(seeded);
    // As if the last run was 25 hours ago: this tick runs it.
    await h.gw.store.saveWatermark('zd-nightly', WATERMARK_SOURCE, seeded.watermark, Date.now() - 25 * 3_600_000);
    engagement('eng-night', '+12223335006');
    // (Ended a few seconds ago: a run lists up to the last whole second.)
    z.zoom.addRecording({ engagement_id: 'eng-night', recording_id: 'night-1', content: 'N', recording_end_time: new Date(Date.now() - 5000).toISOString() });
    await source.runDue();
    const after = (await h.gw.store.loadWatermark('zd-nightly', WATERMARK_SOURCE))!;
    expect(Date.now() - after.lastRunAt).toBeLessThan(60_000);
    expect(after.watermark).toBeGreaterThan(seeded.watermark);
    const v = await settled(h.gw.url, 'zd-nightly', 'eng-night');
    expect(v.steps.some((s: { name: string }) => s.name === 'recording:night-1:upload')).toBe(true);
    // Connectors with every_hours: 0 are never run by the schedule.
    expect(ZOOM_BLOCK).toContain('every_hours: 0');
  } finally {
    await source.stop();
  }
});
