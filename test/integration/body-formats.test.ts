/**
 * Each body format and upload encoding, end to end against the sample CRM:
 * properties, container map, container array, GET query string; multipart, base64 and
 * binary uploads, attachment by URL and by ID with a builder URL.
 */
import crypto from 'node:crypto';
import { startHarness, type Harness } from '../helpers/harness';

const YAML = `
id: formats
base_url: "{{CRM}}"
allow_private_network: [127.0.0.1]
auth: { type: basic, username: agent@example.com/token, password: sample-token }
phone: { format: e164, default_region: GB }
endpoints:
  find_account:
    method: GET
    url: /api/v2/users/search.json
    params: { query: "phone:{PHONE_NUMBER}" }
    response_data_location: users
  # Properties: the params are the body; nesting is written out.
  create_account:
    method: POST
    url: /api/v2/users.json
    body_format: properties
    params:
      user: { name: "{NAME}", phone: "{PHONE_NUMBER}", email: "{EMAIL}" }
    response_data_location: user
  create_record:
    method: POST
    url: /api/v2/tickets.json
    body_format: container_map
    container_name: ticket
    params: { subject: "{TICKET_SUBJECT}", requester_id: "{ACCOUNT_ID}", comment: { body: "{TICKET_DESCRIPTION}" } }
    response_data_location: ticket
  add_comment:
    method: PUT
    url: /api/v2/tickets/{RECORD_ID}.json
    body_format: container_map
    container_name: ticket
    params: { comment: { body: "{COMMENT_BODY}", public: false } }
    response_data_location: ticket
  upload_file:
    method: POST
    url: /api/v2/uploads.json
    body_format: container_map
    container_name: upload
    params: { filename: "{FILE_NAME}", content_type: "{FILE_TYPE}", content_base64: "{FILE_DATA}" }
    upload:
      encoding: base64
      attachment: { by: id, id_location: attachment.id, builder_url: "{{CRM}}/api/v2/attachments/{ATTACHMENT_ID}.json" }
      add_comment: true
      comment_template: "Recording for ticket {{RECORD_ID}}: {{ATTACHMENT_URL}}"
    response_data_location: upload
    id_location: token
`;

// Container array: Zendesk's bulk create takes {"users": [ {...} ]}.
const ARRAY_YAML = YAML.replace('id: formats', 'id: formats-array')
  .replace(
    `  create_account:
    method: POST
    url: /api/v2/users.json
    body_format: properties
    params:
      user: { name: "{NAME}", phone: "{PHONE_NUMBER}", email: "{EMAIL}" }
    response_data_location: user`,
    `  create_account:
    method: POST
    url: /api/v2/users/create_many.json
    body_format: container_array
    container_name: users
    params: { name: "{NAME}", phone: "{PHONE_NUMBER}" }
    response_data_location: job_status.results[0]`,
  )
  // Binary: the file is the whole body, the name goes in the URL.
  .replace(
    / {2}upload_file:[\s\S]*$/,
    `  upload_file:
    method: POST
    url: /api/v2/uploads.json?filename={FILE_NAME}
    upload:
      encoding: binary
      attachment: { by: url, url_location: attachment.content_url }
    response_data_location: upload
    id_location: token
`,
  );

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ connectors: { 'formats.yaml': YAML, 'array.yaml': ARRAY_YAML } });
});
afterAll(async () => {
  await h.close();
});

const lastApi = () => h.crm.crm.requests.filter((r) => r.path.startsWith('/api/')).at(-1)!;

test('properties: the params are the JSON body as written', async () => {
  const r = await h.op('create_account', { NAME: 'Ada Props', PHONE_NUMBER: '020 7946 0958', EMAIL: 'ada@example.co.uk' }, { connector: 'formats' });
  expect(r.body.outcome).toBe('ok');
  expect(lastApi().body).toEqual({ user: { name: 'Ada Props', phone: '+442079460958', email: 'ada@example.co.uk' } });
});

