/**
 * POST /v1/connectors/{id}/webhooks/zoom over real HTTP: the URL-validation challenge, and
 * every request that is not the platform's (unsigned, forged, stale, too large) refused with 401/413
 * and nothing stored; a valid request replayed changes nothing; secrets never shown.
 */
import crypto from 'node:crypto';
import { startSampleZoom, type RunningSampleZoom } from '../../../src/sample-platform/zoom';
import { bundled, startHarness, type Harness } from '../../helpers/harness';
import { postSigned, settled, zoomEnv, zoomZendeskYaml } from './helpers';

let z: RunningSampleZoom;
let h: Harness;
let hook: string;

beforeAll(async () => {
  z = await startSampleZoom();
  h = await startHarness({
    connectors: { 'zendesk.yaml': zoomZendeskYaml(), 'plain.yaml': bundled('zendesk.yaml').replace(/^id: zendesk$/m, 'id: plain') },
    env: zoomEnv(z.url),
  });
  hook = `${h.gw.url}/v1/connectors/zendesk/webhooks/zoom`;
  z.zoom.addEngagement({
    engagement_id: 'eng-sig',
    consumer: { number: '+12223334001', name: 'Sig Nature' },
    queue_name: 'Billing',
    user_email: 'kim@example.com',
  });
});
afterAll(async () => {
  await h.close();
  await z.close();
});

async function sessionExists(id: string): Promise<boolean> {
  return (await h.get(`/v1/connectors/zendesk/sessions/${id}`)).status === 200;
}

test('endpoint.url_validation is answered with the HMAC of the plain token', async () => {
  const a = await postSigned(hook, z.zoom.events.urlValidation('qgg8vlvZRS6UYooatFL8Aw'));
  expect(a.status).toBe(200);
  expect(a.body).toEqual({
    plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
    encryptedToken: crypto.createHmac('sha256', z.zoom.options.secretToken).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'),
  });
});

test.each([
  ['unsigned', { headers: { 'x-zm-signature': '', 'x-zm-request-timestamp': '' } }, 'unsigned'],
  ['another secret', { secret: 'not-the-secret-token' }, 'does not match'],
  ['stale (6 minutes old)', { timestampSec: Math.floor(Date.now() / 1000) - 360 }, 'stale'],
  ['from the future (6 minutes ahead)', { timestampSec: Math.floor(Date.now() / 1000) + 360 }, 'stale'],
])('%s: 401 problem+json, nothing stored', async (_label, opts, reason) => {
  const ev = z.zoom.events.noteAdded('eng-sig', 'should not land');
  const a = await postSigned(hook, ev, opts);
  expect(a.status).toBe(401);
  expect(a.type).toMatch(/^application\/problem\+json/);
  expect(a.body).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
  expect(a.body.detail).toContain(reason);
  expect(await sessionExists('eng-sig')).toBe(false);
});

test('a body changed after signing is refused', async () => {
  const ev = z.zoom.events.noteAdded('eng-sig', 'original');
  const body = JSON.stringify(ev);
  const ts = Math.floor(Date.now() / 1000);
  const { signZoomWebhook } = await import('../../../src/sample-platform/zoom');
  const res = await fetch(hook, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...signZoomWebhook(z.zoom.options.secretToken, body, ts) },
    body: body.replace('original', 'tampered'),
  });
  expect(res.status).toBe(401);
  expect(await sessionExists('eng-sig')).toBe(false);
});

test('oversized body: 413 before anything is read', async () => {
  const ev = z.zoom.events.noteAdded('eng-sig', 'x'.repeat(300 * 1024));
  const a = await postSigned(hook, ev);
  expect(a.status).toBe(413);
  expect(a.body).toMatchObject({ code: 'payload_too_large' });
  expect(await sessionExists('eng-sig')).toBe(false);
});

test('a connector without webhooks.zoom: 404; an unknown connector: 404', async () => {
  const a = await postSigned(`${h.gw.url}/v1/connectors/plain/webhooks/zoom`, z.zoom.events.urlValidation('abc'));
  expect(a.status).toBe(404);
  expect(a.body).toMatchObject({ code: 'not_found' });
  const b = await postSigned(`${h.gw.url}/v1/connectors/nope/webhooks/zoom`, z.zoom.events.urlValidation('abc'));
  expect(b).toMatchObject({ status: 404, body: { code: 'connector_not_found' } });
});

test('a valid request replayed (within the window) changes nothing', async () => {
  const ev = z.zoom.events.noteAdded('eng-sig', 'Customer asked for a refund', 'note-replay');
  const ts = Math.floor(Date.now() / 1000);
  const first = await postSigned(hook, ev, { timestampSec: ts });
  expect(first).toMatchObject({ status: 200, body: { event_id: 'note:note-replay', session_id: 'eng-sig', outcome: 'delivered_now' } });
  const again = await postSigned(hook, ev, { timestampSec: ts });
  expect(again).toMatchObject({ status: 200, body: { event_id: 'note:note-replay', outcome: 'already_known' } });
  const v = await settled(h.gw.url, 'zendesk', 'eng-sig');
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  const bodies = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
  expect(bodies.filter((b) => b.includes('Customer asked for a refund'))).toEqual(['Note by kim@example.com: Customer asked for a refund']);
  expect(h.crm.crm.state.users.filter((u) => u.name === 'Sig Nature')).toHaveLength(1);
});

test('an event the gateway does not write is acknowledged and ignored', async () => {
  const a = await postSigned(hook, {
    event: 'contact_center.engagement_started',
    event_ts: Date.now(),
    payload: { account_id: 'a', object: { engagement_id: 'eng-other' } },
  });
  expect(a).toMatchObject({ status: 200, body: { outcome: 'ignored', event: 'contact_center.engagement_started' } });
  expect(await sessionExists('eng-other')).toBe(false);
});

test('not JSON after a valid signature: 400; an engagement id that cannot be a session id: 422', async () => {
  expect(await postSigned(hook, 'not json')).toMatchObject({ status: 400, body: { code: 'invalid_json' } });
  const bad = await postSigned(hook, {
    event: 'contact_center.engagement_note_added',
    event_ts: Date.now(),
    payload: { account_id: 'a', object: { engagement_id: 'a b', note: 'x' } },
  });
  expect(bad).toMatchObject({ status: 422, body: { code: 'validation_failed' } });
});

test('the secret token and client secret never show', async () => {
  const c = await h.get('/v1/connectors/zendesk');
  const text = JSON.stringify(c.body);
  expect(text).not.toContain(z.zoom.options.secretToken);
  expect(text).not.toContain(z.zoom.options.clientSecret);
  expect(c.body.config.webhooks.zoom).toMatchObject({ secret_token: '${env:ZOOM_SECRET_TOKEN}', client_secret: '${env:ZOOM_CLIENT_SECRET}' });
  expect(h.logs.join('')).not.toContain(z.zoom.options.secretToken);
});
