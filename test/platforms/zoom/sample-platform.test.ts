/**
 * The sample Zoom-like platform behaves as the real one does where the gateway depends on it:
 * server-to-server OAuth, recordings listed by end time and paged, download URLs that need the
 * bearer token, signed webhooks that can be dropped, duplicated and reordered, faults.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SAMPLE_ZOOM, signZoomWebhook, startSampleZoom, type RunningSampleZoom } from '../../../src/sample-platform/zoom';

let z: RunningSampleZoom;
beforeEach(async () => {
  z = await startSampleZoom();
});
afterEach(async () => {
  await z.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function token(): Promise<string> {
  const res = await fetch(`${z.url}/oauth/token?grant_type=account_credentials&account_id=${DEFAULT_SAMPLE_ZOOM.accountId}`, {
    method: 'POST',
    headers: { Authorization: basic(DEFAULT_SAMPLE_ZOOM.clientId, DEFAULT_SAMPLE_ZOOM.clientSecret) },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
  expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
  return body.access_token;
}

describe('OAuth (account_credentials)', () => {
  test.each([
    [
      'wrong secret',
      `grant_type=account_credentials&account_id=${DEFAULT_SAMPLE_ZOOM.accountId}`,
      basic(DEFAULT_SAMPLE_ZOOM.clientId, 'nope'),
      401,
      'invalid_client',
    ],
    ['no client auth', `grant_type=account_credentials&account_id=${DEFAULT_SAMPLE_ZOOM.accountId}`, '', 401, 'invalid_client'],
    [
      'other grant',
      `grant_type=client_credentials&account_id=${DEFAULT_SAMPLE_ZOOM.accountId}`,
      basic(DEFAULT_SAMPLE_ZOOM.clientId, DEFAULT_SAMPLE_ZOOM.clientSecret),
      400,
      'unsupported_grant_type',
    ],
    [
      'other account',
      'grant_type=account_credentials&account_id=someone-else',
      basic(DEFAULT_SAMPLE_ZOOM.clientId, DEFAULT_SAMPLE_ZOOM.clientSecret),
      400,
      'invalid_request',
    ],
  ])('%s is refused', async (_label, query, auth, status, error) => {
    const res = await fetch(`${z.url}/oauth/token?${query}`, { method: 'POST', headers: auth ? { Authorization: auth } : {} });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error });
  });

  test('a token works until it expires (or is expired through the control API)', async () => {
    const t = await token();
    expect((await fetch(`${z.url}/v2/contact_center/recordings`, { headers: { Authorization: `Bearer ${t}` } })).status).toBe(200);
    await fetch(`${z.url}/__control/tokens/expire`, { method: 'POST' });
    const res = await fetch(`${z.url}/v2/contact_center/recordings`, { headers: { Authorization: `Bearer ${t}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 124, message: 'Access token is expired.' });
  });
});

describe('recordings', () => {
  test('listed by recording_end_time within from/to, paged by next_page_token; files need the bearer token', async () => {
    const e = z.zoom.addEngagement({ engagement_id: 'eng-1', consumer: { number: '+12223334444', name: 'Kim Doe' }, queue_name: 'Billing' });
    const base = Date.parse('2026-01-01T10:00:00Z');
    for (let i = 0; i < 5; i++)
      z.zoom.addRecording({
        engagement_id: e.engagement_id,
        recording_id: `rec-${i}`,
        content: `audio ${i}`,
        transcript: i % 2 ? `WEBVTT\n\ntranscript ${i}` : undefined,
        recording_end_time: new Date(base + i * 60_000).toISOString(),
      });
    const t = await token();
    const seen: Array<Record<string, unknown>> = [];
    let next = '';
    let pages = 0;
    do {
      const q = new URLSearchParams({
        query_date_type: 'recording_end_time',
        from: '2026-01-01T10:01:00Z',
        to: '2026-01-01T10:04:00Z',
        page_size: '2',
        ...(next ? { next_page_token: next } : {}),
      });
      const res = await fetch(`${z.url}/v2/contact_center/recordings?${q}`, { headers: { Authorization: `Bearer ${t}` } });
      const body = (await res.json()) as { recordings: Array<Record<string, unknown>>; next_page_token: string; total_records: number };
      expect(body.total_records).toBe(4);
      seen.push(...body.recordings);
      next = body.next_page_token;
      pages++;
    } while (next);
    expect(pages).toBe(2);
    expect(seen.map((r) => r.recording_id)).toEqual(['rec-1', 'rec-2', 'rec-3', 'rec-4']);
    expect(seen[0]).toMatchObject({
      engagement_id: 'eng-1',
      consumer_number: '+12223334444',
      consumer_name: 'Kim Doe',
      queue_name: 'Billing',
      transcript_url: `${z.url}/v2/contact_center/recordings/rec-1/transcript`,
    });
    expect(seen[1].transcript_url).toBeUndefined();
    const url = String(seen[0].download_url);
    expect((await fetch(url)).status).toBe(401); // a link clicked in a browser does not work
    const file = await fetch(url, { headers: { Authorization: `Bearer ${t}` } });
    expect(Buffer.from(await file.arrayBuffer()).toString()).toBe('audio 1');
    expect(await (await fetch(String(seen[0].transcript_url), { headers: { Authorization: `Bearer ${t}` } })).text()).toBe('WEBVTT\n\ntranscript 1');
  });

  test('faults: a 503 and a slow answer on the list route', async () => {
    const t = await token();
    z.zoom.injectFault({ method: 'GET', path: '/v2/contact_center/recordings', status: 503, times: 1 });
    z.zoom.injectFault({ method: 'GET', path: '/v2/contact_center/recordings', delayMs: 150, times: 1 });
    expect((await fetch(`${z.url}/v2/contact_center/recordings`, { headers: { Authorization: `Bearer ${t}` } })).status).toBe(503);
    const started = Date.now();
    expect((await fetch(`${z.url}/v2/contact_center/recordings`, { headers: { Authorization: `Bearer ${t}` } })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('webhooks', () => {
  test('signed as v0:{timestamp}:{body}, dropped, duplicated and reordered as told', async () => {
    const received: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
    const target = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const e = z.zoom.addEngagement({ engagement_id: 'eng-2', consumer: { number: '+12223335555' } });
      const rec = z.zoom.addRecording({ engagement_id: e.engagement_id, recording_id: 'rec-x', content: 'x', transcript: 'hello' });
      const events = [
        z.zoom.events.noteAdded('eng-2', 'first note', 'n1'),
        z.zoom.events.dispositionAdded('eng-2', 'Resolved', 'd1'),
        z.zoom.events.recordingCompleted(rec.recording_id),
        z.zoom.events.recordingTranscriptCompleted(rec.recording_id),
      ];
      const results = await z.zoom.deliver(events, {
        target: `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`,
        drop: [2],
        duplicate: [0],
        order: [3, 2, 1, 0],
      });
      expect(results.map((r) => [r.event, r.dropped, r.status])).toEqual([
        ['contact_center.recording_transcript_completed', false, 200],
        ['contact_center.recording_completed', true, undefined],
        ['contact_center.engagement_disposition_added', false, 200],
        ['contact_center.engagement_note_added', false, 200],
        ['contact_center.engagement_note_added', false, 200],
      ]);
      expect(received.map((r) => JSON.parse(r.body).event)).toEqual([
        'contact_center.recording_transcript_completed',
        'contact_center.engagement_disposition_added',
        'contact_center.engagement_note_added',
        'contact_center.engagement_note_added',
      ]);
      for (const r of received) {
        const ts = String(r.headers['x-zm-request-timestamp']);
        const expected = crypto.createHmac('sha256', DEFAULT_SAMPLE_ZOOM.secretToken).update(`v0:${ts}:${r.body}`).digest('hex');
        expect(r.headers['x-zm-signature']).toBe(`v0=${expected}`);
        expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(5);
      }
      const note = JSON.parse(received[2].body);
      expect(note.payload).toMatchObject({
        account_id: DEFAULT_SAMPLE_ZOOM.accountId,
        object: { engagement_id: 'eng-2', note_id: 'n1', note: 'first note', consumer_number: '+12223335555' },
      });
      expect(z.zoom.state.webhooks.filter((w) => w.dropped)).toHaveLength(1);
      expect(signZoomWebhook('s', 'b', 1)['x-zm-signature']).toBe(`v0=${crypto.createHmac('sha256', 's').update('v0:1:b').digest('hex')}`);
    } finally {
      target.closeAllConnections();
      target.close();
    }
  });

  test('the control API builds, signs and sends webhooks', async () => {
    z.zoom.addEngagement({ engagement_id: 'eng-3' });
    let got = '';
    const target = http.createServer((req, res) => {
      req.on('data', (c) => {
        got += c;
      });
      req.on('end', () => res.end());
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`${z.url}/__control/zoom/webhooks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          target: `http://127.0.0.1:${(target.address() as AddressInfo).port}/`,
          events: [{ kind: 'engagement_disposition_added', engagement_id: 'eng-3', disposition_name: 'Sale' }],
        }),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(got).payload.object).toMatchObject({ engagement_id: 'eng-3', disposition_name: 'Sale' });
      const bad = await fetch(`${z.url}/__control/zoom/webhooks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ target: 'http://127.0.0.1:1/', events: [{ kind: 'nope' }] }),
      });
      expect(bad.status).toBe(400);
    } finally {
      target.closeAllConnections();
      target.close();
    }
  });
});

describe('runSampleZoomCli', () => {
  test('starts on the given port and prints the credentials and the control API', async () => {
    const { runSampleZoomCli } = await import('../../../src/sample-platform/zoom/main');
    const lines: string[] = [];
    const running = await runSampleZoomCli(['--port', '0'], (l) => lines.push(l));
    try {
      expect(lines[0]).toBe(`Sample Zoom-like platform listening on ${running.url}`);
      expect(lines.join('\n')).toContain(DEFAULT_SAMPLE_ZOOM.secretToken);
      expect(lines.join('\n')).toContain('/__control/zoom/');
    } finally {
      await running.close();
    }
    await expect(runSampleZoomCli(['--nope', '1'])).rejects.toThrow('unknown or invalid argument');
    await expect(runSampleZoomCli(['--port'])).rejects.toThrow('needs a value');
  });
});
