/**
 * The HubSpot-like sample CRM over real HTTP: auth (private app token, OAuth code + refresh),
 * CRM v3 objects and their search syntax, HubSpot's error bodies, and file uploads byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { DEFAULT_HUBSPOT_AUTH, HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN } from '../../src/sample-crm/hubspot';
import { manualClock, request, T0, type Reply } from './helpers';

const TOKEN = `Bearer ${HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const clock = manualClock();
let hs: RunningSampleCrm<'hubspot'>;
beforeAll(async () => {
  hs = await startSampleCrm({ flavor: 'hubspot', port: 0, clock: clock.now });
});
afterAll(async () => {
  await hs.close();
});
beforeEach(() => {
  hs.crm.reset();
  clock.set(T0);
});

type Res = Reply;

/** A HubSpot call with the private-app token; a string body is (possibly broken) JSON. */
const call = (method: string, path: string, body?: unknown, headers: Record<string, string | null> = {}): Promise<Res> =>
  request(
    hs.url + path,
    { method, body, headers: { ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...headers } },
    { authorization: TOKEN },
  );

const createContact = (properties: Record<string, unknown>) => call('POST', '/crm/v3/objects/contacts', { properties });
const search = (type: string, body: unknown) => call('POST', `/crm/v3/objects/${type}/search`, body);
const ids = (r: Res) => r.body.results.map((x: { id: string }) => x.id);
const problems = (r: Res) => JSON.parse(/^Property values were not valid: (.*)$/s.exec(r.body.message)![1]);

