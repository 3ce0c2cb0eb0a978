/**
 * The created marker of each bundled connector against its sample CRM: a durable create whose
 * answer is lost after the CRM committed it is recovered by the marker it carries (never by
 * "the customer's newest record"), and one the CRM never got is created once.
 */
import { bundled, startHarness, type Harness } from '../helpers/harness';
import type { SampleCrmFlavor } from '../../src/sample-crm';

interface Flavor {
  flavor: SampleCrmFlavor;
  env: Record<string, string>;
  createPath: string;
  /** The CRM's records: id, subject, marker. */
  records(h: Harness): Array<{ id: string | number; subject?: string; marker?: string }>;
}

const FLAVORS: Flavor[] = [
  {
    flavor: 'zendesk',
    env: {},
    createPath: '/api/v2/tickets',
    records: (h) => (h.crm.crm.state as any).tickets.map((t: any) => ({ id: t.id, subject: t.subject, marker: t.external_id })),
  },
  {
    flavor: 'hubspot',
    env: { HUBSPOT_URL: '{{CRM}}' },
    createPath: '/crm/v3/objects/tickets',
    records: (h) => (h.crm.crm.state as any).tickets.map((t: any) => ({ id: t.id, subject: t.properties.subject, marker: t.properties.crm_gateway_marker })),
  },
  {
    flavor: 'zoho',
    env: { ZOHO_URL: '{{CRM}}', ZOHO_ACCOUNTS_URL: '{{CRM}}' },
    createPath: '/crm/v2/Cases',
    records: (h) => (h.crm.crm.state as any).cases.map((c: any) => ({ id: c.id, subject: c.Subject, marker: c.Gateway_Marker })),
  },
  {
    flavor: 'salesforce',
    env: { SALESFORCE_URL: '{{CRM}}' },
    createPath: '/services/data/v59.0/sobjects/Case',
    records: (h) => (h.crm.crm.state as any).Case.map((c: any) => ({ id: c.Id, subject: c.Subject, marker: c.Gateway_Marker__c })),
  },
];

describe.each(FLAVORS)('$flavor', (f) => {
  let h: Harness;
  const base = bundled(`${f.flavor}.yaml`).replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1');
  const fastRetry = 'retry:\n  initial_delay_seconds: 0.3\n  max_delay_seconds: 0.6\n';
  const yaml = /^retry:\n/m.test(base) ? base.replace(/^retry:\n/m, fastRetry) : `${base}\n${fastRetry}`;
  beforeAll(async () => {
    h = await startHarness({ connectors: { [`${f.flavor}.yaml`]: yaml }, crm: { flavor: f.flavor }, env: f.env });
    if (f.flavor === 'zoho') {
      // OAuth 2 authorization code: the admin's one-time consent.
      const start = await fetch(`${h.gw.url}/v1/connectors/zoho/oauth/authorize`, { redirect: 'manual' });
      const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      expect((await fetch(consent.headers.get('location')!)).status).toBe(200);
    }
  });
  afterAll(async () => {
    await h.close();
  });

  async function settled(id: string) {
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      const d = (await h.get(`/v1/deliveries/${id}`)).body;
      if (['delivered', 'dead', 'cancelled', 'unknown_outcome'].includes(d.status)) return d;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`delivery ${id} did not settle`);
  }

  test('the connector loads clean, and a sync create without a marker still works (the param is left out)', async () => {
    expect((await h.get(`/v1/connectors/${f.flavor}`)).body).toMatchObject({ status: 'valid', errors: [] });
    const account = await h.op(
      'create_account',
      { NAME: 'Sync Owner', PHONE_NUMBER: '+1 222 333 4401', EMAIL: 'sync.owner@example.com' },
      { connector: f.flavor },
    );
    expect(account.status).toBe(200);
    const r = await h.op('create_record', { ACCOUNT_ID: account.body.ids.ACCOUNT_ID, TICKET_SUBJECT: 'sync create' }, { connector: f.flavor });
    expect(r.status).toBe(200);
    expect(f.records(h).find((x) => x.subject === 'sync create')?.marker ?? undefined).toBeUndefined();
  });

  test('committed, answer lost, then refused: recovered by the marker, one record, its own id', async () => {
    const account = await h.op(
      'create_account',
      { NAME: 'Marker Owner', PHONE_NUMBER: '+1 222 333 4402', EMAIL: 'marker.owner@example.com' },
      { connector: f.flavor },
    );
    const owner = account.body.ids.ACCOUNT_ID;
    // The customer already has an open record: what a guessing recovery would have taken.
    await h.op('create_record', { ACCOUNT_ID: owner, TICKET_SUBJECT: 'older open record' }, { connector: f.flavor });
    h.crm.crm.injectFault({ method: 'POST', path: f.createPath, drop: true, commit: true, refuseMs: 800 });
    const r = await h.op('create_record', { ACCOUNT_ID: owner, TICKET_SUBJECT: 'marked create' }, { connector: f.flavor, query: '?async=true' });
    const d = await settled(r.body.id);
    const mine = f.records(h).filter((x) => x.subject === 'marked create');
    expect(mine).toHaveLength(1);
    expect(mine[0].marker).toBe(r.body.id);
    expect(d).toMatchObject({ status: 'delivered', result: { recovered_by: 'created_marker', ids: { RECORD_ID: mine[0].id } } });
  }, 30_000);

  test('swallowed without committing: created once by a later try', async () => {
    const account = await h.op(
      'create_account',
      { NAME: 'Lost Owner', PHONE_NUMBER: '+1 222 333 4403', EMAIL: 'lost.owner@example.com' },
      { connector: f.flavor },
    );
    h.crm.crm.injectFault({ method: 'POST', path: f.createPath, swallow: true, delayMs: 1500 });
    const r = await h.op(
      'create_record',
      { ACCOUNT_ID: account.body.ids.ACCOUNT_ID, TICKET_SUBJECT: 'swallowed create' },
      { connector: f.flavor, query: '?async=true' },
    );
    const d = await settled(r.body.id);
    const mine = f.records(h).filter((x) => x.subject === 'swallowed create');
    expect(mine).toHaveLength(1);
    expect(d).toMatchObject({ status: 'delivered', result: { ids: { RECORD_ID: mine[0].id } } });
    expect(d.result.recovered_by).toBeUndefined();
  }, 30_000);
});
