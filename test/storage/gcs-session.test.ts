/**
 * A whole session with a GCS bucket as the connector's external storage: the recording lands in
 * the bucket under the platform's layout, through the real client, with the service account's
 * bearer on the write that lands; the bucket failing for a while delays the copy, never duplicates it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { startSampleGcs, type SampleGcs } from '../../src/sample-storage/gcs';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const EMAIL = 'crm-gateway@test-project.iam.gserviceaccount.com';
const KEY_JSON = JSON.stringify({
  type: 'service_account',
  project_id: 'test-project',
  client_email: EMAIL,
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
});
const MP3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(2048, 0x5a)]);

describe('a session with a GCS bucket as external storage', () => {
  jest.setTimeout(120_000);
  let gcs: SampleGcs;
  let h: Harness;

  beforeAll(async () => {
    gcs = await startSampleGcs({
      auth: { required: true, serviceAccounts: [{ clientEmail: EMAIL, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
    });
    const yaml = `${bundled('zendesk.yaml')}
storage:
  type: gcs
  bucket: acme-recordings
  folder: crm-gateway/test
  api_endpoint: ${gcs.url}
  credentials:
    service_account_json: \${env:GCS_KEY}
`;
    h = await startHarness({ connectors: { 'zendesk.yaml': yaml }, env: { GCS_KEY: KEY_JSON } });
  });
  afterAll(async () => {
    await h?.close();
    await gcs?.close();
  });

  const post = async (sessionId: string, body: unknown) => {
    const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${sessionId}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.status;
  };
  const call = (type: string, callId: number) => ({
    type,
    data: {
      agent_id: 1,
      agent_email: 'Kim@example.com',
      queue_id: 8469,
      queue_path: 'Developers / Kim',
      call_id: callId,
      session_type: 'Voice Campaign (UJET)',
      custom_sip_headers: { 'X-Caller-Number': '+1 222 333 7409' },
    },
  });

  async function until<T>(what: () => T | undefined, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = what();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('the recording lands once, under the layout, after the bucket failed twice', async () => {
    const S = 'gcs-session-1';
    gcs.injectFault({ method: 'POST', path: '/upload/', status: 503, times: 2 });
    expect(await post(S, call('New_Call', 7001))).toBe(202);
    expect(
      await post(S, {
        type: 'File_Available',
        data: { kind: 'call_recording', file_name: 'call-7001.mp3', content_type: 'audio/mpeg', content_base64: MP3.toString('base64') },
      }),
    ).toBe(202);
    expect(await post(S, call('End_Call', 7001))).toBe(202);

    const stored = await until(() => gcs.object('acme-recordings', 'crm-gateway/test/ujet-voice-recordings/call-7001.mp3'));
    expect(stored.data.equals(MP3)).toBe(true);
    expect(stored.contentType).toBe('audio/mpeg');
    const uploads = gcs.requests.filter(
      (r) => r.path === '/upload/storage/v1/b/acme-recordings/o' && r.query.name === 'crm-gateway/test/ujet-voice-recordings/call-7001.mp3',
    );
    expect(uploads.map((r) => r.status)).toEqual([503, 503, 200]);
    // The faults answer before authentication; the write that landed was authenticated.
    expect(uploads.at(-1)!.auth).toEqual({ method: 'bearer', subject: EMAIL });
    expect([...gcs.objects.keys()].filter((k) => k.includes('ujet-voice-recordings'))).toHaveLength(1);

    // The step is visible in the session view, delivered.
    const view = (await h.get(`/v1/connectors/zendesk/sessions/${S}`)).body;
    expect(view.steps.filter((s: { operation: string }) => s.operation === 'store_file').map((s: { status: string }) => s.status)).toContain('delivered');
  });
});
