/**
 * The console's API over real HTTP (a served gateway running from a config directory, the
 * sample CRM on loopback): who the key is, connectors per scope, the YAML for admins, validate
 * and save (422, 409, atomic write picked up at once), the variables of each operation, and
 * contract tests as jobs (poll, server-sent events, JUnit, at most two at a time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const KEYS = { admin: 'cgw_console-admin', scoped: 'cgw_console-scoped-zendesk', all: 'cgw_console-all-not-admin' };
const gate = new ApiKeys(parseKeyEntries([`${hashKey(KEYS.admin)}:admin`, `${hashKey(KEYS.scoped)}:connectors=zendesk`, hashKey(KEYS.all)].join('\n'), 'test'));
// A value only the environment holds (the password of "other"): it must never appear in an answer.
const SECRET = 'env-only-secret-value-7f3a9c';
const OTHER = bundled('zendesk.yaml')
  .replace(/^id: zendesk$/m, 'id: other')
  .replace('name: Zendesk (sample CRM)', 'name: Other')
  .replace('${env:ZENDESK_TOKEN:-sample-token}', '${env:OTHER_TOKEN}');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'other.yaml': OTHER },
    apiKeys: gate,
    env: { OTHER_TOKEN: SECRET },
  });
});
afterAll(async () => {
  await h.close();
});

async function api(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const res = await fetch(h.gw.url + url, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

const file = () => path.join(h.dir, 'config', 'zendesk.yaml');

/** A contract run polled until it has finished. */
async function finishedRun(id: string): Promise<any> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const run = (await api('GET', `/v1/contract-tests/${id}`, KEYS.admin)).body;
    if (run.state !== 'running') return run;
  }
}

test('GET /v1/me says what the key may do', async () => {
  expect((await api('GET', '/v1/me', KEYS.admin)).body).toEqual({ admin: true, connectors: '*' });
  expect((await api('GET', '/v1/me', KEYS.scoped)).body).toEqual({ admin: false, connectors: ['zendesk'] });
  expect((await api('GET', '/v1/me', KEYS.all)).body).toEqual({ admin: false, connectors: '*' });
});

test('GET /v1/connectors lists the connectors of the key only, with auth state, retry and link names', async () => {
  const admin = await api('GET', '/v1/connectors', KEYS.admin);
  expect(admin.body.connectors.map((c: { id: string }) => c.id).sort()).toEqual(['other', 'zendesk']);
  const scoped = await api('GET', '/v1/connectors', KEYS.scoped);
  expect(scoped.body.connectors.map((c: { id: string }) => c.id)).toEqual(['zendesk']);
  expect(scoped.body.connectors[0]).toMatchObject({
    id: 'zendesk',
    valid: true,
    status: 'valid',
    issues: [],
    auth: { type: 'basic', state: 'static' },
    retry: { profile: expect.any(String) },
    links: expect.arrayContaining(['account', 'record']),
  });
  expect(scoped.text).not.toContain(SECRET);
});

