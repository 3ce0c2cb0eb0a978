/**
 * Files reported by Zoom-style webhooks reach external storage like any other: the gateway
 * downloads them from the (sample) platform, and the recording and its transcript land on the
 * (real, in-process) SFTP server under the engagement's call id, with the platform's bytes.
 */
import { startSampleZoom, type RunningSampleZoom } from '../../src/sample-platform/zoom';
import { startHarness, type Harness } from '../helpers/harness';
import { postSigned, settled, zoomEnv, zoomZendeskYaml } from '../platforms/zoom/helpers';
import { startSftpServer, type TestSftpServer } from './sftp-server';

jest.setTimeout(60_000);

let z: RunningSampleZoom;
let h: Harness;
let srv: TestSftpServer;

beforeAll(async () => {
  srv = await startSftpServer();
  z = await startSampleZoom();
  const storage = `\nstorage:\n  type: sftp\n  host: 127.0.0.1\n  port: ${srv.port}\n  user: ${srv.user}\n  password: \${env:SFTP_PASSWORD}\n  host_key_sha256: "${srv.fingerprint}"\n  folder: zoom\n`;
  h = await startHarness({ connectors: { 'zendesk.yaml': zoomZendeskYaml() + storage }, env: { ...zoomEnv(z.url), SFTP_PASSWORD: srv.password } });
});
afterAll(async () => {
  await h.close();
  await z.close();
  await srv.close();
});

test('a recording and its transcript from webhooks: stored under the engagement, bytes as the platform has them', async () => {
  const ENG = 'eng-store-1';
  const audio = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
  const vtt = 'WEBVTT\n\n00:00.000 --> 00:01.000\nHello';
  z.zoom.addEngagement({
    engagement_id: ENG,
    channel: 'voice',
    queue_name: 'Billing',
    user_email: 'kim@example.com',
    consumer: { number: '+12223334888', name: 'Zoe Zoom' },
  });
  z.zoom.addRecording({ engagement_id: ENG, recording_id: 'r-1', content: audio, transcript: vtt });
  const hook = `${h.gw.url}/v1/connectors/zendesk/webhooks/zoom`;
  expect((await postSigned(hook, z.zoom.events.recordingCompleted('r-1'))).status).toBe(200);
  expect((await postSigned(hook, z.zoom.events.recordingTranscriptCompleted('r-1'))).status).toBe(200);
  const v = await settled(h.gw.url, 'zendesk', ENG);
  expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  expect(v.steps.filter((s: { operation: string }) => s.operation === 'store_file')).toHaveLength(2);
  expect(srv.files().filter((f) => f.startsWith('zoom/') && !f.endsWith('/'))).toEqual([
    'zoom/ujet-chat-transcripts/call-eng-store-1.txt',
    'zoom/ujet-voice-recordings/call-eng-store-1.mp3',
  ]);
  expect(srv.read('zoom/ujet-voice-recordings/call-eng-store-1.mp3').equals(audio)).toBe(true);
  expect(srv.read('zoom/ujet-chat-transcripts/call-eng-store-1.txt').toString()).toBe(vtt);
});
