/**
 * Text and shapes the gateway cannot keep, show or send are refused at the API's edge with a
 * 422 problem naming the field, and nothing is half-accepted: lone surrogates (URL variables,
 * event fields), characters a header cannot carry, deep nesting, oversized variable lists.
 * Ordering keys and dependencies stay inside the caller's connector. Real HTTP, real store.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

const B = 'zd-b';
// A header that carries a caller variable, to see text that cannot be sent in one.
const withHeader = (yaml: string) => yaml.replace(/( {2}create_account:\n {4}method: POST\n)/, '$1    headers:\n      X-Caller-Name: "{NAME}"\n');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    connectors: { 'zendesk.yaml': withHeader(bundled('zendesk.yaml')), 'b.yaml': bundled('zendesk.yaml').replace(/^id: zendesk$/m, `id: ${B}`) },
  });
  expect(h.gw.gateway.connector('zendesk').endpoints.get('create_account')!.headers.length).toBe(1);
});
afterAll(async () => {
  await h.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(h.gw.url + path, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } }).then(async (r) => ({
    status: r.status,
    type: r.headers.get('content-type') ?? '',
    body: (await r.json().catch(() => undefined)) as any,
  }));
const get = (path: string) => fetch(h.gw.url + path).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));
// JSON.stringify writes a lone surrogate as the escape \ud800, as a hostile client would send it.
const LONE = '\ud800';

async function counts() {
  const all = await h.gw.store.list({ limit: 1000 });
  return all.length;
}

describe('lone surrogates', () => {
  test.each([
    ['fast lane', 'application/json'],
    ['express', 'application/vnd.test+json'],
  ])('in a URL variable → 422 naming the field (%s)', async (_lane, type) => {
    for (const query of ['', '?async=true', '?dry_run=true']) {
      const r = await post(`/v1/connectors/zendesk/operations/find_account_by_id${query}`, JSON.stringify({ variables: { ACCOUNT_ID: `a${LONE}b` } }), {
        'Content-Type': type,
      });
      expect({ query, status: r.status, code: r.body?.code, field: r.body?.errors?.[0]?.field }).toEqual({
        query,
        status: 422,
        code: 'validation_failed',
        field: 'variables.ACCOUNT_ID',
      });
      expect(r.type).toMatch(/^application\/problem\+json/);
    }
  });

  test('in a variable name, an ordering key or depends_on → 422', async () => {
    expect((await post('/v1/connectors/zendesk/operations/find_account', JSON.stringify({ variables: { [`X${LONE}`]: 'v' } }))).status).toBe(422);
    const k = await post(
      '/v1/connectors/zendesk/operations/add_comment?async=true',
      JSON.stringify({ variables: { RECORD_ID: 1, COMMENT_BODY: 'x' }, ordering_key: `k${LONE}` }),
    );
    expect({ status: k.status, field: k.body.errors[0].field }).toEqual({ status: 422, field: 'ordering_key' });
  });

  test('in end_user fields of an event → 422 naming the field; nothing stored, the session view still answers', async () => {
    const before = await counts();
    const r = await post(
      '/v1/connectors/zendesk/sessions/lone-1/events',
      JSON.stringify({ type: 'New_Chat', data: { chat_id: 7, end_user: { name: `Kim${LONE}`, phone: '+12223334444' } } }),
    );
    expect({ status: r.status, code: r.body.code, field: r.body.errors[0].field }).toEqual({
      status: 422,
      code: 'validation_failed',
      field: 'data.end_user.name',
    });
    expect(await counts()).toBe(before);
    const view = await get('/v1/connectors/zendesk/sessions/lone-1');
    expect(view.status).toBeLessThan(500);
    // The same event with valid text is taken.
    expect(
      (
        await post(
          '/v1/connectors/zendesk/sessions/lone-1/events',
          JSON.stringify({ type: 'New_Chat', data: { chat_id: 7, end_user: { name: 'Kim', phone: '+12223334444' } } }),
        )
      ).status,
    ).toBe(202);
    expect((await get('/v1/connectors/zendesk/sessions/lone-1')).status).toBe(200);
  });
});

describe('text a header cannot carry', () => {
  test('a non-Latin-1 character in a templated header → 422 naming the variable (sync, async, dry run); nothing queued', async () => {
    const before = await counts();
    for (const query of ['', '?async=true', '?dry_run=true']) {
      const r = await post(`/v1/connectors/zendesk/operations/create_account${query}`, JSON.stringify({ variables: { NAME: '李 Lee' } }));
      expect({ query, status: r.status, code: r.body.code, field: r.body.field }).toEqual({
        query,
        status: 422,
        code: 'invalid_variable_value',
        field: 'variables.NAME',
      });
    }
    expect(await counts()).toBe(before);
    // Latin-1 is sendable.
    expect((await post('/v1/connectors/zendesk/operations/create_account?dry_run=true', JSON.stringify({ variables: { NAME: 'José Müller' } }))).status).toBe(
      200,
    );
  });

  test('events are checked against the headers of every endpoint', async () => {
    const { checkHeaderVariables } = await import('../../src/api/header-values');
    const c = h.gw.gateway.connector('zendesk');
    expect(() => checkHeaderVariables(c, c.endpoints.get('create_account'), { NAME: 'ok' }, 'variables.')).not.toThrow();
    expect(() => checkHeaderVariables(c, undefined, { NAME: '\u4e00' }, '')).toThrow(/X-Caller-Name/);
  });

  test("a header of a fallback search is checked like the endpoint's own", async () => {
    const { checkHeaderVariables } = await import('../../src/api/header-values');
    const { compileConnector } = await import('../../src/config/compile');
    // The e-mail search of find_account sends the address in a header of its own.
    const yaml = bundled('zendesk.yaml').replace(/( {6}- name: email\n)/, '$1        headers: { X-Searched-Email: "{EMAIL}" }\n');
    const c = compileConnector(yaml, 'zendesk.yaml', {}).connector!;
    expect(c.endpoints.get('find_account')!.searches.some((s) => s.endpoint.headers.length === 1)).toBe(true);
    expect(() => checkHeaderVariables(c, c.endpoints.get('find_account'), { EMAIL: 'ok@example.com' }, 'variables.')).not.toThrow();
    expect(() => checkHeaderVariables(c, c.endpoints.get('find_account'), { EMAIL: '\u4e00@example.com' }, 'variables.')).toThrow(/X-Searched-Email/);
  });

  test('an event whose variable goes into a header → 422, nothing stored', async () => {
    const before = await counts();
    const r = await post('/v1/connectors/zendesk/sessions/hdr-1/events', JSON.stringify({ type: 'New_Chat', data: { chat_id: 8, end_user: { name: '李' } } }));
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 422, code: 'invalid_variable_value' });
    expect(await counts()).toBe(before);
  });

  test('rendering refuses it too, as a permanent failure (no retries), should it get past the edge', async () => {
    const { buildRequest } = await import('../../src/operations/request');
    const c = h.gw.gateway.connector('zendesk');
    expect(() => buildRequest(c, c.endpoints.get('create_account')!, { NAME: '李' })).toThrow(expect.objectContaining({ code: 'invalid_variable_value' }));
  });
});

describe('depth and size', () => {
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  test('an event nested 5,000 deep → 422 with a clear detail, not 503', async () => {
    const r = await post('/v1/connectors/zendesk/sessions/deep-1/events', `{"type":"Custom_Data","data":${deep(5000)}}`);
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 422, code: 'validation_failed' });
    expect(r.body.detail).toMatch(/nested deeper than 32 levels/);
  });

  test.each([
    ['fast lane', 'application/json'],
    ['express', 'application/vnd.test+json'],
  ])('an operation body nested 5,000 deep → 422 (%s)', async (_lane, type) => {
    const r = await post('/v1/connectors/zendesk/operations/find_account', `{"variables":{"EMAIL":"x@example.com"},"x":${deep(5000)}}`, {
      'Content-Type': type,
    });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 422, code: 'validation_failed' });
    expect(r.body.detail).toMatch(/nested deeper/);
  });

  test('brackets inside strings do not count', async () => {
    const r = await post('/v1/connectors/zendesk/operations/create_account?dry_run=true', JSON.stringify({ variables: { NAME: `${'['.repeat(100)}x\\"{{` } }));
    expect(r.status).toBe(200);
  });

  test('too many variables, or names too long → 422 with a bounded answer', async () => {
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`V${i}`, 'x']));
    const r1 = await post('/v1/connectors/zendesk/operations/find_account', JSON.stringify({ variables: many }));
    expect({ status: r1.status, field: r1.body.errors[0].field }).toEqual({ status: 422, field: 'variables' });
    const long = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${i}${'N'.repeat(1 << 16)}`, 'x']));
    const r2 = await post('/v1/connectors/zendesk/operations/find_account', JSON.stringify({ variables: long }));
    expect(r2.status).toBe(422);
    expect(JSON.stringify(r2.body).length).toBeLessThan(4000);
    // 150 unknown names: every one reported would be a long answer; 20 are, and "and 130 more".
    const unknown = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`UNKNOWN_NAME_${i}`, 'x']));
    const r3 = await post('/v1/connectors/zendesk/operations/find_account', JSON.stringify({ variables: unknown }));
    expect(r3.status).toBe(422);
    expect(r3.body.errors).toHaveLength(20);
    expect(r3.body.detail).toMatch(/and 130 more\)$/);
  });
});

describe('values a URL carries are bounded', () => {
  test('a find with an 8 KiB+ value → 422 naming it (was a megabyte URL for the CRM); a comment body may be long', async () => {
    const r = await post('/v1/connectors/zendesk/operations/find_account', JSON.stringify({ variables: { EMAIL: `${'x'.repeat(9000)}@example.com` } }));
    expect({ status: r.status, field: r.body.errors[0].field }).toEqual({ status: 422, field: 'variables.EMAIL' });
    const ok = await post(
      '/v1/connectors/zendesk/operations/add_comment?dry_run=true',
      JSON.stringify({ variables: { RECORD_ID: 1, COMMENT_BODY: 'x'.repeat(100_000) } }),
    );
    expect(ok.status).toBe(200);
  });

  test('an event whose variable would go into a find URL → 422, nothing stored', async () => {
    const before = await counts();
    const r = await post(
      '/v1/connectors/zendesk/sessions/long-1/events',
      JSON.stringify({ type: 'New_Chat', data: { chat_id: 9, end_user: { email: `${'x'.repeat(9000)}@example.com` } } }),
    );
    expect({ status: r.status, field: r.body.errors[0].field }).toEqual({ status: 422, field: 'EMAIL' });
    expect(await counts()).toBe(before);
  });
});

describe('ordering keys and dependencies stay in the connector', () => {
  test("a write naming another connector's ordering key does not hold that connector's writes", async () => {
    // B's session key, as the flows build it; a write of zendesk names it.
    const foreign = `${B}:session:s-1`;
    const r = await post(
      '/v1/connectors/zendesk/operations/add_comment?async=true',
      JSON.stringify({ variables: { RECORD_ID: 1, COMMENT_BODY: 'x' }, ordering_key: foreign }),
    );
    expect(r.status).toBe(202);
    expect(r.body.ordering_key).toBe(`zendesk:${foreign}`);
    const d = await h.gw.deliveries.get(r.body.id);
    expect(d.orderingKey!.startsWith('zendesk:')).toBe(true);
  });

  test("depends_on another connector's delivery → 422 as if unknown", async () => {
    const other = await h.gw.deliveries.accept(B, 'create_account', { variables: { NAME: 'B' } }, { delayMs: 3_600_000 });
    const r = await post(
      '/v1/connectors/zendesk/operations/add_comment?async=true',
      JSON.stringify({ variables: { COMMENT_BODY: 'x' }, depends_on: other.delivery.id }),
    );
    expect({ status: r.status, field: r.body.errors[0].field, detail: r.body.detail }).toEqual({
      status: 422,
      field: 'depends_on',
      detail: `depends_on: no delivery ${other.delivery.id}`,
    });
  });
});
