/**
 * Bulk batching end to end over loopback, on SQLite and PostgreSQL: due updates of many
 * records (each its own ordering key, as each session's is) go to the sample HubSpot's
 * batch update in as few calls as max_items allows; each item's result lands on its own
 * delivery; items the CRM refuses (207) are retried alone and every write is applied once.
 */
import { hubspotWithBatch, startOfWindow, until } from '../helpers/bulk';
import { startHarness, type Harness } from '../helpers/harness';
import { dropSchema, newSchemaName, PG_URL, postgresAvailable } from '../helpers/postgres';
import type { SampleCrm } from '../../src/sample-crm';

const MAX_ITEMS = 10;
const WINDOW_S = 2;

/** How many bulk windows the accepted writes fell into (when each became due). */
function windowsOf(accepted: Array<{ body: { next_attempt_at?: string } | undefined }>): number {
  return new Set(accepted.map((r) => r.body?.next_attempt_at)).size;
}

const stores: Array<[string, () => Promise<Record<string, string> | undefined>]> = [
  ['sqlite', async () => ({})],
  ['postgres', async () => ((await postgresAvailable()) ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: newSchemaName() } : undefined)],
];

describe.each(stores)('bulk batching on %s', (_kind, storeEnv) => {
  let h: Harness | undefined;
  let env: Record<string, string> | undefined;
  let crm: SampleCrm<'hubspot'>;

  beforeAll(async () => {
    env = await storeEnv();
    if (!env) return;
    h = await startHarness({
      crm: { flavor: 'hubspot' },
      connectors: { 'hubspot.yaml': hubspotWithBatch({ maxItems: MAX_ITEMS, windowSeconds: WINDOW_S }) },
      env: { HUBSPOT_URL: '{{CRM}}', ...env },
    });
    crm = h.crm.crm as unknown as SampleCrm<'hubspot'>;
  });
  afterAll(async () => {
    await h?.close();
    if (env?.DATABASE_SCHEMA) await dropSchema(env.DATABASE_SCHEMA);
  });

  const update = (id: string, text: string) =>
    h!.op('update_record', { RECORD_ID: id, TICKET_DESCRIPTION: text }, { connector: 'hubspot', query: '?async=true' });
  const delivery = (id: string) => h!.get(`/v1/deliveries/${id}`).then((r) => r.body);
  const allSettled = (ids: string[]) =>
    until(
      () => Promise.all(ids.map(delivery)),
      (ds) => ds.every((d) => ['delivered', 'dead'].includes(d.status)),
    );
  const ticket = (id: string) => crm.state.tickets.find((t) => t.id === id);
  const batchCalls = () => crm.requests.filter((r) => r.path === '/crm/v3/objects/tickets/batch/update');
  const singleCalls = () => crm.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/crm/v3/objects/tickets/'));

  test('50 records updated in one window: ceil(50 / max_items) bulk calls, each result on its own delivery', async () => {
    if (!h) return;
    const tickets = Array.from({ length: 50 }, (_, i) => crm.seedTicket({ properties: { subject: `bulk ${i}` } }).id);
    crm.clearRequests();
    await startOfWindow(WINDOW_S);
    const accepted = await Promise.all(tickets.map((id, i) => update(id, `updated ${i}`)));
    expect(accepted.map((r) => r.status)).toEqual(tickets.map(() => 202));
    const ds = await allSettled(accepted.map((r) => r.body.id));
    expect(ds.map((d) => d.status)).toEqual(tickets.map(() => 'delivered'));

    const calls = batchCalls();
    // The saving: 50 writes, at most ceil(50/10) = 5 CRM calls instead of 50; none sent alone.
    // (Per window: on a slow machine the burst may straddle a window end, and each window goes on its own.)
    expect(calls.length).toBeLessThanOrEqual(windowsOf(accepted) * Math.ceil(50 / MAX_ITEMS));
    expect(singleCalls()).toHaveLength(0);
    expect(calls.map((c) => (c.body as { inputs: unknown[] }).inputs.length).reduce((a, b) => a + b, 0)).toBe(50);
    // eslint-disable-next-line no-console
    console.log(`bulk batching (${_kind}): 50 writes in ${windowsOf(accepted)} window(s) → ${calls.length} CRM calls (${50 - calls.length} saved)`);
    // Every record got its own content.
    tickets.forEach((id, i) => expect(ticket(id)?.properties.content).toBe(`updated ${i}`));
    // Each delivery's history is its own line of the bulk call.
    expect(ds[0].history).toEqual([
      expect.objectContaining({
        n: 1,
        status: 200,
        classification: 'ok',
        request: expect.stringMatching(/^POST .*\/crm\/v3\/objects\/tickets\/batch\/update$/),
        reason: expect.stringMatching(/^HTTP 200; item \d+ of \d+ in one bulk call$/),
      }),
    ]);
    expect(ds[0]).toMatchObject({ attempts: 1, result: { outcome: 'ok', bulk: { items: expect.any(Number) } } });
  });

  test('20 sessions × 3 updates each: at most one write per session in a bulk call, and each session in order', async () => {
    if (!h) return;
    const SESSIONS = 20;
    const tickets = Array.from({ length: SESSIONS }, (_, i) => crm.seedTicket({ properties: { subject: `session ${i}` } }).id);
    crm.clearRequests();
    await startOfWindow(WINDOW_S);
    const accepted: string[][] = tickets.map(() => []);
    const byId = new Map<string, { next_attempt_at?: string }>();
    for (let step = 1; step <= 3; step++) {
      const rs = await Promise.all(
        tickets.map((id, i) =>
          fetch(`${h!.gw.url}/v1/connectors/hubspot/operations/update_record?async=true`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ variables: { RECORD_ID: id, TICKET_DESCRIPTION: `session ${i} step ${step}` }, ordering_key: `session-${i}` }),
          }).then((r) => r.json() as Promise<{ id: string; next_attempt_at?: string }>),
        ),
      );
      rs.forEach((r, i) => {
        accepted[i].push(r.id);
        byId.set(r.id, r);
      });
    }
    const ds = await allSettled(accepted.flat());
    expect(ds.every((d) => d.status === 'delivered')).toBe(true);
    const calls = batchCalls();
    for (const c of calls) {
      const ids = (c.body as { inputs: Array<{ id: string }> }).inputs.map((x) => x.id);
      expect(new Set(ids).size).toBe(ids.length); // one write per session (and ticket) per call
    }
    // Three rounds (a session's next write waits for the one before), each ceil(20/10) calls.
    expect(calls.length).toBeLessThanOrEqual(3 * windowsOf(accepted.flat().map((id) => ({ body: byId.get(id) }))) * Math.ceil(SESSIONS / MAX_ITEMS));
    // eslint-disable-next-line no-console
    console.log(`bulk batching (${_kind}): ${SESSIONS * 3} ordered writes of ${SESSIONS} sessions → ${calls.length} CRM calls`);
    // Order held: each session's steps were sent 1, 2, 3, so the last one stands.
    tickets.forEach((id, i) => expect(ticket(id)?.properties.content).toBe(`session ${i} step 3`));
    const sentOrder = new Map<string, string[]>();
    for (const c of calls)
      for (const x of (c.body as { inputs: Array<{ id: string; properties: { content: string } }> }).inputs)
        sentOrder.set(x.id, [...(sentOrder.get(x.id) ?? []), x.properties.content.replace(/.* step /, '')]);
    for (const id of tickets) expect(sentOrder.get(id)).toEqual(['1', '2', '3']);
  });

  test('a partially failed batch (207): the others are delivered, only the refused items are retried (alone), each applied once', async () => {
    if (!h) return;
    const tickets = Array.from({ length: 20 }, (_, i) => crm.seedTicket({ properties: { subject: `partial ${i}` } }).id);
    const refused = [tickets[3], tickets[11], tickets[17]];
    crm.failInBatch(refused);
    crm.clearRequests();
    await startOfWindow(WINDOW_S);
    const accepted = await Promise.all(tickets.map((id, i) => update(id, `partial update ${i}`)));
    const ds = await allSettled(accepted.map((r) => r.body.id));
    expect(ds.map((d) => d.status)).toEqual(tickets.map(() => 'delivered'));

    const byTicket = new Map(tickets.map((id, i) => [id, ds[i]]));
    for (const id of refused) {
      const d = byTicket.get(id)!;
      expect(d.attempts).toBe(2);
      expect(d.history).toEqual([
        expect.objectContaining({ n: 1, status: 207, classification: 'retry', reason: expect.stringContaining('injected failure') }),
        expect.objectContaining({ n: 2, status: 200, classification: 'ok', request: expect.stringMatching(/^PATCH .*\/crm\/v3\/objects\/tickets\/\d+$/) }),
      ]);
    }
    for (const id of tickets.filter((t) => !refused.includes(t))) expect(byTicket.get(id)!.attempts).toBe(1);

    // Applied exactly once: a refused id's batch input changed nothing (failInBatch fires once per id).
    const applied = new Map<string, number>();
    const injected = new Set(refused);
    for (const c of batchCalls())
      for (const input of (c.body as { inputs: Array<{ id: string }> }).inputs) {
        if (injected.delete(String(input.id))) continue;
        applied.set(String(input.id), (applied.get(String(input.id)) ?? 0) + 1);
      }
    for (const c of singleCalls()) if (c.status === 200) applied.set(c.path.split('/').pop()!, (applied.get(c.path.split('/').pop()!) ?? 0) + 1);
    expect(Object.fromEntries(tickets.map((t) => [t, applied.get(t)]))).toEqual(Object.fromEntries(tickets.map((t) => [t, 1])));
    expect(batchCalls().length).toBeLessThanOrEqual(windowsOf(accepted) * Math.ceil(20 / MAX_ITEMS));
    expect(singleCalls()).toHaveLength(refused.length);
    tickets.forEach((id, i) => expect(ticket(id)?.properties.content).toBe(`partial update ${i}`));
  });

  test('a failed bulk call (503) retries every item, each under its own attempts; nothing lost', async () => {
    if (!h) return;
    const tickets = Array.from({ length: 6 }, (_, i) => crm.seedTicket({ properties: { subject: `outage ${i}` } }).id);
    crm.clearRequests();
    crm.injectFault({ method: 'POST', path: '/crm/v3/objects/tickets/batch/update', status: 503, times: 1 });
    await startOfWindow(WINDOW_S);
    const accepted = await Promise.all(tickets.map((id, i) => update(id, `after outage ${i}`)));
    const ds = await allSettled(accepted.map((r) => r.body.id));
    expect(ds.map((d) => [d.status, d.attempts])).toEqual(tickets.map(() => ['delivered', 2]));
    expect(ds[0].history.map((a: { status: number }) => a.status)).toEqual([503, 200]);
    expect(singleCalls()).toHaveLength(0);
    tickets.forEach((id, i) => expect(ticket(id)?.properties.content).toBe(`after outage ${i}`));
  });
});
