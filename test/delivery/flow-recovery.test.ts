/**
 * The session flow's resolve_record step recovers by the same rule as durable creates: after a
 * create that got no answer, the record carrying the step's marker, never "a record of this
 * customer created in the last minute" (another session's).
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';

const FAST = (yaml: string) => yaml.replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1\nretry:\n  initial_delay_seconds: 0.2\n  max_delay_seconds: 0.5');
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ connectors: { 'zendesk.yaml': FAST(bundled('zendesk.yaml')) } });
});
afterAll(async () => {
  await h.close();
});

async function post(session: string, body: unknown) {
  const res = await fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/${session}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
}

async function recordStep(session: string): Promise<any> {
  for (const end = Date.now() + 20_000; Date.now() < end; ) {
    const v = (await h.get(`/v1/connectors/zendesk/sessions/${session}`)).body;
    const step = v.steps?.find((s: { step?: string; operation?: string }) => (s.step ?? s.operation) === 'resolve_record');
    if (step && ['delivered', 'dead', 'unknown_outcome'].includes(step.status)) return { v, step };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('resolve_record did not settle');
}

test('a swallowed ticket create is created again, not taken from another session of the same customer', async () => {
  const customer = h.crm.crm.seedUser({ name: 'Flow Customer', phone: '+1 222 333 6001' });
  // Another session's ticket for the same customer, created moments ago (another queue: not reused).
  const other = h.crm.crm.seedTicket({
    requester_id: customer.id,
    subject: 'another session',
    status: 'new',
    custom_fields: [
      { id: 1001, value: 'Sales' },
      { id: 1002, value: 'voice_call' },
    ],
  });
  h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/tickets.json', swallow: true, delayMs: 2000 });
  await post('f-1', {
    type: 'Session_Started',
    event_id: 'f-1-1',
    data: {
      call_id: 6001,
      session_type: 'IVR_Call',
      channel: 'voice_call',
      queue_name: 'Billing',
      end_user: { name: 'Flow Customer', phone: '+1 222 333 6001' },
    },
  });
  await post('f-1', { type: 'New_Call', event_id: 'f-1-2', data: { call_id: 6001, agent_email: 'kim@example.com' } });
  const { v, step } = await recordStep('f-1');
  expect(step.status).toBe('delivered');
  expect(v.record_id).not.toBe(other.id);
  const tickets = h.crm.crm.state.tickets.filter((t) => t.requester_id === customer.id);
  expect(tickets.map((t) => t.id).sort()).toEqual([other.id, v.record_id].sort());
  expect(tickets.find((t) => t.id === v.record_id)!.external_id).toEqual(expect.any(String));
}, 30_000);
