/**
 * The Redactor on its own: every encoded form of a secret is masked, instances share nothing,
 * a caller's values are masked only in the view made for them, the learnt set is bounded,
 * and masking happens before any cut.
 */
import { failure } from '../../src/operations/run';
import { MASK, MIN_SECRET_LENGTH, Redactor, basicCredential, connectorSecrets, secretForms } from '../../src/util/redact';

const SECRET = 'pa"ss\\wo rd/+=é!';

describe('every encoded form of a secret is masked', () => {
  const r = new Redactor();
  r.setSource('c', [SECRET]);
  const json = JSON.stringify(SECRET).slice(1, -1);
  test.each<[string, string]>([
    ['raw', SECRET],
    ['URL-encoded', encodeURIComponent(SECRET)],
    [
      'form-encoded',
      new URLSearchParams({ v: SECRET })
        .toString()
        .slice(2)
        .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    ],
    ['JSON-escaped', json],
    ['JSON-escaped twice (a CRM body inside a log line)', JSON.stringify(json).slice(1, -1)],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
  ])('%s', (_name, form) => {
    expect(r.redact(`before ${form} after`)).toBe(`before ${MASK} after`);
  });

  test('inside JSON that is itself serialised: the masked text is still valid JSON', () => {
    const line = JSON.stringify({ crm_body: JSON.stringify({ error: `you sent ${SECRET}` }) });
    const out = r.redact(line);
    expect(out).not.toContain(json);
    expect(JSON.parse(JSON.parse(out).crm_body)).toEqual({ error: `you sent ${MASK}` });
  });

  test('Basic credentials of basic auth and of OAuth client credentials sent in the header (as given and form-encoded)', () => {
    const c = new Redactor();
    c.setSource(
      'basic',
      connectorSecrets({ secrets: ['basic-password-1'], auth: { type: 'basic', username: 'agent@example.com/token', password: 'basic-password-1' } }),
    );
    c.setSource('oauth', connectorSecrets({ secrets: [], auth: { type: 'oauth2', clientId: 'client id!', clientSecret: 'client secret*1' } as never }));
    for (const form of [
      basicCredential('agent@example.com/token', 'basic-password-1'),
      basicCredential('client id!', 'client secret*1'),
      basicCredential('client+id%21', 'client+secret%2A1'),
    ]) {
      expect(c.redact(`Authorization: Basic ${form}`)).toBe(`Authorization: Basic ${MASK}`);
    }
  });

  test('the longest secret wins when one contains another', () => {
    const c = new Redactor();
    c.setSource('x', ['abcdefgh', 'abcdefgh-longer']);
    expect(c.redact('abcdefgh-longer abcdefgh')).toBe(`${MASK} ${MASK}`);
  });

  test(`values shorter than ${MIN_SECRET_LENGTH} characters are not secrets (they would mask unrelated words)`, () => {
    expect(secretForms('pending')).toEqual([]);
    const c = new Redactor();
    c.add('https');
    c.setSource('x', ['status']);
    expect(c.redact('{"status":"pending","url":"https://x"}')).toBe('{"status":"pending","url":"https://x"}');
  });
});