describe('auth', () => {
  test("no credentials → 401 with HubSpot's body and a fresh correlation id each time", async () => {
    const a = await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: null });
    const b = await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: null });
    expect(a.status).toBe(401);
    expect(a.body).toEqual({
      status: 'error',
      message: expect.stringMatching(/^Authentication credentials not found\. This API supports OAuth 2\.0 authentication/),
      correlationId: expect.stringMatching(UUID),
      category: 'INVALID_AUTHENTICATION',
    });
    expect(b.body.correlationId).not.toBe(a.body.correlationId);
  });

  test('the private app token is accepted; a wrong one and the Zendesk defaults are not', async () => {
    expect((await call('GET', '/crm/v3/objects/contacts')).status).toBe(200);
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: 'Bearer pat-na1-wrong' })).body.category).toBe('INVALID_AUTHENTICATION');
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: null, 'x-api-key': 'sample-key' })).status).toBe(401);
    expect(hs.crm.requests[0].auth).toEqual({ method: 'api_key', subject: 'Authorization' });
  });

  test('OAuth: authorize → code → form-encoded token → bearer; expiry after 30 min; refresh keeps the refresh token', async () => {
    const { clientId, clientSecret } = DEFAULT_HUBSPOT_AUTH.oauth;
    const authorize = await fetch(
      `${hs.url}/oauth/authorize?client_id=${clientId}&response_type=code&scope=crm.objects.contacts.read&redirect_uri=${encodeURIComponent('http://app.example/cb')}&state=s1`,
      { redirect: 'manual' },
    );
    expect(authorize.status).toBe(302);
    const back = new URL(authorize.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe('s1');
    const form = (p: Record<string, string>) =>
      fetch(`${hs.url}/oauth/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(p) });

    const tokenRes = await form({
      grant_type: 'authorization_code',
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: 'http://app.example/cb',
      code: back.searchParams.get('code')!,
    });
    const token = (await tokenRes.json()) as Record<string, unknown>;
    expect(tokenRes.status).toBe(200);
    expect(token).toEqual({ token_type: 'bearer', refresh_token: expect.any(String), access_token: expect.any(String), expires_in: 1800 });
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: `Bearer ${token.access_token}` })).status).toBe(200);

    clock.advance(1800_000);
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: `Bearer ${token.access_token}` })).status).toBe(401);

    const refreshed = (await (
      await form({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: String(token.refresh_token) })
    ).json()) as Record<string, unknown>;
    expect(refreshed.refresh_token).toBe(token.refresh_token);
    expect(refreshed.access_token).not.toBe(token.access_token);
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, { authorization: `Bearer ${refreshed.access_token}` })).status).toBe(200);
    // Not rotated: the same refresh token works again.
    expect(
      (await form({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: String(token.refresh_token) })).status,
    ).toBe(200);
  });

  test("OAuth errors in HubSpot's shape", async () => {
    const { clientId, clientSecret } = DEFAULT_HUBSPOT_AUTH.oauth;
    const post = async (p: Record<string, string>) => {
      const r = await fetch(`${hs.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(p),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(await post({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: 'nope' })).toEqual({
      status: 400,
      body: { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token', correlationId: expect.stringMatching(UUID) },
    });
    expect((await post({ grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code: 'nope' })).body.status).toBe(
      'BAD_AUTH_CODE',
    );
    expect((await post({ grant_type: 'authorization_code', client_id: clientId, client_secret: 'wrong', code: 'x' })).body.status).toBe('BAD_CLIENT_ID');
  });
});

describe('contacts', () => {
  test('create → 201 with string id, normalised email, system properties and the computed searchable phone', async () => {
    const r = await createContact({ firstname: 'Kim', lastname: 'Lee', email: 'Kim@Example.com', phone: '+12223334444' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^\d+$/),
      properties: {
        firstname: 'Kim',
        lastname: 'Lee',
        email: 'kim@example.com',
        phone: '+12223334444',
        hs_searchable_calculated_phone_number: '2223334444',
        createdate: '2024-05-01T10:00:00.000Z',
        lastmodifieddate: '2024-05-01T10:00:00.000Z',
        hs_object_id: r.body.id,
      },
      createdAt: '2024-05-01T10:00:00.000Z',
      updatedAt: '2024-05-01T10:00:00.000Z',
      archived: false,
    });
    expect(hs.crm.state.contacts).toHaveLength(1);
  });

  test('GET by id: the default properties (unset ones null), or the ones asked for; by email with idProperty', async () => {
    const { body: c } = await createContact({ firstname: 'Kim', phone: '+12223334444', email: 'kim@example.com' });
    const r = await call('GET', `/crm/v3/objects/contacts/${c.id}`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    expect(r.body.properties.lastname).toBeNull();
    const some = await call('GET', `/crm/v3/objects/contacts/${c.id}?properties=phone,company&properties=nonexistent`);
    expect(some.body.properties).toEqual({
      phone: '+12223334444',
      company: null,
      createdate: expect.any(String),
      hs_object_id: c.id,
      lastmodifieddate: expect.any(String),
    });
    expect((await call('GET', '/crm/v3/objects/contacts/KIM@example.com?idProperty=email')).body.id).toBe(c.id);
  });

  test('unknown id → 404 OBJECT_NOT_FOUND', async () => {
    const r = await call('GET', '/crm/v3/objects/contacts/999999');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ status: 'error', message: 'resource not found', correlationId: expect.stringMatching(UUID), category: 'OBJECT_NOT_FOUND' });
  });

  test('invalid values are all listed in one 400 VALIDATION_ERROR', async () => {
    const r = await createContact({ email: 'not-an-email', favourite_colour: 'blue', lifecyclestage: 'friend', hs_object_id: '5' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', correlationId: expect.stringMatching(UUID) });
    expect(problems(r)).toEqual([
      {
        isValid: false,
        message: 'Email address not-an-email is invalid',
        error: 'INVALID_EMAIL',
        name: 'email',
        localizedErrorMessage: 'Email address not-an-email is invalid',
      },
      expect.objectContaining({ error: 'PROPERTY_DOESNT_EXIST', name: 'favourite_colour', message: 'Property "favourite_colour" does not exist' }),
      expect.objectContaining({ error: 'INVALID_OPTION', name: 'lifecyclestage' }),
      expect.objectContaining({ error: 'READ_ONLY_VALUE', name: 'hs_object_id' }),
    ]);
    expect(hs.crm.state.contacts).toHaveLength(0);
  });

  test('a second contact with the same email → 409 CONFLICT naming the existing id', async () => {
    const first = await createContact({ email: 'kim@example.com' });
    const r = await createContact({ email: 'KIM@example.com', firstname: 'Other' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ status: 'error', message: `Contact already exists. Existing ID: ${first.body.id}`, category: 'CONFLICT' });
  });

  test('a body without "properties", unreadable JSON, a wrong content type', async () => {
    expect((await call('POST', '/crm/v3/objects/contacts', {})).body.message).toMatch(/Missing required creator property 'properties'/);
    const bad = await call('POST', '/crm/v3/objects/contacts', '{"properties": {');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ category: 'VALIDATION_ERROR', message: expect.stringMatching(/^Invalid input JSON/) });
    expect((await call('POST', '/crm/v3/objects/contacts', 'a=b', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  test('PATCH updates, "" clears; DELETE archives (then 404)', async () => {
    const { body: c } = await createContact({ firstname: 'Kim', company: 'ACME' });
    clock.advance(60_000);
    const r = await call('PATCH', `/crm/v3/objects/contacts/${c.id}`, { properties: { firstname: 'Kimberly', company: '' } });
    expect(r.status).toBe(200);
    expect(r.body.properties).toMatchObject({ firstname: 'Kimberly', lastmodifieddate: '2024-05-01T10:01:00.000Z' });
    expect(r.body.properties.company).toBeUndefined();
    expect(r.body.updatedAt).toBe('2024-05-01T10:01:00.000Z');
    expect((await call('DELETE', `/crm/v3/objects/contacts/${c.id}`)).status).toBe(204);
    expect((await call('GET', `/crm/v3/objects/contacts/${c.id}`)).status).toBe(404);
    expect((await call('GET', `/crm/v3/objects/contacts/${c.id}?archived=true`)).body.archived).toBe(true);
  });

  test('an unknown object type → 400', async () => {
    const r = await call('GET', '/crm/v3/objects/widgets');
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('Unable to infer object type from: widgets');
    expect((await call('GET', '/crm/v3/objects/0-1')).status).toBe(200);
  });
});

describe('search', () => {
  let kim: string, kim2: string, lee: string;
  beforeEach(async () => {
    kim = hs.crm.seedContact({ properties: { firstname: 'Kim', lastname: 'Lee', email: 'kim@example.com', phone: '+12223334444' }, createdAt: T0 - 3_000 }).id;
    kim2 = hs.crm.seedContact({
      properties: { firstname: 'Kim', lastname: 'Park', email: 'kim@other.org', phone: '(222) 333-4444' },
      createdAt: T0 - 2_000,
    }).id;
    lee = hs.crm.seedContact({ properties: { firstname: 'Lee', lastname: 'Kim', email: 'lee@example.com', phone: '+447946000000' }, createdAt: T0 - 1_000 }).id;
  });

  test('EQ is exact (the phone as stored), case-insensitive for text; no match → total 0, no paging', async () => {
    const r = await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '+12223334444' }] }] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 1, results: [{ id: kim, properties: { email: 'kim@example.com', hs_object_id: kim }, archived: false }] });
    expect(r.body.paging).toBeUndefined();
    expect(ids(await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'KIM@EXAMPLE.COM' }] }] }))).toEqual([
      kim,
    ]);
    const none = await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '2223334444' }] }] });
    expect(none.body).toEqual({ total: 0, results: [] });
  });

  test('CONTAINS_TOKEN: whole tokens, * as a wildcard; the calculated phone matches any format', async () => {
    const q = (propertyName: string, operator: string, value: string) =>
      search('contacts', { filterGroups: [{ filters: [{ propertyName, operator, value }] }] }).then(ids);
    // A formatted phone is several tokens: "(222) 333-4444" → 222, 333, 4444.
    expect(await q('phone', 'CONTAINS_TOKEN', '*3334444')).toEqual([kim]);
    expect(await q('phone', 'CONTAINS_TOKEN', '*4444')).toEqual([kim, kim2]);
    expect(await q('email', 'CONTAINS_TOKEN', '*@example.com')).toEqual([kim, lee]);
    expect(await q('email', 'CONTAINS_TOKEN', 'other')).toEqual([kim2]);
    expect(await q('email', 'CONTAINS_TOKEN', 'exam')).toEqual([]);
    expect(await q('email', 'NOT_CONTAINS_TOKEN', '*@example.com')).toEqual([kim2]);
    expect(await q('hs_searchable_calculated_phone_number', 'EQ', '2223334444')).toEqual([kim, kim2]);
  });

  test('filter groups are ORed, filters inside a group ANDed', async () => {
    const r = await search('contacts', {
      filterGroups: [
        {
          filters: [
            { propertyName: 'firstname', operator: 'EQ', value: 'kim' },
            { propertyName: 'lastname', operator: 'EQ', value: 'park' },
          ],
        },
        { filters: [{ propertyName: 'email', operator: 'EQ', value: 'lee@example.com' }] },
      ],
    });
    expect(ids(r)).toEqual([kim2, lee]);
    expect(ids(await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'firstname', operator: 'IN', values: ['lee', 'nobody'] }] }] }))).toEqual([
      lee,
    ]);
    expect(
      ids(await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: String(T0 - 2_000) }] }] })),
    ).toEqual([kim2, lee]);
    expect(ids(await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'company', operator: 'NOT_HAS_PROPERTY' }] }] }))).toHaveLength(3);
  });

  test('sorts, limit and after page through; properties choose what comes back', async () => {
    const body = { sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }], limit: 2, properties: ['phone'] };
    const first = await search('contacts', body);
    expect(first.body.total).toBe(3);
    expect(ids(first)).toEqual([lee, kim2]);
    expect(first.body.paging).toEqual({ next: { after: '2', link: '?after=2' } });
    expect(Object.keys(first.body.results[0].properties).sort()).toEqual(['createdate', 'hs_object_id', 'lastmodifieddate', 'phone']);
    const second = await search('contacts', { ...body, after: first.body.paging.next.after });
    expect(ids(second)).toEqual([kim]);
    expect(second.body.paging).toBeUndefined();
    expect(ids(await search('contacts', { sorts: ['-lastname'] }))).toEqual([kim2, kim, lee]);
    expect(ids(await search('contacts', {}))).toEqual([kim, kim2, lee]); // default: oldest first
  });

  test('query: free text over the default searchable properties', async () => {
    expect(ids(await search('contacts', { query: 'kim park' }))).toEqual([kim2]);
    expect(
      ids(
        await search('contacts', {
          query: 'lee',
          filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@example.com' }] }],
        }),
      ),
    ).toEqual([kim, lee]);
  });

  test('bad searches are 400 VALIDATION_ERROR', async () => {
    const f = (filter: Record<string, unknown>) => ({ filterGroups: [{ filters: [filter] }] });
    const cases: Array<[unknown, RegExp]> = [
      [f({ propertyName: 'colour', operator: 'EQ', value: 'x' }), /Property "colour" does not exist/],
      [f({ propertyName: 'email', operator: 'EQ' }), /requires a value/],
      [f({ propertyName: 'email', operator: 'LIKE', value: 'x' }), /not one of the values accepted/],
      [{ filterGroups: Array.from({ length: 6 }, () => ({ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] })) }, /at most 5/],
      [{ filterGroups: [{ filters: Array.from({ length: 7 }, () => ({ propertyName: 'email', operator: 'HAS_PROPERTY' })) }] }, /at most 6 per group/],
      [{ limit: 201 }, /limit must be less than or equal to 200/],
      [{ after: '9990', limit: 20 }, /at most 10000 results/],
    ];
    for (const [body, message] of cases) {
      const r = await search('contacts', body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: expect.stringMatching(message) });
    }
  });
});

