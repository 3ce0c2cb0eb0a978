/**
 * Nothing the console does bypasses the API's auth: each console action, sent as the console
 * sends it, with a key scoped to another connector (and, for admin actions, with non-admin
 * keys, in scope or not) is the API's 403 — or 404 where the API hides that the thing exists
 * (a delivery of another connector) — and nothing changed: the connector files on disk, the
 * deliveries, the CRM.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const A = 'zendesk';
const B = 'zd-b';
const KEYS = { admin: 'cgw_ca-admin', scopedA: 'cgw_ca-scoped-a', all: 'cgw_ca-all-not-admin' };
const gate = new ApiKeys(parseKeyEntries([`${hashKey(KEYS.admin)}:admin`, `${hashKey(KEYS.scopedA)}:connectors=${A}`, hashKey(KEYS.all)].join('\n'), 'test'));
const B_YAML = bundled('zendesk.yaml').replace(/^id: zendesk$/m, `id: ${B}`);

let h: Harness;
const ids: Record<string, string> = {};
let snapshot: Record<string, string>;

const configFiles = () =>
  Object.fromEntries(
    fs
      .readdirSync(path.join(h.dir, 'config'))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(h.dir, 'config', f), 'utf8')]),
  );

beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': bundled('zendesk.yaml'), 'b.yaml': B_YAML }, apiKeys: gate });
  const deadB = await h.gw.deliveries.accept(B, 'create_account', { variables: { NAME: 'Dead B' } }, { delayMs: 3_600_000 });
  const pendingA = await h.gw.deliveries.accept(A, 'create_account', { variables: { NAME: 'Pending A' } }, { delayMs: 3_600_000 });
  await h.gw.flows.handle(B, 's-b', { type: 'Session_Started', data: { chat_id: 1 } });
  Object.assign(ids, { b: deadB.delivery.id, a: pendingA.delivery.id });
  snapshot = configFiles();
});
afterAll(async () => {
  await h.close();
});

async function send(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; code?: string; type: string }> {
  const res = await fetch(h.gw.url + url, {
    method,
    redirect: 'manual',
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = JSON.parse(text).code;
  } catch {
    /* not JSON */
  }
  return { status: res.status, code, type: res.headers.get('content-type') ?? '' };
}

const yamlOfB = () => fs.readFileSync(path.join(h.dir, 'config', 'b.yaml'), 'utf8');
const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');

/** [action, method, url, body, key, expected status] as the console sends them. */
const actions = (): Array<[string, string, string, unknown, keyof typeof KEYS, 403 | 404]> => [
  // Connector-scoped actions, with a key scoped to A, on B.
  ['connector detail', 'GET', `/v1/connectors/${B}`, undefined, 'scopedA', 403],
  ['lookup links', 'GET', `/v1/connectors/${B}/links?ACCOUNT_ID=1`, undefined, 'scopedA', 403],
  ['operation variables', 'GET', `/v1/connectors/${B}/operations`, undefined, 'scopedA', 403],
  ['validate', 'POST', `/v1/connectors/${B}/validate`, { yaml: B_YAML }, 'scopedA', 403],
  ['dry run', 'POST', `/v1/connectors/${B}/operations/create_account?dry_run=true`, { variables: { NAME: 'x' } }, 'scopedA', 403],
  ['send', 'POST', `/v1/connectors/${B}/operations/create_account`, { variables: { NAME: 'x' } }, 'scopedA', 403],
  ['session timeline', 'GET', `/v1/connectors/${B}/sessions/s-b`, undefined, 'scopedA', 403],
  ['sessions list', 'GET', `/v1/connectors/${B}/sessions`, undefined, 'scopedA', 403],
  ['deliveries of a session of B', 'GET', `/v1/deliveries?connector=${B}&session=s-b`, undefined, 'scopedA', 403],
  ['deliveries of B', 'GET', `/v1/deliveries?connector=${B}`, undefined, 'scopedA', 403],
  ['all deliveries', 'GET', '/v1/deliveries', undefined, 'scopedA', 403],
  ['delivery of B', 'GET', `/v1/deliveries/${ids.b}`, undefined, 'scopedA', 404],
  // Admin actions, with a key scoped to another connector, and with non-admin keys in scope.
  ...(['scopedA', 'all'] as const).flatMap(
    (key): Array<[string, string, string, unknown, keyof typeof KEYS, 403 | 404]> => [
      ['save', 'PUT', `/v1/connectors/${B}/config`, { yaml: B_YAML.replace('name: Zendesk', 'name: Hacked'), base_sha256: sha(yamlOfB()) }, key, 403],
      ['save own', 'PUT', `/v1/connectors/${A}/config`, { yaml: bundled('zendesk.yaml'), base_sha256: sha(bundled('zendesk.yaml')) }, key, 403],
      ['contract test', 'POST', `/v1/connectors/${B}/contract-tests`, { target: 'sample' }, key, 403],
      ['contract test own', 'POST', `/v1/connectors/${A}/contract-tests`, { target: 'sample' }, key, 403],
      ['contract run', 'GET', `/v1/contract-tests/${ids.run}`, undefined, key, 403],
      ['contract events', 'GET', `/v1/contract-tests/${ids.run}/events`, undefined, key, 403],
      ['contract junit', 'GET', `/v1/contract-tests/${ids.run}/junit`, undefined, key, 403],
      ['retry', 'POST', `/v1/deliveries/${ids.b}/retry`, undefined, key, 403],
      ['cancel', 'POST', `/v1/deliveries/${ids.a}/cancel`, undefined, key, 403],
      ['resolve', 'POST', `/v1/deliveries/${ids.b}/resolve`, { action: 'cancel' }, key, 403],
      ['oauth connect', 'GET', `/v1/connectors/${A}/oauth/authorize`, undefined, key, 403],
    ],
  ),
];