describe('ownership and bounds', () => {
  test('two gateways share nothing', () => {
    const a = new Redactor();
    const b = new Redactor();
    a.add('only-in-a-12345');
    expect(a.redact('only-in-a-12345')).toBe(MASK);
    expect(b.redact('only-in-a-12345')).toBe('only-in-a-12345');
  });

  test("a caller's values are masked in the view made for them, never for anyone else", () => {
    const r = new Redactor();
    r.add('learnt-token-123');
    const scoped = r.with(['caller-header-value', 'pending', 'https']);
    expect(scoped.redact('caller-header-value learnt-token-123 pending')).toBe(`${MASK} ${MASK} pending`);
    expect(scoped.redactDeep({ a: ['caller-header-value'] })).toEqual({ a: [MASK] });
    expect(r.redact('caller-header-value')).toBe('caller-header-value');
  });

  test('learnt tokens are bounded: the least recently used is forgotten first', () => {
    const r = new Redactor(3);
    for (const t of ['token-0000001', 'token-0000002', 'token-0000003']) r.add(t);
    r.add('token-0000001'); // still in use
    r.add('token-0000004');
    expect(r.redact('token-0000001 token-0000002 token-0000003 token-0000004')).toBe(`${MASK} token-0000002 ${MASK} ${MASK}`);
  });

  test('a reloaded connector replaces its secrets; the previous version stays masked one generation', () => {
    const r = new Redactor();
    r.setSource('c', ['first-secret-1']);
    r.setSource('c', ['second-secret-2']);
    expect(r.redact('first-secret-1 second-secret-2')).toBe(`${MASK} ${MASK}`);
    r.setSource('c', ['third-secret-33']);
    expect(r.redact('first-secret-1 second-secret-2 third-secret-33')).toBe(`first-secret-1 ${MASK} ${MASK}`);
  });

  test('fast: one matcher, rebuilt only when the set changes', () => {
    const r = new Redactor();
    for (let i = 0; i < 1000; i++) r.add(`crm-token-${i}-${'x'.repeat(24)}`);
    const line = `{"level":30,"msg":"crm call","request":"POST /api/v2/users.json","reason":"created","detail":"${'lorem ipsum '.repeat(40)}"}`;
    r.redact(line);
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      r.add('crm-token-5-xxxxxxxxxxxxxxxxxxxxxxxx');
      r.redact(line);
    }
    const perLineMs = (performance.now() - started) / 2000;
    // A few microseconds per log line with a thousand known tokens (the old registry re-sorted on every insert).
    expect(perLineMs).toBeLessThan(0.5);
  });
});

test('a CRM body is masked before it is cut: no prefix of a secret survives the 2,000-character cut', () => {
  const r = new Redactor();
  const secret = 'tRuNcAtEd-SeCrEt';
  r.setSource('c', [secret]);
  for (const body of ['x'.repeat(1985) + secret, { error: 'x'.repeat(1975) + secret }]) {
    const e = failure(
      { operation: 'create_account' } as never,
      {
        request: {} as never,
        response: { status: 400, body, durationMs: 1 } as never,
        classification: { kind: 'fail', reason: 'HTTP 400' } as never,
        redactor: r,
      },
      [],
    );
    const crmBody = String(e.extensions.crm_body);
    expect(crmBody.length).toBeLessThanOrEqual(2000);
    expect(crmBody).not.toContain(secret.slice(0, 8));
  }
});

describe('redactDeep copies only what it masks', () => {
  const r = new Redactor();
  r.setSource('c', ['s3cret-token-value']);

  test('nothing to mask: the same object comes back, not a copy (no work per API answer)', () => {
    const clean = { id: 7, name: 'Kim', tags: ['a', 'b'], nested: { ok: true, none: null } };
    expect(r.redactDeep(clean)).toBe(clean);
  });

  test('something to mask: a masked copy, the input untouched, unchanged siblings shared', () => {
    const shared = { keep: 'me' };
    const input = { a: shared, list: ['x', 'the s3cret-token-value here'], deep: { v: 's3cret-token-value' } };
    const out = r.redactDeep(input);
    expect(out).toEqual({ a: { keep: 'me' }, list: ['x', `the ${MASK} here`], deep: { v: MASK } });
    expect(input.list[1]).toBe('the s3cret-token-value here');
    expect(input.deep.v).toBe('s3cret-token-value');
    expect(out.a).toBe(shared);
  });

  test('objects that are not plain are rebuilt as plain objects, as before', () => {
    class Thing {
      v = 's3cret-token-value';
    }
    const out = r.redactDeep({ t: new Thing() });
    expect(out.t).toEqual({ v: MASK });
    expect(Object.getPrototypeOf(out.t)).toBe(Object.prototype);
  });
});