describe('tickets and notes', () => {
  let contact: string;
  beforeEach(() => {
    contact = hs.crm.seedContact({ properties: { email: 'kim@example.com' } }).id;
  });
  const toContact = (id: string) => [{ to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 16 }] }];

  test('create a ticket linked to the contact (type 16); GET ?associations=contacts shows it', async () => {
    const r = await call('POST', '/crm/v3/objects/tickets', {
      properties: { subject: 'Printer', content: 'Jammed', hs_pipeline: '0', hs_pipeline_stage: '1' },
      associations: toContact(contact),
    });
    expect(r.status).toBe(201);
    expect(r.body.properties).toMatchObject({
      subject: 'Printer',
      content: 'Jammed',
      hs_pipeline: '0',
      hs_pipeline_stage: '1',
      hs_object_id: r.body.id,
      createdate: expect.any(String),
      hs_lastmodifieddate: expect.any(String),
    });
    expect(hs.crm.associatedIds('tickets', r.body.id, 'contacts')).toEqual([contact]);
    expect(hs.crm.associatedIds('contacts', contact, 'tickets')).toEqual([r.body.id]);
    const got = await call('GET', `/crm/v3/objects/tickets/${r.body.id}?associations=contacts`);
    expect(got.body.associations).toEqual({ contacts: { results: [{ id: contact, type: 'ticket_to_contact' }] } });
    expect(got.body.properties.hs_ticket_category).toBeNull();
  });

  test('without a pipeline stage, with an unknown stage, or with a bad association → 400', async () => {
    const missing = await call('POST', '/crm/v3/objects/tickets', { properties: { subject: 'x', hs_pipeline: '0' } });
    expect(missing.status).toBe(400);
    expect(missing.body.category).toBe('VALIDATION_ERROR');
    expect(missing.body).toEqual({
      status: 'error',
      message: 'Error creating TICKET. Some required properties were not set.',
      correlationId: expect.stringMatching(UUID),
      category: 'VALIDATION_ERROR',
      context: { properties: ['hs_pipeline_stage'] },
    });
    expect(problems(await call('POST', '/crm/v3/objects/tickets', { properties: { hs_pipeline_stage: '9' } }))).toEqual([
      expect.objectContaining({ error: 'INVALID_OPTION', message: '9 was not one of the allowed options: [1, 2, 3, 4]' }),
    ]);
    expect((await call('POST', '/crm/v3/objects/tickets', { properties: { hs_pipeline_stage: '1' }, associations: toContact('999999') })).body.message).toMatch(
      /associations are invalid: no contact 999999 exists/,
    );
    const wrongType = await call('POST', '/crm/v3/objects/tickets', {
      properties: { hs_pipeline_stage: '1' },
      associations: [{ to: { id: contact }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 228 }] }],
    });
    expect(wrongType.body.message).toMatch(/228 is not a valid HUBSPOT_DEFINED association type from ticket/);
    expect(hs.crm.state.tickets).toHaveLength(0);
  });

  test('the pipeline defaults to "0"; PATCH to stage 4 closes (closed_date), back to 2 reopens', async () => {
    const t = hs.crm.seedTicket({ properties: { hs_pipeline: undefined }, contactId: contact });
    expect(t.properties.hs_pipeline).toBe('0');
    clock.advance(5_000);
    const closed = await call('PATCH', `/crm/v3/objects/tickets/${t.id}`, { properties: { hs_pipeline_stage: '4' } });
    expect(closed.body.properties).toMatchObject({ hs_pipeline_stage: '4', closed_date: '2024-05-01T10:00:05.000Z' });
    const reopened = await call('PATCH', `/crm/v3/objects/tickets/${t.id}`, { properties: { hs_pipeline_stage: '2' } });
    expect(reopened.body.properties.closed_date).toBeUndefined();
    expect((await call('PATCH', '/crm/v3/objects/tickets/123', { properties: { subject: 'x' } })).status).toBe(404);
  });

  test('search tickets by associated contact and open stage', async () => {
    const open = hs.crm.seedTicket({ contactId: contact, createdAt: T0 - 1000 }).id;
    hs.crm.seedTicket({ contactId: contact, properties: { hs_pipeline_stage: '4' } });
    hs.crm.seedTicket({ contactId: hs.crm.seedContact().id });
    const newer = hs.crm.seedTicket({ contactId: contact, properties: { hs_pipeline_stage: '3' } }).id;
    const r = await search('tickets', {
      filterGroups: [
        {
          filters: [
            { propertyName: 'associations.contact', operator: 'EQ', value: contact },
            { propertyName: 'hs_pipeline_stage', operator: 'NEQ', value: '4' },
          ],
        },
      ],
      sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }],
    });
    expect(ids(r)).toEqual([newer, open]);
    expect(Object.keys(r.body.results[0].properties)).toContain('hs_pipeline_stage');
  });

  test('notes: type 228 links to the ticket; hs_timestamp is required (ms or ISO, stored as ISO)', async () => {
    const ticket = hs.crm.seedTicket({ contactId: contact }).id;
    const r = await call('POST', '/crm/v3/objects/notes', {
      properties: { hs_note_body: 'Caller rated 5/5', hs_timestamp: String(T0 - 60_000), hs_attachment_ids: '150000001;150000002' },
      associations: [{ to: { id: ticket }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 228 }] }],
    });
    expect(r.status).toBe(201);
    expect(r.body.properties).toMatchObject({
      hs_note_body: 'Caller rated 5/5',
      hs_timestamp: '2024-05-01T09:59:00.000Z',
      hs_attachment_ids: '150000001;150000002',
      hs_createdate: '2024-05-01T10:00:00.000Z',
    });
    expect(hs.crm.associatedIds('tickets', ticket, 'notes')).toEqual([r.body.id]);
    const missing = await call('POST', '/crm/v3/objects/notes', { properties: { hs_note_body: 'x' } });
    expect(missing.body).toMatchObject({ message: 'Error creating NOTE. Some required properties were not set.', context: { properties: ['hs_timestamp'] } });
    expect(problems(await call('POST', '/crm/v3/objects/notes', { properties: { hs_timestamp: 'yesterday' } }))).toEqual([
      expect.objectContaining({ name: 'hs_timestamp', error: 'INVALID_DATE' }),
    ]);
  });
});

