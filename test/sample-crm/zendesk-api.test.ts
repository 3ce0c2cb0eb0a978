import { manualClock, startApi, T0, type Api } from './helpers';

// Loosely typed response bodies keep the assertions readable.
type Json = Record<string, any>;

describe('Zendesk sample CRM: users, search, tickets', () => {
  let api: Api;
  const clock = manualClock();
  beforeAll(async () => {
    api = await startApi({ clock: clock.now });
  });
  afterAll(() => api.running.close());
  beforeEach(() => {
    api.running.crm.reset();
    clock.set(T0);
  });

  async function createUser(user: Json): Promise<Json> {
    const res = await api.json<Json>('/api/v2/users.json', { body: { user } });
    expect(res.status).toBe(201);
    return res.body.user;
  }

  describe('users', () => {
    it('creates and reads a user with the Zendesk shape', async () => {
      const res = await api.json<Json>('/api/v2/users.json', {
        body: { user: { name: 'Ann Smith', email: 'Ann@Example.com', phone: '+1 222 333 4444', external_id: 'c-1' } },
      });
      expect(res.status).toBe(201);
      const user = res.body.user;
      expect(user).toMatchObject({
        id: expect.any(Number),
        url: `${api.url}/api/v2/users/${user.id}.json`,
        name: 'Ann Smith',
        email: 'ann@example.com',
        phone: '+1 222 333 4444',
        external_id: 'c-1',
        role: 'end-user',
        created_at: '2024-05-01T10:00:00Z',
        updated_at: '2024-05-01T10:00:00Z',
      });
      const got = await api.json<Json>(`/api/v2/users/${user.id}.json`);
      expect(got.status).toBe(200);
      expect(got.body.user).toEqual(user);
      // Also without the .json suffix, like the real API.
      expect((await api.json(`/api/v2/users/${user.id}`)).status).toBe(200);
    });

    it('422 for a missing name, exactly like Zendesk', async () => {
      const res = await api.json('/api/v2/users.json', { body: { user: { email: 'x@example.com' } } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: { name: [{ description: 'Name:  is too short (minimum one character)', error: 'BlankValue' }] },
      });
    });

    it('422 DuplicateValue for an email already in use (case-insensitive)', async () => {
      await createUser({ name: 'A', email: 'dup@example.com' });
      const res = await api.json<Json>('/api/v2/users.json', { body: { user: { name: 'B', email: 'DUP@example.com' } } });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('RecordInvalid');
      expect(res.body.details.email[0]).toMatchObject({ error: 'DuplicateValue' });
    });

    it('404 RecordNotFound for unknown or non-numeric ids', async () => {
      for (const path of ['/api/v2/users/999999.json', '/api/v2/users/abc.json']) {
        const res = await api.json(path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: 'RecordNotFound', description: 'Not found' });
      }
    });

    it('400 when the {user:…} envelope is missing', async () => {
      const res = await api.json<Json>('/api/v2/users.json', { body: { name: 'no envelope' } });
      expect(res.status).toBe(400);
    });

    it('updates a user', async () => {
      const u = await createUser({ name: 'Old' });
      clock.advance(5000);
      const res = await api.json<Json>(`/api/v2/users/${u.id}.json`, { method: 'PUT', body: { user: { name: 'New', phone: '+15550001' } } });
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ name: 'New', phone: '+15550001', created_at: u.created_at });
      expect(res.body.user.updated_at).not.toBe(u.created_at);
    });

    it('users/search: phone wildcard, email, external_id; no match is an empty 200', async () => {
      const a = await createUser({ name: 'Ann', phone: '+1 222 333 4444', email: 'ann@example.com' });
      const b = await createUser({ name: 'Bob', phone: '+12223334444', external_id: 'ext-9' });
      await createUser({ name: 'Cy', phone: '+44 20 7946 0000' });

      const byPhone = await api.json<Json>(`/api/v2/users/search.json?query=${encodeURIComponent('phone:*222*333*4444')}`);
      expect(byPhone.status).toBe(200);
      expect(byPhone.body.users.map((u: Json) => u.id).sort()).toEqual([a.id, b.id].sort());
      expect(byPhone.body).toMatchObject({ count: 2, next_page: null, previous_page: null });

      const byEmail = await api.json<Json>(`/api/v2/users/search.json?query=${encodeURIComponent('email:ann@example.com')}`);
      expect(byEmail.body.users.map((u: Json) => u.id)).toEqual([a.id]);

      const byExternal = await api.json<Json>('/api/v2/users/search.json?external_id=ext-9');
      expect(byExternal.body.users.map((u: Json) => u.id)).toEqual([b.id]);

      const none = await api.json<Json>(`/api/v2/users/search.json?query=${encodeURIComponent('phone:*999*')}`);
      expect(none.status).toBe(200);
      expect(none.body).toEqual({ users: [], count: 0, next_page: null, previous_page: null });
    });
  });

  describe('search.json', () => {
    it('returns typed results, sorted and paginated with absolute next_page', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await createUser({ name: `User ${i}`, phone: `+1 222 333 444${i}` })).id);
        clock.advance(1000);
      }
      const q = encodeURIComponent('type:user phone:*222*333*');
      const page1 = await api.json<Json>(`/api/v2/search.json?query=${q}&sort_by=created_at&sort_order=asc&per_page=2`);
      expect(page1.status).toBe(200);
      expect(page1.body).toMatchObject({ count: 5, previous_page: null, facets: null });
      expect(page1.body.results.map((r: Json) => r.id)).toEqual(ids.slice(0, 2));
      expect(page1.body.results[0].result_type).toBe('user');
      const next = new URL(page1.body.next_page);
      expect(next.origin).toBe(api.url);
      expect(next.searchParams.get('page')).toBe('2');
      expect(next.searchParams.get('query')).toBe('type:user phone:*222*333*');

      const page2 = await api.json<Json>(next.pathname + next.search);
      expect(page2.body.results.map((r: Json) => r.id)).toEqual(ids.slice(2, 4));
      expect(page2.body.previous_page).toContain('page=1');

      const desc = await api.json<Json>(`/api/v2/search.json?query=${q}`);
      expect(desc.body.results.map((r: Json) => r.id)).toEqual([...ids].reverse());
    });

    it('mixes users and tickets; type:ticket and requester_id filter', async () => {
      const u = await createUser({ name: 'Printer Person' });
      const t = await api.json<Json>('/api/v2/tickets.json', { body: { ticket: { subject: 'Printer broken', comment: { body: 'x' }, requester_id: u.id } } });
      const all = await api.json<Json>('/api/v2/search.json?query=printer');
      expect(all.body.results.map((r: Json) => r.result_type).sort()).toEqual(['ticket', 'user']);
      const tickets = await api.json<Json>(`/api/v2/search.json?query=${encodeURIComponent(`type:ticket requester_id:${u.id}`)}`);
      expect(tickets.body.results).toEqual([expect.objectContaining({ id: t.body.ticket.id, result_type: 'ticket' })]);
    });

    it('400 InvalidSearchParameters for a blank or malformed query', async () => {
      for (const qs of ['', '?query=', '?query=%20%20', '?query=%22open']) {
        const res = await api.json<Json>(`/api/v2/search.json${qs}`);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ error: 'InvalidSearchParameters', description: expect.any(String) });
      }
    });
  });

  describe('tickets', () => {
    it('creates a ticket (status new, description from the first comment) and reads it back', async () => {
      const u = await createUser({ name: 'Req' });
      const res = await api.json<Json>('/api/v2/tickets.json', {
        body: {
          ticket: {
            subject: 'Call from +1 222',
            comment: { body: 'Caller asked about billing', public: false },
            requester_id: u.id,
            priority: 'high',
            tags: ['Voice', 'inbound'],
            custom_fields: [{ id: 360001, value: 'abc' }],
            via: { channel: 'voice' },
          },
        },
      });
      expect(res.status).toBe(201);
      const t = res.body.ticket;
      expect(t).toMatchObject({
        id: expect.any(Number),
        url: `${api.url}/api/v2/tickets/${t.id}.json`,
        subject: 'Call from +1 222',
        description: 'Caller asked about billing',
        status: 'new',
        priority: 'high',
        requester_id: u.id,
        tags: ['voice', 'inbound'],
        custom_fields: [{ id: 360001, value: 'abc' }],
        via: { channel: 'voice' },
        created_at: '2024-05-01T10:00:00Z',
      });
      expect((await api.json<Json>(`/api/v2/tickets/${t.id}.json`)).body.ticket).toEqual(t);

      const comments = await api.json<Json>(`/api/v2/tickets/${t.id}/comments.json`);
      expect(comments.body.comments).toEqual([
        expect.objectContaining({
          type: 'Comment',
          author_id: u.id,
          body: 'Caller asked about billing',
          plain_body: 'Caller asked about billing',
          html_body: expect.stringContaining('Caller asked about billing'),
          public: false,
          attachments: [],
        }),
      ]);
    });

    it('status defaults to open when an assignee is given; html_body-only comments', async () => {
      const u = await createUser({ name: 'Req' });
      const agent = await createUser({ name: 'Agent', role: 'agent' });
      const res = await api.json<Json>('/api/v2/tickets.json', {
        body: { ticket: { subject: 's', comment: { html_body: '<p>Hello <b>world</b></p>' }, requester_id: u.id, assignee_id: agent.id } },
      });
      expect(res.body.ticket).toMatchObject({ status: 'open', assignee_id: agent.id, description: 'Hello world' });
    });

    it('422 for an unknown requester, a missing comment, or an invalid status', async () => {
      const u = await createUser({ name: 'Req' });
      const cases: [Json, string][] = [
        [{ subject: 's', comment: { body: 'b' }, requester_id: 424242 }, 'requester'],
        [{ subject: 's', comment: { body: 'b' } }, 'requester'],
        [{ subject: 's', requester_id: u.id }, 'description'],
        [{ subject: 's', comment: { body: 'b' }, requester_id: u.id, status: 'bogus' }, 'status'],
      ];
      for (const [ticket, field] of cases) {
        const res = await api.json<Json>('/api/v2/tickets.json', { body: { ticket } });
        expect(res.status).toBe(422);
        expect(res.body).toMatchObject({ error: 'RecordInvalid', description: 'Record validation errors' });
        expect(Object.keys(res.body.details)).toContain(field);
      }
      expect(api.running.crm.state.tickets).toHaveLength(0);
    });

    it('creates the requester inline from requester:{name,email}', async () => {
      const res = await api.json<Json>('/api/v2/tickets.json', {
        body: { ticket: { subject: 's', comment: { body: 'b' }, requester: { name: 'Inline', email: 'inline@example.com' } } },
      });
      expect(res.status).toBe(201);
      const user = api.running.crm.state.users.find((u) => u.email === 'inline@example.com');
      expect(res.body.ticket.requester_id).toBe(user?.id);
    });

    it('updates: fields, comment appended, audit returned; closed tickets are frozen', async () => {
      const u = await createUser({ name: 'Req' });
      const created = (await api.json<Json>('/api/v2/tickets.json', { body: { ticket: { subject: 's', comment: { body: 'first' }, requester_id: u.id } } }))
        .body.ticket;
      clock.advance(60_000);
      const upd = await api.json<Json>(`/api/v2/tickets/${created.id}.json`, {
        method: 'PUT',
        body: { ticket: { status: 'pending', subject: 's2', comment: { body: 'second', public: false }, additional_tags: ['x'] } },
      });
      expect(upd.status).toBe(200);
      expect(upd.body.ticket).toMatchObject({ status: 'pending', subject: 's2', tags: ['x'], description: 'first', updated_at: '2024-05-01T10:01:00Z' });
      expect(upd.body.audit).toMatchObject({ ticket_id: created.id, events: expect.any(Array) });
      const events = upd.body.audit.events as Json[];
      expect(events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Comment', body: 'second', public: false }),
          expect.objectContaining({ type: 'Change', field_name: 'status', value: 'pending', previous_value: 'new' }),
        ]),
      );

      const comments = (await api.json<Json>(`/api/v2/tickets/${created.id}/comments.json`)).body.comments as Json[];
      expect(comments.map((c) => c.body)).toEqual(['first', 'second']);

      const bad = await api.json<Json>(`/api/v2/tickets/${created.id}.json`, { method: 'PUT', body: { ticket: { status: 'nope' } } });
      expect(bad.status).toBe(422);

      await api.json(`/api/v2/tickets/${created.id}.json`, { method: 'PUT', body: { ticket: { status: 'closed' } } });
      const frozen = await api.json<Json>(`/api/v2/tickets/${created.id}.json`, { method: 'PUT', body: { ticket: { comment: { body: 'late' } } } });
      expect(frozen.status).toBe(422);
      expect(frozen.body.details.status[0].error).toBe('ClosedPreventsUpdate');

      expect((await api.json(`/api/v2/tickets/987654.json`, { method: 'PUT', body: { ticket: { status: 'open' } } })).status).toBe(404);
    });

    it('lists tickets requested by a user', async () => {
      const a = await createUser({ name: 'A' });
      const b = await createUser({ name: 'B' });
      for (const [req, subject] of [
        [a, 'a1'],
        [b, 'b1'],
        [a, 'a2'],
      ] as const) {
        await api.json('/api/v2/tickets.json', { body: { ticket: { subject, comment: { body: 'x' }, requester_id: req.id } } });
      }
      const res = await api.json<Json>(`/api/v2/users/${a.id}/tickets/requested.json`);
      expect(res.status).toBe(200);
      expect((res.body.tickets as Json[]).map((t) => t.subject)).toEqual(['a1', 'a2']);
      expect((await api.json(`/api/v2/users/999999/tickets/requested.json`)).status).toBe(404);
    });

    it('seed helpers write the same records the API reads', async () => {
      const u = api.running.crm.seedUser({ name: 'Seeded', phone: '+1 555 0100' });
      const t = api.running.crm.seedTicket({ requester_id: u.id, subject: 'Seeded ticket', status: 'open' });
      const res = await api.json<Json>(`/api/v2/tickets/${t.id}.json`);
      expect(res.body.ticket).toMatchObject({ subject: 'Seeded ticket', status: 'open', requester_id: u.id, description: 'Seeded ticket' });
      expect(() => api.running.crm.seedTicket({ requester_id: 1 })).toThrow(/Requester/);
    });
  });

  describe('malformed requests', () => {
    it('bad JSON → 400 Zendesk-like body, server keeps working', async () => {
      const res = await api.json<Json>('/api/v2/users.json', {
        method: 'POST',
        body: '{"user": {',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'Unprocessable Entity', description: expect.stringContaining('JSON') });
      expect(api.running.crm.requests.at(-1)?.body).toMatchObject({ invalid: 'invalid_json', text: '{"user": {' });
      expect((await api.json('/api/v2/users.json')).status).toBe(200);
    });

    it('unknown endpoint → 404 InvalidEndpoint', async () => {
      const res = await api.json('/api/v2/nothing-here.json');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'InvalidEndpoint', description: 'Not found' });
    });

    it('body over the limit → 413', async () => {
      const small = await startApi({ bodyLimitBytes: 1024 });
      try {
        const res = await small.json('/api/v2/uploads.json?filename=big.bin', {
          method: 'POST',
          body: Buffer.alloc(4096, 1),
          headers: { 'content-type': 'application/binary' },
        });
        expect(res.status).toBe(413);
      } finally {
        await small.running.close();
      }
    });
  });
});
