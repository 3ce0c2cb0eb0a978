/**
 * The platform's agent-adapter events exactly as its spec prints them (one fixture file per
 * example, byte for byte: some are not valid JSON), each posted verbatim to the events route.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EVENT_ALIASES, PLATFORM_EVENTS, normalizeEvent } from '../../src/flows/events';
import { startHarness, type Harness } from '../helpers/harness';

const DIR = path.join(__dirname, '../fixtures/adapter-events');
/** The two redaction events come bare ({agent_id, call_id}): their type is given as ?type=. */
const BARE = new Set(['Call_Redaction_Started', 'Call_Redaction_Ended']);
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), fs.readFileSync(path.join(DIR, f), 'utf8')] as const);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

test('a fixture for every platform event the platform documents (20 examples)', () => {
  expect(fixtures.map(([name]) => name).sort()).toEqual([...PLATFORM_EVENTS].sort());
});

test.each(fixtures)('%s, posted verbatim, is accepted', async (name, text) => {
  const query = BARE.has(name) ? `?type=${name}` : '';
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/spec-${name}/events${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: text,
  });
  const body = (await res.json()) as { session: { events: Array<{ type: string }> } };
  expect({ status: res.status, body }).toMatchObject({ status: 202 });
  expect(body.session.events.map((e) => e.type)).toEqual([name]);
});

test("Party_Added's data.type is the participant's type, not the event's", () => {
  const text = fixtures.find(([n]) => n === 'Party_Added')![1];
  const ev = normalizeEvent(JSON.parse(text));
  expect(ev.type).toBe('Party_Added');
  expect(ev.vars.PARTY_TYPE).toBe('agent');
});

test.each(Object.entries(EVENT_ALIASES))('the older name %s is still accepted, recorded as %s', async (alias, name) => {
  expect(normalizeEvent({ type: alias, data: { agent_id: 5 } }).type).toBe(name);
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/alias-${alias}/events`, {
    method: 'POST',
    body: JSON.stringify({ type: alias, data: { agent_id: 5, cobrowse_session_id: 'x' } }),
  });
  expect(res.status).toBe(202);
  expect(((await res.json()) as { session: { events: Array<{ type: string }> } }).session.events.map((e) => e.type)).toEqual([name]);
});

test('the event schema lists the older names as aliases', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../schemas/session-event.schema.json'), 'utf8'));
  expect(schema.$defs.EventTypeAlias.enum).toEqual(Object.keys(EVENT_ALIASES));
});