test('GET /v1/connectors/{id}: the YAML and its version for admin keys only, secrets masked', async () => {
  const admin = await api('GET', '/v1/connectors/zendesk', KEYS.admin);
  const text = fs.readFileSync(file(), 'utf8');
  expect(admin.body).toMatchObject({ id: 'zendesk', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  // The default of ${env:ZENDESK_TOKEN:-…} is the password in use: masked like any secret.
  expect(admin.body.yaml).toBe(text.replace(/sample-token/g, '****').replace(/agent@example\.com\/token/g, '****'));
  expect(admin.text).not.toContain('sample-token');
  const other = await api('GET', '/v1/connectors/other', KEYS.admin);
  expect(other.body.yaml).toContain('${env:OTHER_TOKEN}');
  expect(other.text).not.toContain(SECRET);
  const scoped = await api('GET', '/v1/connectors/zendesk', KEYS.scoped);
  expect(scoped.status).toBe(200);
  expect(scoped.body.yaml).toBeUndefined();
  expect(scoped.body.sha256).toBeUndefined();
  expect((await api('GET', '/v1/connectors/other', KEYS.scoped)).status).toBe(403);
});

test('a save of the shown (masked) text restores the masked lines from the file; a mask elsewhere is refused', async () => {
  const raw = fs.readFileSync(file(), 'utf8');
  const shown = (await api('GET', '/v1/connectors/zendesk', KEYS.admin)).body;
  expect((await api('POST', '/v1/connectors/zendesk/validate', KEYS.admin, { yaml: shown.yaml })).body).toEqual({ valid: true, errors: [] });
  // A key that was never shown the file gets no compile with its secrets restored: the masks stay masks.
  const probed = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: shown.yaml });
  expect(probed.body.valid).toBe(false);
  expect(probed.text).not.toContain('sample-token');
  const edited = shown.yaml.replace('timeout_seconds: 5', 'timeout_seconds: 6');
  const saved = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: edited, base_sha256: shown.sha256 });
  expect(saved.status).toBe(200);
  expect(fs.readFileSync(file(), 'utf8')).toBe(raw.replace('timeout_seconds: 5', 'timeout_seconds: 6'));
  const planted = edited.replace(/^name: .*$/m, 'name: "****"');
  const refused = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: planted, base_sha256: saved.body.sha256 });
  expect(refused.body).toMatchObject({ status: 422, errors: [{ field: 'yaml', line: planted.split('\n').indexOf('name: "****"') + 1 }] });
  expect((await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: raw, base_sha256: saved.body.sha256 })).status).toBe(200);
  expect(fs.readFileSync(file(), 'utf8')).toBe(raw);
});

test('GET /v1/connectors/{id}/operations: the variables each operation uses, where they go', async () => {
  const r = await api('GET', '/v1/connectors/zendesk/operations', KEYS.scoped);
  expect(r.status).toBe(200);
  const byOp = Object.fromEntries(r.body.operations.map((o: { operation: string }) => [o.operation, o]));
  expect(byOp.find_account).toMatchObject({ method: 'GET', durable: false });
  expect(byOp.create_account).toMatchObject({ method: 'POST', durable: true });
  expect(byOp.update_record.variables).toContainEqual({ name: 'RECORD_ID', required: true, source: 'path' });
  expect(byOp.create_account.variables).toContainEqual(expect.objectContaining({ name: 'EMAIL', source: 'body' }));
});

test('POST /v1/connectors/{id}/validate: the CLI validator on a text, positions and severities, nothing written', async () => {
  const before = fs.readFileSync(file(), 'utf8');
  const ok = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: before });
  expect(ok.body).toEqual({ valid: true, errors: [] });
  const broken = before.replace('"{EMAIL}"', '"{EMAL}"');
  const bad = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: broken });
  expect(bad.status).toBe(200);
  expect(bad.body.valid).toBe(false);
  const line = broken.split('\n').findIndex((l) => l.includes('{EMAL}')) + 1;
  expect(bad.body.errors).toContainEqual({
    severity: 'error',
    line,
    col: expect.any(Number),
    path: 'endpoints.create_account.params.email',
    message: expect.stringContaining('unknown variable {EMAL}'),
  });
  const renamed = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: before.replace(/^id: zendesk$/m, 'id: zd2') });
  expect(renamed.body.errors).toContainEqual(expect.objectContaining({ path: 'id', severity: 'error' }));
  const syntax = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: 'id: zendesk\nauth: [\n' });
  expect(syntax.body.valid).toBe(false);
  expect(syntax.body.errors[0]).toMatchObject({ severity: 'error', line: expect.any(Number) });
  // Messages about a setting whose value comes from the environment never show the value.
  const otherText = fs.readFileSync(path.join(h.dir, 'config', 'other.yaml'), 'utf8');
  for (const leak of [
    otherText.replace('timeout_seconds: 5', 'timeout_seconds: ${env:OTHER_TOKEN}'),
    otherText.replace(/^base_url: .*$/m, 'base_url: ${env:OTHER_TOKEN}'),
    otherText.replace(/^phone:\n {2}format: automatic/m, 'phone:\n  format: ${env:OTHER_TOKEN}'),
  ]) {
    const leaky = await api('POST', '/v1/connectors/other/validate', KEYS.admin, { yaml: leak });
    expect(leaky.body.valid).toBe(false);
    expect(leaky.text).not.toContain(SECRET);
  }
  expect(fs.readFileSync(file(), 'utf8')).toBe(before);
  // Bounds: the field is named.
  expect((await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, {})).body).toMatchObject({ status: 422, errors: [{ field: 'yaml' }] });
  const huge = await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: 'x'.repeat(1024 * 1024 + 1) });
  expect(huge.body).toMatchObject({ status: 413, field: 'yaml' });
  expect((await api('POST', '/v1/connectors/zendesk/validate', KEYS.scoped, { yaml: 'x'.repeat(3 * 1024 * 1024) })).status).toBe(413);
});

