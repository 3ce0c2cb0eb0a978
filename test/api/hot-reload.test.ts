/** A changed connector file is validated and swapped in; an invalid change keeps the previous version. */
import fs from 'node:fs';
import path from 'node:path';
import { bundled, startHarness, type Harness } from '../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function until(fn: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await fn()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

test('valid change → swapped in; invalid change → previous version keeps serving, errors shown; fixed → swapped', async () => {
  const file = path.join(h.dir, 'config', 'zendesk.yaml');
  const detail = async () => (await h.get('/v1/connectors/zendesk')).body;
  fs.writeFileSync(file, bundled('zendesk.yaml').replace('name: Zendesk (sample CRM)', 'name: Zendesk v2'));
  await until(async () => (await detail()).name === 'Zendesk v2');
  expect((await detail()).name).toBe('Zendesk v2');

  fs.writeFileSync(file, bundled('zendesk.yaml').replace('name: Zendesk (sample CRM)', 'name: Broken').replace('"{EMAIL}"', '"{EMAL}"'));
  await until(async () => Boolean((await detail()).rejected_change));
  const d = await detail();
  expect(d).toMatchObject({ name: 'Zendesk v2', status: 'valid' });
  expect(d.rejected_change[0]).toMatch(/zendesk\.yaml:\d+:\d+ endpoints\.create_account\.params\.email: unknown variable \{EMAL\}/);
  expect((await h.op('find_account', { EMAIL: 'x@example.com' })).status).toBe(200);

  fs.writeFileSync(file, bundled('zendesk.yaml').replace('name: Zendesk (sample CRM)', 'name: Zendesk v3'));
  await until(async () => (await detail()).name === 'Zendesk v3');
  expect(await detail()).toMatchObject({ name: 'Zendesk v3' });
  expect((await detail()).rejected_change).toBeUndefined();
});
