/**
 * Phone numbers are formatted once, from the raw value, at the edge (prepareCall): a session's
 * number is never formatted into the connector's write format and then parsed again. A UK
 * caller, +44 20 7946 0958, on the bundled Salesforce connector (national format, with
 * foreign_numbers: e164) and on a us_local Zendesk connector (no fallback: a clear error).
 */
import type { SampleCrm } from '../../src/sample-crm';
import { bundled, startHarness, type Harness } from '../helpers/harness';

const UK = '+44 20 7946 0958';

async function settled(h: Harness, connector: string, sessionId: string, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await h.get(`/v1/connectors/${connector}/sessions/${sessionId}`)).body;
    // The account step decides; a record step behind a dead account step stays pending.
    const final = (s: { status: string }) => ['delivered', 'dead', 'cancelled'].includes(s.status);
    const account = v.steps.find((s: { name: string }) => s.name === 'account');
    if (account?.status === 'dead' || v.steps.every(final) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
}
const post = (h: Harness, connector: string, sessionId: string, body: unknown) =>
  fetch(`${h.gw.url}/v1/connectors/${connector}/sessions/${sessionId}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('Salesforce (us_local_standard, foreign_numbers: e164)', () => {
  let h: Harness;
  let crm: SampleCrm<'salesforce'>;
  beforeAll(async () => {
    h = await startHarness({
      connectors: { 'salesforce.yaml': bundled('salesforce.yaml') },
      crm: { flavor: 'salesforce' },
      env: { SALESFORCE_URL: '{{CRM}}' },
    });
    crm = h.crm.crm as unknown as SampleCrm<'salesforce'>;
  });
  afterAll(async () => {
    await h.close();
  });

  test("a UK caller's session: the contact holds the UK number in full, found again by it", async () => {
    expect(
      (
        await post(h, 'salesforce', 'uk-1', {
          type: 'Session_Started',
          data: { call_id: 1, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Ann Brit', phone: UK } },
        })
      ).status,
    ).toBe(202);
    const v = await settled(h, 'salesforce', 'uk-1');
    expect(v.steps.filter((s: { status: string }) => s.status !== 'delivered')).toEqual([]);
    expect(crm.recordById(v.account_id)).toMatchObject({ Phone: '+442079460958' });
    // The ticket subject (a text people read) shows the number as the connector writes it.
    expect(crm.recordById(v.record_id)).toMatchObject({ ContactId: v.account_id });
    expect(String((crm.recordById(v.record_id) as { Description: string }).Description)).toContain('Phone: +442079460958');
    // A second session of the same caller finds the contact instead of creating another.
    await post(h, 'salesforce', 'uk-2', {
      type: 'Session_Started',
      data: { call_id: 2, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Ann Brit', phone: UK } },
    });
    const again = await settled(h, 'salesforce', 'uk-2');
    expect(again.account).toBe('found');
    expect(again.account_id).toBe(v.account_id);
  });

  test('a US caller is still written in the national format', async () => {
    await post(h, 'salesforce', 'us-1', {
      type: 'Session_Started',
      data: { call_id: 3, session_type: 'IVR_Call', end_user: { name: 'Bo Yank', phone: '+1 222 333 5151' } },
    });
    const v = await settled(h, 'salesforce', 'us-1');
    expect(crm.recordById(v.account_id)).toMatchObject({ Phone: '(222) 333-5151' });
  });
});

describe('a us_local connector without a fallback', () => {
  let h: Harness;
  const usLocal = bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: zd-local')
    .replace('format: automatic ', 'format: us_local  ');
  beforeAll(async () => {
    h = await startHarness({ connectors: { 'zd-local.yaml': usLocal } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('a UK caller is a clear error naming the number, never +1 207 946 0958', async () => {
    await post(h, 'zd-local', 'uk-1', { type: 'Session_Started', data: { call_id: 1, session_type: 'IVR_Call', end_user: { name: 'Ann Brit', phone: UK } } });
    const v = await settled(h, 'zd-local', 'uk-1');
    const account = v.steps.find((s: { name: string }) => s.name === 'account');
    expect(account.status).toBe('dead');
    expect(account.last_error).toMatchObject({ code: 'invalid_phone_number' });
    expect(account.last_error.message).toContain('is a +44 number');
    expect(h.crm.crm.state.users.filter((u) => /2079460958/.test(u.phone ?? ''))).toEqual([]);
    expect(h.crm.crm.requests.filter((r) => /2079460958/.test(JSON.stringify(r)))).toEqual([]);
  });

  test('the synchronous API answers 422 invalid_phone_number naming the variable', async () => {
    const r = await h.op('create_account', { NAME: 'Ann Brit', PHONE_NUMBER: UK }, { connector: 'zd-local' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'invalid_phone_number', field: 'variables.PHONE_NUMBER' });
  });

  test('a US caller is written as national digits, formatted once', async () => {
    await post(h, 'zd-local', 'us-1', {
      type: 'Session_Started',
      data: { call_id: 2, session_type: 'IVR_Call', end_user: { name: 'Bo Yank', phone: '+1 (222) 333-5152' } },
    });
    const v = await settled(h, 'zd-local', 'us-1');
    expect(v.account).toBe('created');
    expect(h.crm.crm.state.users.find((u) => u.id === v.account_id)).toMatchObject({ phone: '2223335152' });
  });
});
