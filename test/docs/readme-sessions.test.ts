/**
 * The README's session examples (a call with its End_Call, a whole chat) do what the README
 * says: each curl is sent as written (with the key it shows) to a real gateway and the
 * Zendesk-like sample CRM; the session ends with its account, its ticket and the end comment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { startHarness, type Harness } from '../helpers/harness';

const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
const KEY = 'cgw_readme-session-examples-key';
const section = readme.slice(readme.indexOf('## Session flows'), readme.indexOf('### Event variables'));

interface Curl {
  method: string;
  path: string;
  body?: unknown;
}

/** The curls of the section's first sh blocks, `$VAR` URLs resolved from the block's assignments. */
function curls(block: string): Curl[] {
  const vars: Record<string, string> = {};
  const out: Curl[] = [];
  // Continuation lines joined, and a quoted body that spans lines kept on one (JSON does not mind).
  let inQuote = false;
  const joined = [...block.replace(/\\\n/g, ' ')]
    .map((c) => {
      if (c === "'") inQuote = !inQuote;
      return c === '\n' && inQuote ? ' ' : c;
    })
    .join('');
  for (const line of joined.split('\n').map((l) => l.trim())) {
    const assign = /^([A-Z_]+)=(\S+)$/.exec(line);
    if (assign) vars[assign[1]] = assign[2];
    if (!line.startsWith('curl ')) continue;
    expect(line).toContain('-H "Authorization: Bearer $KEY"');
    const url = /(?:\s|')((?:localhost:3000|\$[A-Z_]+)[^\s']*)/
      .exec(line.replace('-H "Authorization: Bearer $KEY"', ''))![1]
      .replace(/\$([A-Z_]+)/g, (_m, n: string) => vars[n]);
    const data = /\s-d\s+'([^']*)'/.exec(line)?.[1];
    out.push({
      method: /-X\s+(\w+)/.exec(line)?.[1] ?? 'GET',
      path: url.replace(/^localhost:3000/, ''),
      body: data === undefined ? undefined : JSON.parse(data),
    });
  }
  return out;
}

const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ apiKeys: new ApiKeys(parseKeyEntries(`${hashKey(KEY)}:admin`, 'test')) });
});
afterAll(async () => {
  await h.close();
});

async function send(c: Curl): Promise<{ status: number; body: any }> {
  const res = await fetch(h.gw.url + c.path, {
    method: c.method,
    headers: { Authorization: `Bearer ${KEY}`, ...(c.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
  });
  return { status: res.status, body: await res.json() };
}

async function settled(sessionPath: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const v = (await send({ method: 'GET', path: sessionPath })).body;
    if (v.steps?.length && v.held.length === 0 && v.steps.every((s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status))) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`session ${sessionPath} did not settle`);
}

test.each([
  ['a call, to its End_Call', 'End_Call', 'call-1001'],
  ['a whole chat', 'End_Chat', 'chat-73522'],
])('%s', async (_what, lastEvent, sessionId) => {
  const block = blocks.find((b) => b.includes(`"type":"${lastEvent}"`) && b.includes(sessionId));
  expect(block).toBeDefined();
  const sent = curls(block!);
  const events = sent.filter((c) => c.method === 'POST');
  expect(events.at(-1)!.body).toMatchObject({ type: lastEvent });
  for (const e of events) expect((await send(e)).status).toBe(202);
  const view = await settled(sent.at(-1)!.path);
  expect(view).toMatchObject({ session_id: sessionId, ended: true, account: expect.stringMatching(/^(created|found)/), record: 'created', waiting_for: null });
  expect(view.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
  const comments = h.crm.crm.state.comments.filter((c) => c.ticket_id === view.record_id).map((c) => c.body);
  expect(comments).toContainEqual(expect.stringMatching(/^Session ended/));
});