describe('files', () => {
  const upload = (parts: {
    bytes?: Buffer;
    name?: string;
    type?: string;
    options?: string | null;
    folderPath?: string;
    folderId?: string;
    fileName?: string;
  }) => {
    const form = new FormData();
    form.append('file', new Blob([parts.bytes ?? Buffer.from('hello')], { type: parts.type ?? 'audio/mpeg' }), parts.name ?? 'call-1.mp3');
    if (parts.options !== null) form.append('options', parts.options ?? JSON.stringify({ access: 'PRIVATE' }));
    if (parts.folderPath) form.append('folderPath', parts.folderPath);
    if (parts.folderId) form.append('folderId', parts.folderId);
    if (parts.fileName) form.append('fileName', parts.fileName);
    return call('POST', '/files/v3/files', form);
  };

  test('multipart upload → 201 file; bytes stored exactly; private URL needs a signature', async () => {
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
    const r = await upload({ bytes, folderPath: '/crm-gateway/tickets/7' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^\d+$/),
      createdAt: '2024-05-01T10:00:00.000Z',
      updatedAt: '2024-05-01T10:00:00.000Z',
      archived: false,
      parentFolderId: expect.stringMatching(/^\d+$/),
      name: 'call-1',
      path: '/crm-gateway/tickets/7/call-1.mp3',
      size: bytes.length,
      type: 'AUDIO',
      extension: 'mp3',
      defaultHostingUrl: `${hs.url}/hubfs/24681357/crm-gateway/tickets/7/call-1.mp3`,
      url: `${hs.url}/hubfs/24681357/crm-gateway/tickets/7/call-1.mp3`,
      isUsableInContent: true,
      access: 'PRIVATE',
      fileMd5: expect.stringMatching(/^[0-9a-f]{32}$/),
      sourceGroup: 'CONTENT',
    });
    const stored = hs.crm.state.files.find((f) => f.id === r.body.id)!;
    expect(stored.content.equals(bytes)).toBe(true);
    expect(hs.crm.state.folders.map((f) => f.path)).toEqual(['/crm-gateway', '/crm-gateway/tickets', '/crm-gateway/tickets/7']);

    expect((await fetch(r.body.url)).status).toBe(403);
    const signed = await call('GET', `/files/v3/files/${r.body.id}/signed-url`);
    expect(signed.body).toMatchObject({ name: 'call-1', extension: 'mp3', type: 'AUDIO', size: bytes.length, expiresAt: '2024-05-01T11:00:00.000Z' });
    const download = await fetch(signed.body.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await call('GET', `/files/v3/files/${r.body.id}`)).body.id).toBe(r.body.id);
  });

  test('a public file downloads without a signature; a name taken in the folder gets a suffix', async () => {
    const bytes = Buffer.from('transcript\n\u0000\u00ff', 'binary');
    const a = await upload({
      bytes,
      name: 'chat.txt',
      type: 'text/plain',
      options: JSON.stringify({ access: 'PUBLIC_NOT_INDEXABLE' }),
      folderPath: 'transcripts',
    });
    const b = await upload({
      bytes,
      name: 'chat.txt',
      type: 'text/plain',
      options: JSON.stringify({ access: 'PUBLIC_NOT_INDEXABLE' }),
      folderPath: '/transcripts',
    });
    expect([a.body.path, b.body.path]).toEqual(['/transcripts/chat.txt', '/transcripts/chat-1.txt']);
    expect(a.body.type).toBe('DOCUMENT');
    const res = await fetch(a.body.url);
    expect(res.headers.get('x-robots-tag')).toBe('noindex');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  test('duplicate validation: REJECT → 409, RETURN_EXISTING → 200 with the existing file', async () => {
    const first = await upload({ folderPath: '/dups' });
    const reject = await upload({ folderPath: '/dups', options: JSON.stringify({ access: 'PRIVATE', duplicateValidationStrategy: 'REJECT' }) });
    expect(reject.status).toBe(409);
    expect(reject.body).toMatchObject({ status: 'error', category: 'CONFLICT' });
    const existing = await upload({ folderPath: '/dups', options: JSON.stringify({ access: 'PRIVATE', duplicateValidationStrategy: 'RETURN_EXISTING' }) });
    expect(existing.status).toBe(200);
    expect(existing.body.id).toBe(first.body.id);
  });

  test('upload errors are 400 VALIDATION_ERROR; a JSON body is a 415', async () => {
    const cases: Array<[Parameters<typeof upload>[0], RegExp]> = [
      [{ folderPath: '/x', options: null }, /options is required/],
      [{ folderPath: '/x', options: '{access:' }, /Invalid input JSON in options/],
      [{ folderPath: '/x', options: JSON.stringify({ access: 'EVERYONE' }) }, /options\.access is required and must be one of/],
      [{}, /Either folderId or folderPath must be provided/],
      [{ folderPath: '/x', folderId: '1' }, /either folderId or folderPath, not both/],
    ];
    for (const [parts, message] of cases) {
      const r = await upload(parts);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ category: 'VALIDATION_ERROR', message: expect.stringMatching(message) });
    }
    expect((await call('POST', '/files/v3/files', { file: 'x' })).status).toBe(415);
    expect(hs.crm.state.files).toHaveLength(0);
  });
});

