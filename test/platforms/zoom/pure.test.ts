/** The pure cores of the Zoom-style source: the signature check and the event translation. */
import crypto from 'node:crypto';
import { urlValidationAnswer, verifyZoomSignature } from '../../../src/platforms/zoom/signature';
import { plansForListedRecording, translateZoomEvent } from '../../../src/platforms/zoom/translate';
import { parseJsonPath } from '../../../src/util/json-path';

const SECRET = 'sample-zoom-secret-token';
const NOW = Date.parse('2026-01-01T10:00:00Z');
const body = Buffer.from('{"event":"x"}');
const sign = (ts: string, b: Buffer = body, secret = SECRET) => `v0=${crypto.createHmac('sha256', secret).update(`v0:${ts}:${b.toString()}`).digest('hex')}`;
const ts = String(NOW / 1000);

describe('verifyZoomSignature', () => {
  test.each([
    ['valid', sign(ts), ts, body, true, ''],
    ['valid, upper-case hex', sign(ts).toUpperCase().replace('V0=', 'v0='), ts, body, true, ''],
    ['4 minutes old', sign(String(NOW / 1000 - 240)), String(NOW / 1000 - 240), body, true, ''],
    ['unsigned', undefined, ts, body, false, 'unsigned'],
    ['no timestamp', sign(ts), undefined, body, false, 'unsigned'],
    ['6 minutes old', sign(String(NOW / 1000 - 360)), String(NOW / 1000 - 360), body, false, 'stale'],
    ['6 minutes ahead', sign(String(NOW / 1000 + 360)), String(NOW / 1000 + 360), body, false, 'stale'],
    ['timestamp not a number', sign('abc'), 'abc', body, false, 'not a number'],
    ['other secret', sign(ts, body, 'another-secret-token'), ts, body, false, 'does not match'],
    ['body changed', sign(ts), ts, Buffer.from('{"event":"y"}'), false, 'does not match'],
    ['timestamp changed (signature of another time)', sign(String(NOW / 1000 - 1)), ts, body, false, 'does not match'],
    ['no v0=', sign(ts).slice(3), ts, body, false, 'v0='],
    ['short hex', 'v0=abcd', ts, body, false, 'v0='],
  ])('%s', (_label, signature, timestamp, raw, ok, reason) => {
    const v = verifyZoomSignature(SECRET, signature, timestamp, raw, NOW);
    expect(v.ok).toBe(ok);
    if (!v.ok) expect(v.reason).toContain(reason);
  });

  test('the URL-validation answer is the hex HMAC of the plain token', () => {
    expect(urlValidationAnswer(SECRET, 'qgg8vlvZRS6UYooatFL8Aw')).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: crypto.createHmac('sha256', SECRET).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'),
    });
  });
});

const cfg = { sessionIdFrom: parseJsonPath('engagement_id'), sessionIdFromSource: 'engagement_id' };
const who = {
  engagement_id: 'eng-1',
  channel: 'voice',
  queue_name: 'Billing',
  user_id: 'agent-7',
  user_email: 'kim@example.com',
  consumer_number: '+12223334444',
  consumer_name: 'Pat Doe',
};
const env = (event: string, object: Record<string, unknown>) => ({ event, event_ts: NOW, payload: { account_id: 'acc', object } });

