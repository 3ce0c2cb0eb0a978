import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';

const ROOT = path.join(__dirname, '../..');

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('validate: the bundled connectors are valid', async () => {
  const r = await run('validate', ...fs.readdirSync(path.join(ROOT, 'config')).map((f) => path.join(ROOT, 'config', f)));
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/zendesk\.yaml: ok/);
});

test('validate: a broken file exits 1 and lists every error with file:line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8').replace('method: PUT', 'method: DELETE').replace('"{EMAIL}"', '"{E_MAIL}"'));
  const r = await run('validate', file);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(new RegExp(`${file}:\\d+:\\d+ endpoints\\.update_record\\.method: must be one of`));
  expect(r.out).toMatch(new RegExp(`${file}:\\d+:\\d+ endpoints\\.create_account\\.params\\.email: unknown variable \\{E_MAIL\\}`));
  expect(r.out).toMatch(/bad\.yaml: 2 errors/);
});

test('dry-run: prints the exact request with credentials masked, sends nothing', async () => {
  const r = await run('dry-run', path.join(ROOT, 'config/zendesk.yaml'), 'find_account', '--var', 'PHONE_NUMBER=+44 20 7946 0958');
  expect(r.code).toBe(0);
  const [req] = JSON.parse(r.out);
  expect(req).toMatchObject({ method: 'GET', headers: { Authorization: 'Basic ****' } });
  expect(new URL(req.url).searchParams.get('query')).toBe('type:user phone:*20*7946*0958');
  expect(r.out).not.toContain('sample-token');
});

test('unknown command: usage and exit 2', async () => {
  const r = await run('frobnicate');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/usage: crm-gateway/);
});