test('every console action outside the key is refused by the API, and nothing changes', async () => {
  // A finished run of A exists, so the run routes are refused for what the key is, not for a missing run.
  const started = await fetch(`${h.gw.url}/v1/connectors/${A}/contract-tests`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEYS.admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ target: 'sample' }),
  });
  ids.run = ((await started.json()) as { id: string }).id;
  await (await fetch(`${h.gw.url}/v1/contract-tests/${ids.run}/events`, { headers: { Authorization: `Bearer ${KEYS.admin}` } })).text();
  const crmBefore = h.crm.crm.requests.length;
  const deliveriesBefore = JSON.stringify(await Promise.all([ids.a, ids.b].map((id) => h.gw.deliveries.get(id))));

  const wrong: string[] = [];
  for (const [name, method, url, body, key, expected] of actions()) {
    const a = await send(method, url, KEYS[key], body);
    const code = expected === 403 ? 'forbidden' : 'not_found';
    if (a.status !== expected || a.code !== code || !a.type.startsWith('application/problem+json'))
      wrong.push(`${name}: ${method} ${url} key=${key} → ${a.status} ${a.code ?? ''} (expected ${expected} ${code})`);
  }
  expect(wrong).toEqual([]);
  expect(actions().length).toBeGreaterThan(25);

  expect(configFiles()).toEqual(snapshot);
  expect(h.crm.crm.requests.length).toBe(crmBefore);
  expect(JSON.stringify(await Promise.all([ids.a, ids.b].map((id) => h.gw.deliveries.get(id))))).toBe(deliveriesBefore);
}, 60_000);

test('what a scoped key reads is narrowed, not refused: its connectors only, no YAML', async () => {
  const list = await fetch(`${h.gw.url}/v1/connectors`, { headers: { Authorization: `Bearer ${KEYS.scopedA}` } });
  expect(((await list.json()) as { connectors: Array<{ id: string }> }).connectors.map((c) => c.id)).toEqual([A]);
  for (const key of [KEYS.scopedA, KEYS.all]) {
    const detail = (await (await fetch(`${h.gw.url}/v1/connectors/${A}`, { headers: { Authorization: `Bearer ${key}` } })).json()) as Record<string, unknown>;
    expect(detail.id).toBe(A);
    expect(detail.yaml).toBeUndefined();
    expect(detail.sha256).toBeUndefined();
  }
  const me = await fetch(`${h.gw.url}/v1/me`, { headers: { Authorization: `Bearer ${KEYS.scopedA}` } });
  expect(await me.json()).toEqual({ admin: false, connectors: [A] });
});
