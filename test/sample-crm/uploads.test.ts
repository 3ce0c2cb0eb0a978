import { createHash, randomBytes } from 'node:crypto';
import { manualClock, startApi, type Api } from './helpers';

type Json = Record<string, any>;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Zendesk sample CRM: uploads and attachments', () => {
  let api: Api;
  const clock = manualClock();
  // Every byte value, plus bytes that are invalid UTF-8, so any text re-encoding would show.
  const audio = Buffer.concat([Buffer.from([...Array(256).keys()]), randomBytes(200_000)]);

  beforeAll(async () => {
    api = await startApi({ clock: clock.now });
  });
  afterAll(() => api.running.close());

  const lastUploadRequest = () => api.running.crm.requests.filter((r) => r.path === '/api/v2/uploads.json').at(-1);

  async function expectStoredIntact(upload: Json, name: string, type: string): Promise<Json> {
    const att = upload.attachment;
    expect(upload.token).toEqual(expect.any(String));
    expect(upload.expires_at).toBe('2024-05-01T11:00:00Z');
    expect(att).toMatchObject({
      id: expect.any(Number),
      file_name: name,
      content_type: type,
      size: audio.length,
      url: `${api.url}/api/v2/attachments/${att.id}.json`,
    });
    const stored = api.running.crm.state.attachments.find((a) => a.id === att.id);
    expect(stored?.sha256).toBe(sha256(audio));
    expect(stored?.content.equals(audio)).toBe(true);

    const meta = await api.json<Json>(`/api/v2/attachments/${att.id}.json`);
    expect(meta.body.attachment).toEqual(att);
    // content_url is a real route serving the exact bytes, without credentials.
    const download = await fetch(att.content_url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toContain(type);
    expect(Buffer.from(await download.arrayBuffer()).equals(audio)).toBe(true);
    return upload;
  }

  it('(a) raw binary body, type guessed from the name for application/binary', async () => {
    const res = await api.json<Json>('/api/v2/uploads.json?filename=call.mp3', {
      method: 'POST',
      body: audio,
      headers: { 'content-type': 'application/binary' },
    });
    expect(res.status).toBe(201);
    await expectStoredIntact(res.body.upload, 'call.mp3', 'audio/mpeg');
    expect(lastUploadRequest()?.body).toEqual({
      file: { name: 'call.mp3', size: audio.length, mimetype: 'application/binary', sha256: sha256(audio) },
    });
  });

  it('(a) raw binary body keeps an explicit specific Content-Type', async () => {
    const res = await api.json<Json>('/api/v2/uploads.json?filename=rec.bin', { method: 'POST', body: audio, headers: { 'content-type': 'audio/wav' } });
    expect(res.status).toBe(201);
    await expectStoredIntact(res.body.upload, 'rec.bin', 'audio/wav');
  });

  it('(b) multipart/form-data with the part named "file"', async () => {
    const form = new FormData();
    form.append('note', 'hello');
    form.append('file', new Blob([audio], { type: 'audio/mpeg' }), 'part-name.mp3');
    const res = await api.json<Json>('/api/v2/uploads.json?filename=voicemail.mp3', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    await expectStoredIntact(res.body.upload, 'voicemail.mp3', 'audio/mpeg');
    expect(lastUploadRequest()?.body).toMatchObject({
      fields: { note: 'hello' },
      file: { name: 'part-name.mp3', size: audio.length, mimetype: 'audio/mpeg', sha256: sha256(audio) },
    });
  });

  it('(b) multipart without ?filename uses the part file name; missing "file" part → 400', async () => {
    const form = new FormData();
    form.append('file', new Blob([audio]), 'from-part.mp3');
    const res = await api.json<Json>('/api/v2/uploads.json', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    await expectStoredIntact(res.body.upload, 'from-part.mp3', 'audio/mpeg');

    const wrong = new FormData();
    wrong.append('attachment', new Blob([audio]), 'x.mp3');
    expect((await api.json('/api/v2/uploads.json', { method: 'POST', body: wrong })).status).toBe(400);
  });

  it('(c) JSON base64 extension', async () => {
    const res = await api.json<Json>('/api/v2/uploads.json', {
      body: { upload: { filename: 'b64.ogg', content_type: 'audio/ogg', content_base64: audio.toString('base64') } },
    });
    expect(res.status).toBe(201);
    await expectStoredIntact(res.body.upload, 'b64.ogg', 'audio/ogg');

    const bad = await api.json('/api/v2/uploads.json', { body: { upload: { filename: 'x', content_base64: '***' } } });
    expect(bad.status).toBe(400);
  });

  it('adds to an existing upload with ?token=, and rejects missing filename / empty body', async () => {
    const first = (await api.json<Json>('/api/v2/uploads.json?filename=1.txt', { method: 'POST', body: 'one', headers: { 'content-type': 'text/plain' } })).body
      .upload;
    const second = await api.json<Json>(`/api/v2/uploads.json?filename=2.txt&token=${first.token}`, {
      method: 'POST',
      body: 'two',
      headers: { 'content-type': 'text/plain' },
    });
    expect(second.status).toBe(201);
    expect(second.body.upload.token).toBe(first.token);
    expect((second.body.upload.attachments as Json[]).map((a) => a.file_name)).toEqual(['1.txt', '2.txt']);

    expect((await api.json('/api/v2/uploads.json', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(400);
    expect((await api.json('/api/v2/uploads.json?filename=e.txt', { method: 'POST' })).status).toBe(422);
    expect(
      (await api.json('/api/v2/uploads.json?filename=e.txt&token=nope', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(404);
  });

  it('attaches uploads to a ticket comment (create and update); expired tokens are rejected', async () => {
    const user = api.running.crm.seedUser({ name: 'Caller' });
    const up1 = (await api.json<Json>('/api/v2/uploads.json?filename=a.mp3', { method: 'POST', body: audio, headers: { 'content-type': 'audio/mpeg' } })).body
      .upload;
    const created = await api.json<Json>('/api/v2/tickets.json', {
      body: { ticket: { subject: 'Call', comment: { body: 'recording attached', uploads: [up1.token] }, requester_id: user.id } },
    });
    expect(created.status).toBe(201);
    const ticketId = created.body.ticket.id;

    const up2 = (await api.json<Json>('/api/v2/uploads.json?filename=b.mp3', { method: 'POST', body: audio, headers: { 'content-type': 'audio/mpeg' } })).body
      .upload;
    const updated = await api.json<Json>(`/api/v2/tickets/${ticketId}.json`, {
      method: 'PUT',
      body: { ticket: { comment: { body: 'second recording', public: false, uploads: [up2.token] } } },
    });
    expect(updated.status).toBe(200);

    const comments = (await api.json<Json>(`/api/v2/tickets/${ticketId}/comments.json`)).body.comments as Json[];
    expect(comments.map((c) => (c.attachments as Json[]).map((a) => a.file_name))).toEqual([['a.mp3'], ['b.mp3']]);
    const download = await fetch(comments[1].attachments[0].content_url);
    expect(Buffer.from(await download.arrayBuffer()).equals(audio)).toBe(true);

    const up3 = (await api.json<Json>('/api/v2/uploads.json?filename=c.mp3', { method: 'POST', body: 'x', headers: { 'content-type': 'audio/mpeg' } })).body
      .upload;
    clock.advance(61 * 60 * 1000);
    const expired = await api.json<Json>(`/api/v2/tickets/${ticketId}.json`, {
      method: 'PUT',
      body: { ticket: { comment: { body: 'late', uploads: [up3.token] } } },
    });
    expect(expired.status).toBe(422);
    expect(expired.body.details.uploads).toBeDefined();
  });

  it('unknown attachment → 404', async () => {
    expect((await api.json('/api/v2/attachments/1.json')).status).toBe(404);
    expect((await fetch(`${api.url}/attachments/token/nope/?name=x`)).status).toBe(404);
  });
});