test('PUT /v1/connectors/{id}/config: 422 invalid, 409 stale base, saved atomically and served at once', async () => {
  const before = fs.readFileSync(file(), 'utf8');
  const { sha256 } = (await api('GET', '/v1/connectors/zendesk', KEYS.admin)).body;
  const invalid = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before.replace('"{EMAIL}"', '"{EMAL}"'), base_sha256: sha256 });
  expect(invalid.status).toBe(422);
  expect(invalid.body.errors[0]).toMatchObject({ field: 'yaml', line: expect.any(Number), path: 'endpoints.create_account.params.email' });
  expect((await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before })).body).toMatchObject({
    status: 422,
    errors: [{ field: 'base_sha256' }],
  });
  expect((await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before, base_sha256: '0'.repeat(64) })).status).toBe(409);
  expect(fs.readFileSync(file(), 'utf8')).toBe(before);

  const next = before.replace('name: Zendesk (sample CRM)', 'name: Zendesk (edited)');
  const saved = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: next, base_sha256: sha256 });
  expect(saved.status).toBe(200);
  expect(saved.body).toEqual({ saved: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(fs.readFileSync(file(), 'utf8')).toBe(next);
  expect(fs.readdirSync(path.dirname(file())).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const after = (await api('GET', '/v1/connectors/zendesk', KEYS.admin)).body;
  expect(after).toMatchObject({ name: 'Zendesk (edited)', sha256: saved.body.sha256 });
  // The old base is stale now.
  expect((await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before, base_sha256: sha256 })).status).toBe(409);
  const back = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before, base_sha256: saved.body.sha256 });
  expect(back.status).toBe(200);
  // PUT is a method of the table: a wrong one is still 405 naming it.
  const wrong = await api('POST', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before });
  expect(wrong.status).toBe(405);
  expect(wrong.headers.get('allow')).toBe('PUT');
});

test('two saves from the same version at once: one is saved, the other is 409 (it would overwrite the first)', async () => {
  const raw = fs.readFileSync(file(), 'utf8');
  const { sha256 } = (await api('GET', '/v1/connectors/zendesk', KEYS.admin)).body;
  const [a, b] = await Promise.all(
    ['one', 'two'].map((n) =>
      api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: raw.replace('name: Zendesk (sample CRM)', `name: ${n}`), base_sha256: sha256 }),
    ),
  );
  expect([a.status, b.status].sort()).toEqual([200, 409]);
  const winner = a.status === 200 ? a : b;
  expect(fs.readFileSync(file(), 'utf8')).toBe(raw.replace('name: Zendesk (sample CRM)', `name: ${a.status === 200 ? 'one' : 'two'}`));
  expect((await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: raw, base_sha256: winner.body.sha256 })).status).toBe(200);
});

test('a refused hot-reload change shows its issues with positions and when it happened', async () => {
  const before = fs.readFileSync(file(), 'utf8');
  fs.writeFileSync(file(), before.replace('"{EMAIL}"', '"{EMAL}"'));
  const deadline = Date.now() + 5000;
  let d: any;
  do {
    await new Promise((r) => setTimeout(r, 50));
    d = (await api('GET', '/v1/connectors/zendesk', KEYS.scoped)).body;
  } while (!d.rejected && Date.now() < deadline);
  expect(d.rejected).toEqual({
    at: expect.any(String),
    issues: expect.arrayContaining([expect.objectContaining({ severity: 'error', path: 'endpoints.create_account.params.email' })]),
  });
  fs.writeFileSync(file(), before);
  do {
    await new Promise((r) => setTimeout(r, 50));
    d = (await api('GET', '/v1/connectors/zendesk', KEYS.scoped)).body;
  } while (d.rejected && Date.now() < deadline + 5000);
  expect(d.rejected).toBeUndefined();
});

