/**
 * The "ignore unknown filter" fault: a search answered as by a CRM that does not support the
 * filter it was sent: every user/contact, in storage order, without the sort field.
 */
import { startApi, type Api } from './helpers';
import { HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN } from '../../src/sample-crm/hubspot';

describe('Zendesk', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.running.close());

  test('set through the control API; other routes are served normally; invalid values are refused', async () => {
    const a = api.running.crm.seedUser({ name: 'A', phone: '+1 555 000 0001' });
    api.running.crm.seedUser({ name: 'B', phone: '+1 555 000 0002' });
    const bad = await api.json('/__control/faults', { headers: { authorization: null }, body: { ignoreFilter: 'yes' } });
    expect(bad.status).toBe(400);
    const set = await api.json('/__control/faults', { headers: { authorization: null }, body: { path: '/api/v2/', ignoreFilter: true, times: 3 } });
    expect(set.status).toBe(201);
    const search = await api.json<any>(`/api/v2/search.json?query=${encodeURIComponent(`type:user phone:*555*000*0002`)}`);
    expect(search.body.results.map((u: any) => u.name)).toEqual(['A', 'B']);
    expect(search.body.results[0]).not.toHaveProperty('created_at');
    const bySearch = await api.json<any>(`/api/v2/users/search.json?query=${encodeURIComponent('phone:*555*000*0002')}`);
    expect(bySearch.body.users.map((u: any) => u.name)).toEqual(['A', 'B']);
    const one = await api.json<any>(`/api/v2/users/${a.id}.json`);
    expect(one.body.user).toHaveProperty('created_at');
    // Without the fault the filter applies again.
    const normal = await api.json<any>(`/api/v2/search.json?query=${encodeURIComponent('type:user phone:*555*000*0002')}`);
    expect(normal.body.results.map((u: any) => u.name)).toEqual(['B']);
  });
});

describe('HubSpot', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ flavor: 'hubspot' } as never);
  });
  afterAll(() => api.running.close());

  test('contacts search drops filters and sorts, and the createdate fields', async () => {
    const crm = api.running.crm as any;
    crm.seedContact({ properties: { firstname: 'A', phone: '+15550000001' } });
    crm.seedContact({ properties: { firstname: 'B', phone: '+15550000002' } });
    crm.injectFault({ path: '/crm/v3/objects/contacts/search', ignoreFilter: true });
    const body = {
      filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '+15550000002' }] }],
      sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }],
      properties: ['firstname', 'phone', 'createdate'],
    };
    const r = await api.json<any>('/crm/v3/objects/contacts/search', { body, headers: { authorization: `Bearer ${HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN}` } });
    expect(r.status).toBe(200);
    expect(r.body.results.map((c: any) => c.properties.firstname)).toEqual(['A', 'B']);
    expect(r.body.results[0]).not.toHaveProperty('createdAt');
    expect(r.body.results[0].properties).not.toHaveProperty('createdate');
  });
});
