/**
 * The same storage steps on PostgreSQL (the store replicas share): a file copied while the
 * SFTP server is down keeps its bytes in the store and lands once the server is back; the
 * metadata file follows the end.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';
import { startSftpServer, type TestSftpServer } from './sftp-server';

jest.setTimeout(60_000);

let srv: TestSftpServer;
let h: Harness | undefined;
const schema = newSchemaName();

beforeAll(async () => {
  if (!(await postgresAvailable())) return;
  srv = await startSftpServer();
  const yaml = `${bundled('zendesk.yaml')}\nstorage:\n  type: sftp\n  host: 127.0.0.1\n  port: ${srv.port}\n  user: ${srv.user}\n  password: \${env:SFTP_PASSWORD}\n  host_key_sha256: "${srv.fingerprint}"\nmetadata_file: { delay_minutes: 0.01 }\n`;
  h = await startHarness({ connectors: { 'zendesk.yaml': yaml }, env: { SFTP_PASSWORD: srv.password, DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } });
});
afterAll(async () => {
  await h?.close();
  await srv?.close();
  if (h) await dropSchema(schema);
});

test('PostgreSQL: down, then up: the recording and the metadata file land once', async () => {
  if (!h) return;
  expect(h.gw.store.kind).toBe('postgres');
  const S = 'pg-call-6001';
  const audio = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  await srv.stop();
  for (const e of [
    { type: 'Session_Started', event_id: 'p1', data: { call_id: 6001, end_user: { name: 'Pat Gres', email: 'pat6001@example.com' } } },
    { type: 'File_Available', event_id: 'p2', data: { kind: 'call_recording', content_type: 'audio/mpeg', content_base64: audio.toString('base64') } },
    { type: 'End_Call', event_id: 'p3', data: { call_id: 6001 } },
  ]) {
    const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${S}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(e),
    });
    expect(res.status).toBe(202);
  }
  const step = async (name: string) => (await h!.get(`/v1/connectors/zendesk/sessions/${S}`)).body.steps.find((s: { name: string }) => s.name === name);
  for (const end = Date.now() + 10_000; Date.now() < end && !(await step('p2:store'))?.last_error; ) await new Promise((r) => setTimeout(r, 50));
  expect(await step('p2:store')).toMatchObject({ status: 'pending', last_error: { code: 'storage_failed' } });
  await srv.start();
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if ((await step('p2:store'))?.status === 'delivered' && (await step('metadata_file:follow-up:store_file'))?.status === 'delivered') break;
  }
  expect(srv.files().filter((f) => !f.endsWith('/'))).toEqual(['ujet-metadata/call-6001.json', 'ujet-voice-recordings/call-6001.mp3']);
  expect(srv.read('ujet-voice-recordings/call-6001.mp3').equals(audio)).toBe(true);
  expect(JSON.parse(srv.read('ujet-metadata/call-6001.json').toString())).toMatchObject({ session_id: S, call_id: 6001 });
});