test('GET: params become the query string (e164 search variant)', async () => {
  const r = await h.op('find_account', { PHONE_NUMBER: '+44 20 7946 0958' }, { connector: 'formats' });
  expect(r.body.outcome).toBe('ok');
  expect(lastApi()).toMatchObject({ method: 'GET', query: { query: 'phone:+442079460958' } });
});

test('container array: {"users": [ {...} ]}, id read from the job results', async () => {
  const r = await h.op('create_account', { NAME: 'Bulk One', PHONE_NUMBER: '+33 1 23 45 67 89' }, { connector: 'formats-array' });
  expect(r.body).toMatchObject({ outcome: 'ok', ids: { ACCOUNT_ID: expect.any(Number) } });
  expect(lastApi().body).toEqual({ users: [{ name: 'Bulk One', phone: '+33123456789' }] });
  expect(h.crm.crm.state.users.find((u) => u.id === r.body.ids.ACCOUNT_ID)!.name).toBe('Bulk One');
});

describe('uploads', () => {
  let recordId: number;
  const bytes = crypto.randomBytes(4096);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');

  beforeAll(async () => {
    const account = await h.op('create_account', { NAME: 'Uploader', PHONE_NUMBER: '+44 20 7946 0000' }, { connector: 'formats' });
    const record = await h.op(
      'create_record',
      { ACCOUNT_ID: account.body.ids.ACCOUNT_ID, TICKET_SUBJECT: 'Files', TICKET_DESCRIPTION: 'd' },
      { connector: 'formats' },
    );
    recordId = record.body.ids.RECORD_ID;
  });

  test('base64 in a JSON container; attachment by ID with builder URL; comment with the link', async () => {
    const r = await h.op(
      'upload_file',
      { RECORD_ID: recordId, FILE_NAME: 'call.wav', FILE_TYPE: 'audio/wav', FILE_KIND: 'call_recording', FILE_DATA: bytes.toString('base64') },
      { connector: 'formats' },
    );
    expect(r.status).toBe(200);
    const attachment = h.crm.crm.state.attachments.at(-1)!;
    expect(attachment.sha256).toBe(sha);
    expect(r.body.ids).toMatchObject({ ATTACHMENT_ID: attachment.id, ATTACHMENT_URL: `${h.crm.url}/api/v2/attachments/${attachment.id}.json` });
    const comment = h.crm.crm.state.comments.filter((c) => c.ticket_id === recordId).at(-1)!;
    expect(comment.body).toBe(`Recording for ticket ${recordId}: ${r.body.ids.ATTACHMENT_URL}`);
  });

  test('binary: the file is the raw body with its content type', async () => {
    const r = await h.op(
      'upload_file',
      { RECORD_ID: recordId, FILE_NAME: 'photo 1.jpg', FILE_TYPE: 'image/jpeg', FILE_KIND: 'photo', FILE_DATA: bytes.toString('base64') },
      { connector: 'formats-array' },
    );
    expect(r.status).toBe(200);
    const attachment = h.crm.crm.state.attachments.at(-1)!;
    expect(attachment).toMatchObject({ file_name: 'photo 1.jpg', content_type: 'image/jpeg', sha256: sha });
    expect(lastApi().headers['content-type']).toBe('image/jpeg');
    expect(r.body.ids.ATTACHMENT_URL).toContain(h.crm.url);
  });

  test('multipart file sent to a base64 endpoint is encoded for it', async () => {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'audio/wav' }), 'vm.wav');
    form.append('variables', JSON.stringify({ RECORD_ID: recordId, FILE_KIND: 'voicemail' }));
    const res = await fetch(`${h.gw.url}/v1/connectors/formats/operations/upload_file`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(h.crm.crm.state.attachments.at(-1)!).toMatchObject({ file_name: 'vm.wav', sha256: sha });
  });
});