describe('contract tests as jobs', () => {
  test('against the sample CRM: polled, streamed as events, JUnit; secrets never in the answers', async () => {
    const started = await api('POST', '/v1/connectors/zendesk/contract-tests', KEYS.admin, { target: 'sample' });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    expect(started.headers.get('location')).toBe(`/v1/contract-tests/${id}`);
    // The stream: every check as an event, then done.
    const stream = await fetch(`${h.gw.url}/v1/contract-tests/${id}/events`, { headers: { Authorization: `Bearer ${KEYS.admin}` } });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await stream.text();
    expect(events).toMatch(/event: check\ndata: \{/);
    expect(events.trim().split('\n\n').at(-1)).toMatch(/^event: done\ndata: .*"state":"passed"/);
    const run = (await api('GET', `/v1/contract-tests/${id}`, KEYS.admin)).body;
    expect(run).toMatchObject({ id, connector: 'zendesk', state: 'passed', started_at: expect.any(String), finished_at: expect.any(String) });
    expect(run.checks.length).toBeGreaterThan(3);
    expect(run.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    const junit = await api('GET', `/v1/contract-tests/${id}/junit`, KEYS.admin);
    expect(junit.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(junit.text).toContain('<testsuite name="contract.zendesk"');
    for (const t of [started.text, events, JSON.stringify(run), junit.text]) expect(t).not.toContain(SECRET);
  }, 30_000);

  test('a run whose credentials the CRM refuses says so, without the credentials', async () => {
    const { id } = (await api('POST', '/v1/connectors/other/contract-tests', KEYS.admin, { target: 'sample', flavor: 'zendesk' })).body;
    const events = await (await fetch(`${h.gw.url}/v1/contract-tests/${id}/events`, { headers: { Authorization: `Bearer ${KEYS.admin}` } })).text();
    const run = await api('GET', `/v1/contract-tests/${id}`, KEYS.admin);
    expect(run.body.state).toBe('failed');
    expect(run.text).toMatch(/refused the credentials/);
    const junit = await api('GET', `/v1/contract-tests/${id}/junit`, KEYS.admin);
    for (const t of [events, run.text, junit.text]) {
      expect(t).not.toContain(SECRET);
      expect(t).not.toContain(Buffer.from(`agent@example.com/token:${SECRET}`).toString('base64'));
    }
  }, 30_000);

  test('a failing check names its YAML line', async () => {
    const before = fs.readFileSync(file(), 'utf8');
    const { sha256 } = (await api('GET', '/v1/connectors/zendesk', KEYS.admin)).body;
    // A valid file whose create_account reads its answer from the wrong place.
    const wrong = before.replace(/(\n {2}create_account:[\s\S]*?response_data_location: )user\n/, '$1nope.nothing\n');
    expect(wrong).not.toBe(before);
    const saved = await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: wrong, base_sha256: sha256 });
    expect(saved.status).toBe(200);
    try {
      const { id } = (await api('POST', '/v1/connectors/zendesk/contract-tests', KEYS.admin, { target: 'sample' })).body;
      const run = await finishedRun(id);
      expect(run.state).toBe('failed');
      const failed = run.checks.find((c: { ok: boolean }) => !c.ok);
      expect(failed).toMatchObject({ ok: false, detail: expect.stringContaining('response_data_location'), line: expect.any(Number) });
      // The line of the setting to change, not the endpoint's.
      expect(failed.line).toBe(wrong.split('\n').indexOf('    response_data_location: nope.nothing') + 1);
    } finally {
      await api('PUT', '/v1/connectors/zendesk/config', KEYS.admin, { yaml: before, base_sha256: saved.body.sha256 });
    }
  }, 30_000);

  test('bad input names the field; a base_url in a private network the connector does not allow is refused; at most two run', async () => {
    const start = (body: unknown, id = 'zendesk') => api('POST', `/v1/connectors/${id}/contract-tests`, KEYS.admin, body);
    expect((await start({})).body).toMatchObject({ status: 422, errors: [{ field: 'target' }] });
    expect((await start({ target: 'config', base_url: 'ftp://x' })).body).toMatchObject({ status: 422, errors: [{ field: 'base_url' }] });
    expect((await start({ target: 'sample', base_url: 'http://x.example' })).body).toMatchObject({ status: 422, errors: [{ field: 'base_url' }] });
    expect((await start({ target: 'sample', flavor: 'nope' })).body).toMatchObject({ status: 422, errors: [{ field: 'flavor' }] });
    expect((await start({ target: 'sample', extra: 1 })).status).toBe(422);
    const blocked = await start({ target: 'config', base_url: 'http://10.1.2.3:8080' });
    expect(blocked.body).toMatchObject({ status: 422, errors: [{ field: 'base_url', message: expect.stringContaining('allow_private_network') }] });
    const self = await start({ target: 'config', base_url: h.gw.url });
    expect(self.body).toMatchObject({ status: 422, errors: [{ field: 'base_url', message: expect.stringContaining('own address') }] });
    expect((await api('GET', '/v1/contract-tests/nope', KEYS.admin)).status).toBe(404);
    expect((await api('GET', '/v1/contract-tests/nope/events', KEYS.admin)).status).toBe(404);

    const a = await start({ target: 'sample' });
    const b = await start({ target: 'sample', flavor: 'zendesk' }, 'other');
    const c = await start({ target: 'sample' });
    expect([a.status, b.status, c.status]).toEqual([202, 202, 429]);
    expect(c.body).toMatchObject({ code: 'too_many_requests' });
    expect((await api('GET', `/v1/contract-tests/${a.body.id}/junit`, KEYS.admin)).status).toBe(409);
    for (const id of [a.body.id, b.body.id]) {
      await finishedRun(id); // let both finish before the next test
    }
  }, 60_000);
});

test('the session view has a timeline: events, steps, CRM answers, how each write ended; in time order', async () => {
  const call = { call_id: 4711, session_type: 'Voice Campaign (UJET)', queue_path: 'Support', custom_sip_headers: { 'X-Caller-Number': '+1 222 333 4711' } };
  for (const type of ['New_Call', 'End_Call']) {
    expect((await api('POST', '/v1/connectors/zendesk/sessions/tl-1/events', KEYS.scoped, { type, data: call })).status).toBeLessThan(300);
  }
  const deadline = Date.now() + 10_000;
  let v: any;
  do {
    await new Promise((r) => setTimeout(r, 100));
    v = (await api('GET', '/v1/connectors/zendesk/sessions/tl-1', KEYS.scoped)).body;
  } while (!(v.steps.length > 0 && v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status))) && Date.now() < deadline);
  const kinds = new Set(v.timeline.map((e: { kind: string }) => e.kind));
  for (const k of ['event', 'step', 'crm_answer', 'delivery']) expect(kinds).toContain(k);
  expect(v.timeline[0]).toEqual({ at: expect.any(String), kind: 'event', summary: 'New_Call received' });
  const ats = v.timeline.map((e: { at: string }) => e.at);
  expect(ats).toEqual([...ats].sort());
  const account = v.steps.find((s: { name: string }) => s.name === 'account');
  expect(v.timeline).toContainEqual(
    expect.objectContaining({ kind: 'crm_answer', delivery_id: account.delivery_id, summary: expect.stringMatching(/HTTP 20\d/) }),
  );
  expect(v.timeline).toContainEqual(
    expect.objectContaining({ kind: 'delivery', delivery_id: account.delivery_id, summary: expect.stringMatching(/^account: .* delivered/) }),
  );
  expect(v.links).toEqual(expect.objectContaining({ account: expect.any(String) }));
}, 30_000);