describe('translateZoomEvent', () => {
  test.each([
    [
      'contact_center.recording_completed',
      { recording_id: 'r1', download_url: 'https://zoom.example/d/r1', recording_end_time: '2026-01-01T09:59:00Z' },
      'File_Available',
      'recording:r1',
      { kind: 'call_recording', url: 'https://zoom.example/d/r1' },
      {},
    ],
    [
      'contact_center.recording_transcript_completed',
      { recording_id: 'r1', transcript_url: 'https://zoom.example/t/r1' },
      'File_Available',
      'recording_transcript:r1',
      { kind: 'chat_transcript', url: 'https://zoom.example/t/r1' },
      {},
    ],
    [
      'contact_center.engagement_messaging_transcript_completed',
      { transcript_url: 'https://zoom.example/m/eng-1', channel: 'messaging' },
      'File_Available',
      'messaging_transcript:eng-1',
      { kind: 'chat_transcript', name: 'chat-eng-1.txt' },
      { chat_id: 'eng-1', channel: 'chat' },
    ],
    ['contact_center.engagement_note_added', { note_id: 'n1', note: 'Called back' }, 'Note_Added', 'note:n1', undefined, { note: 'Called back' }],
    [
      'contact_center.engagement_disposition_added',
      { disposition_id: 'd1', disposition_name: 'Resolved', date_time: '2026-01-01T09:58:00Z' },
      'Disposition_Set',
      undefined,
      undefined,
      { code: 'Resolved' },
    ],
  ])('%s', (event, extra, type, eventId, file, data) => {
    const t = translateZoomEvent(env(event, { ...who, ...extra }), cfg);
    expect(t.kind).toBe('event');
    if (t.kind !== 'event') return;
    expect(t.plan.sessionId).toBe('eng-1');
    expect(t.plan.body.type).toBe(type);
    if (eventId) expect(t.plan.eventId).toBe(eventId);
    expect(t.plan.body.event_id).toBe(t.plan.eventId);
    if (file) expect(t.plan.file).toMatchObject(file);
    else expect(t.plan.file).toBeUndefined();
    expect(t.plan.body.data).toMatchObject({
      queue_name: 'Billing',
      agent_id: 'agent-7',
      agent_email: 'kim@example.com',
      end_user: { phone: '+12223334444', name: 'Pat Doe' },
      ...data,
    });
    // The private URL never goes into the event itself.
    expect(JSON.stringify(t.plan.body)).not.toContain('zoom.example');
  });

  test('a disposition set twice is two events; the same webhook resent (keys in another order) is one', () => {
    const a = { ...who, disposition_id: 'd1', disposition_name: 'Transferred', date_time: '2026-01-01T09:50:00Z', user_id: 'agent-1' };
    const b = { ...who, disposition_id: 'd1', disposition_name: 'Transferred', date_time: '2026-01-01T09:58:00Z', user_id: 'agent-2' };
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    const id = (o: Record<string, unknown>) =>
      (translateZoomEvent(env('contact_center.engagement_disposition_added', o), cfg) as { plan: { eventId: string } }).plan.eventId;
    expect(id(a)).not.toBe(id(b));
    expect(id(a)).toBe(id(reordered));
  });

  test('consumers[0] and a chosen session field', () => {
    const t = translateZoomEvent(
      env('contact_center.engagement_note_added', {
        engagement_id: 'e',
        flow: { id: 'flow-9' },
        consumers: [{ consumer_number: '+441234567890', consumer_display_name: 'Sam', consumer_email: 'sam@example.com' }],
        note: 'n',
      }),
      { sessionIdFrom: parseJsonPath('flow.id'), sessionIdFromSource: 'flow.id' },
    );
    expect(t).toMatchObject({
      kind: 'event',
      plan: { sessionId: 'flow-9', body: { data: { end_user: { phone: '+441234567890', name: 'Sam', email: 'sam@example.com' } } } },
    });
  });

  test.each([
    ['no event', { payload: {} }, 'event'],
    ['no engagement id', env('contact_center.engagement_note_added', { note: 'x' }), 'engagement_id'],
    ['bad engagement id', env('contact_center.engagement_note_added', { engagement_id: 'a b/c', note: 'x' }), 'engagement_id'],
    ['recording without url', env('contact_center.recording_completed', { engagement_id: 'e', recording_id: 'r' }), 'download_url'],
    ['note without text', env('contact_center.engagement_note_added', { engagement_id: 'e' }), 'note'],
  ])('refused: %s', (_label, body, field) => {
    expect(() => translateZoomEvent(body, cfg)).toThrow(expect.objectContaining({ code: 'validation_failed', message: expect.stringContaining(field) }));
  });

  test('other events are ignored', () => {
    expect(translateZoomEvent(env('contact_center.engagement_started', { engagement_id: 'e' }), cfg)).toMatchObject({
      kind: 'ignored',
      event: 'contact_center.engagement_started',
    });
  });

  test('a listed recording gives the same event ids as its webhooks', () => {
    const listed = {
      ...who,
      recording_id: 'r1',
      download_url: 'https://zoom.example/d/r1',
      transcript_url: 'https://zoom.example/t/r1',
      recording_end_time: '2026-01-01T09:59:00Z',
    };
    expect(plansForListedRecording(listed, cfg).map((p) => p.eventId)).toEqual(['recording:r1', 'recording_transcript:r1']);
    expect(plansForListedRecording({ ...listed, transcript_url: undefined }, cfg).map((p) => p.eventId)).toEqual(['recording:r1']);
  });
});
