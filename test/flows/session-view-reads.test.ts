/**
 * Every event's answer is the session view. It read each step's delivery from the store every
 * time (~50 reads per session by the end of a call); delivered steps are final, so the view
 * remembers them and reads only the steps still under way.
 */
import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const post = (sessionId: string, body: unknown) =>
  fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

test('a view of delivered steps reads none of them again', async () => {
  const S = 'view-reads-1';
  expect(
    (
      await post(S, {
        type: 'Session_Started',
        event_id: 'e1',
        data: { call_id: 51, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Vi Reads', phone: '+1 222 333 7051' } },
      })
    ).status,
  ).toBe(202);
  expect((await post(S, { type: 'End_Call', event_id: 'e2', data: { call_id: 51, call_duration: 60 } })).status).toBe(202);
  let first: any;
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 30))) {
    first = (await h.get(`/v1/connectors/zendesk/sessions/${S}`)).body;
    if (first.steps.every((s: { status: string }) => s.status === 'delivered')) break;
  }
  expect(first.steps.map((s: { status: string }) => s.status)).toEqual(first.steps.map(() => 'delivered'));
  expect(first.steps.length).toBeGreaterThanOrEqual(4);

  const get = jest.spyOn(h.gw.store, 'get');
  try {
    // An event's answer (here a repeated event) carries the view. (GET adds the timeline, which
    // reads each write's history on purpose: it is asked for by a person, not sent per event.)
    const again = (await (await post(S, { type: 'End_Call', event_id: 'e2', data: { call_id: 51, call_duration: 60 } })).json()) as any;
    expect(again.session.steps).toEqual(first.steps);
    expect(get).not.toHaveBeenCalled();
    // A new event's write is under way: it is read (and shown), the delivered ones are not.
    get.mockClear();
    const csat = (await (await post(S, { type: 'CSAT_Submitted', event_id: 'e3', data: { call_id: 51, rating: 4 } })).json()) as any;
    const fresh = csat.session.steps.filter((s: { name: string }) => !first.steps.some((f: { name: string }) => f.name === s.name));
    expect(fresh).toHaveLength(1);
    const viewReads = get.mock.calls.map(([id]) => id).filter((id) => first.steps.some((s: { delivery_id: string }) => s.delivery_id === id));
    // The worker may read the record as the comment's dependency; the view reads none of them.
    expect(viewReads.filter((id) => id !== first.steps.find((s: { name: string }) => s.name === 'record').delivery_id)).toEqual([]);
  } finally {
    get.mockRestore();
  }
});