test('deliveries filter by session (with connector) and time; bad filters name the field', async () => {
  const v = (await api('GET', '/v1/connectors/zendesk/sessions/tl-1', KEYS.scoped)).body;
  const steps = v.steps.map((s: { delivery_id: string }) => s.delivery_id).sort();
  const bySession = await api('GET', '/v1/deliveries?connector=zendesk&session=tl-1', KEYS.scoped);
  expect(bySession.body.deliveries.map((d: { id: string }) => d.id).sort()).toEqual(steps);
  expect((await api('GET', '/v1/deliveries?connector=zendesk&session=nope', KEYS.scoped)).body.deliveries).toEqual([]);
  const first = bySession.body.deliveries.at(-1).created_at as string;
  const since = await api('GET', `/v1/deliveries?connector=zendesk&since=${encodeURIComponent(first)}`, KEYS.scoped);
  expect(since.body.deliveries.length).toBeGreaterThanOrEqual(steps.length);
  expect((await api('GET', `/v1/deliveries?connector=zendesk&until=${encodeURIComponent(first)}&session=tl-1`, KEYS.scoped)).body.deliveries).toEqual([]);
  expect((await api('GET', '/v1/deliveries?connector=zendesk&since=2099-01-01T00:00:00Z', KEYS.scoped)).body.deliveries).toEqual([]);
  expect((await api('GET', '/v1/deliveries?connector=zendesk&since=yesterday', KEYS.scoped)).body).toMatchObject({ status: 422, errors: [{ field: 'since' }] });
  expect((await api('GET', '/v1/deliveries?session=tl-1', KEYS.admin)).body).toMatchObject({ status: 422, errors: [{ field: 'session' }] });
  expect((await api('GET', '/v1/deliveries?connector=other&session=tl-1', KEYS.scoped)).status).toBe(403);
});