describe('rate limits, faults, request log, reset', () => {
  test('throttle(): 429 RATE_LIMIT with Retry-After, then normal service', async () => {
    hs.crm.throttle(2, { retryAfterSec: 7 });
    const r = await call('GET', '/crm/v3/objects/contacts');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(r.body).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: expect.stringMatching(UUID),
      policyName: 'TEN_SECONDLY_ROLLING',
      groupName: 'publicapi:private-app',
    });
    expect((await createContact({ firstname: 'x' })).status).toBe(429);
    expect((await createContact({ firstname: 'x' })).status).toBe(201);
  });

  test('the common control API: faults, request log (with parsed bodies), state, reset', async () => {
    const fault = await fetch(`${hs.url}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/crm/v3/objects/contacts', method: 'POST', status: 503 }),
    });
    expect(fault.status).toBe(201);
    expect((await createContact({ firstname: 'x' })).status).toBe(503);
    await createContact({ firstname: 'Kim' });
    const log = (await (await fetch(`${hs.url}/__control/requests`)).json()) as { requests: Array<{ path: string; status: number; body: unknown }> };
    expect(log.requests.map((x) => x.status)).toEqual([503, 201]);
    expect(log.requests[1].body).toEqual({ properties: { firstname: 'Kim' } });
    const state = (await (await fetch(`${hs.url}/__control/state`)).json()) as { contacts: unknown[] };
    expect(state.contacts).toHaveLength(1);
    expect((await fetch(`${hs.url}/__control/reset`, { method: 'POST' })).status).toBe(204);
    expect(hs.crm.state.contacts).toHaveLength(0);
    expect((await createContact({ firstname: 'Again' })).body.id).toBe('51');
  });
});