test('GET /v1/connectors/{id}/sessions: the most recently updated first, with their state; limit bounded', async () => {
  const r = await api('GET', '/v1/connectors/zendesk/sessions?limit=5', KEYS.scoped);
  expect(r.status).toBe(200);
  expect(r.body.sessions[0]).toEqual({
    id: 'tl-1',
    state: 'ended',
    started_at: expect.any(String),
    updated_at: expect.any(String),
    ended_at: expect.any(String),
  });
  for (const bad of ['0', '101', 'x', '1&limit=2']) {
    expect((await api('GET', `/v1/connectors/zendesk/sessions?limit=${bad}`, KEYS.scoped)).body).toMatchObject({ status: 422, errors: [{ field: 'limit' }] });
  }
  expect((await api('GET', '/v1/connectors/other/sessions', KEYS.scoped)).status).toBe(403);
});

test('the dry run the console shows (?dry_run=true) never holds the resolved secret', async () => {
  const dry = await api('POST', '/v1/connectors/other/operations/create_account?dry_run=true', KEYS.admin, {
    variables: { NAME: 'Kim', EMAIL: 'kim@example.com' },
  });
  expect(dry.status).toBe(200);
  expect(dry.body.requests[0].headers.Authorization).toBe('Basic ****');
  expect(dry.text).not.toContain(SECRET);
  expect(dry.text).not.toContain(Buffer.from(`agent@example.com/token:${SECRET}`).toString('base64'));
});

test('a contract run against a base_url: the connector calls it (not its configured CRM), and a HEAD of the stream does not wait', async () => {
  const crm = h.crm;
  const before = crm.crm.requests.length;
  const { id } = (await api('POST', '/v1/connectors/zendesk/contract-tests', KEYS.admin, { target: 'config', base_url: crm.url })).body;
  const head = await fetch(`${h.gw.url}/v1/contract-tests/${id}/events`, { method: 'HEAD', headers: { Authorization: `Bearer ${KEYS.admin}` } });
  expect(head.status).toBe(200);
  const run = await finishedRun(id);
  expect(run).toMatchObject({ target: 'config', state: 'passed' });
  expect(crm.crm.requests.length).toBeGreaterThan(before);
}, 30_000);

test('a contract run never calls the gateway itself, also by a host name that resolves to it', async () => {
  const port = new URL(h.gw.url).port;
  const { id } = (await api('POST', '/v1/connectors/zendesk/contract-tests', KEYS.admin, { target: 'config', base_url: `http://localhost:${port}` })).body;
  const run = await finishedRun(id);
  expect(run.state).toBe('failed');
  expect(JSON.stringify(run.checks)).toMatch(/own address/);
}, 30_000);
