import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';

const ROOT = path.join(__dirname, '../..');

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
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
  fs.writeFileSync(
    file,
    fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8').replace('method: PUT', 'method: DELETE').replace('"{EMAIL}"', '"{E_MAIL}"'),
  );
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

test('unknown command: one line naming the commands, exit 2', async () => {
  const r = await run('frobnicate');
  expect(r.code).toBe(2);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/unknown command 'frobnicate'; commands: serve, demo, validate, dry-run, sample-crm, contract-test, init/);
});

test('no arguments: usage on stderr and a non-zero exit', async () => {
  const r = await run();
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/Usage: crm-gateway/);
  expect(r.err).toMatch(/contract-test/);
});

test('--version prints the package version', async () => {
  const r = await run('--version');
  expect(r.code).toBe(0);
  expect(r.out.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

// --help never starts a server, never reads a file named --help, never crashes on parsing.
test.each(['serve', 'demo', 'validate', 'dry-run', 'sample-crm', 'contract-test', 'init'])(
  '%s --help: its own usage, exit 0, nothing started',
  async (command) => {
    const r = await run(command, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`Usage: crm-gateway ${command}`));
    expect(r.err).toBe('');
  },
);

test('dry-run --help lists every option', async () => {
  const r = await run('dry-run', '--help');
  for (const o of ['--var', '--vars', '--env', '--file']) expect(r.out).toContain(o);
});

test('contract-test --help lists every option', async () => {
  const r = await run('contract-test', '--help');
  for (const o of ['--sample', '--base-url', '--use-config-url', '--junit', '--vars', '--openapi', '--env']) expect(r.out).toContain(o);
});

test('an unknown option: one line naming the accepted ones, exit 2', async () => {
  const r = await run('validate', '--strict', 'x.yaml');
  expect(r.code).toBe(2);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/unknown option '--strict' for validate; accepted: --help/);
});

test('an unknown sample flavor: one line naming the flavors, exit 2', async () => {
  const r = await run('sample-crm', '--flavor', 'pipedrive');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/Allowed choices are zendesk, hubspot/);
  const c = await run('contract-test', path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'pipedrive');
  expect(c.code).toBe(2);
});

test('an unknown operation for dry-run: the accepted ones, exit 2', async () => {
  const r = await run('dry-run', path.join(ROOT, 'config/zendesk.yaml'), 'delete_everything');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/one of find_account, find_account_by_id, create_account/);
});

test('contract-test never writes to a CRM it was not pointed at: a target is required', async () => {
  const r = await run('contract-test', path.join(ROOT, 'config/zendesk.yaml'));
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/exactly one of --sample <flavor>, --base-url <url> or --use-config-url/);
  const both = await run('contract-test', path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'zendesk', '--use-config-url');
  expect(both.code).toBe(2);
});

test('contract-test prints its target before the first check', async () => {
  const r = await run('contract-test', path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'zendesk');
  expect(r.code).toBe(0);
  expect(r.out.split('\n')[0]).toMatch(/^contract-test .*zendesk\.yaml against sample zendesk CRM at http:\/\/127\.0\.0\.1:\d+/);
}, 60_000);

test('dry-run --file previews a multipart upload, bytes and all, and sends nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const file = path.join(dir, 'call.mp3');
  fs.writeFileSync(file, Buffer.from('ID3-fake-recording'));
  const r = await run(
    'dry-run',
    path.join(ROOT, 'config/zendesk.yaml'),
    'upload_file',
    '--file',
    file,
    '--file-type',
    'audio/mpeg',
    '--file-kind',
    'call_recording',
    '--var',
    'RECORD_ID=1',
    '--var',
    'FILE_NAME=call.mp3',
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const [req] = JSON.parse(r.out);
  expect(req.method).toBe('POST');
  expect(JSON.stringify(req)).toMatch(/call\.mp3/);
});

test('dry-run --env sets ${env:…} values of the file', async () => {
  const r = await run(
    'dry-run',
    path.join(ROOT, 'config/zendesk.yaml'),
    'find_account',
    '--var',
    'PHONE_NUMBER=+44 20 7946 0958',
    '--env',
    'ZENDESK_URL=https://acme.zendesk.example',
  );
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out)[0].url).toMatch(/^https:\/\/acme\.zendesk\.example\//);
});

test('a busy port names the setting to change, no stack trace', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = await run('sample-crm', '--port', String(port));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`port ${port} on 127.0.0.1 is already in use: set --port to a free port (0 picks one)\n`);
    const s = await main(
      ['serve'],
      { out: () => undefined, err: () => undefined },
      { PORT: String(port), CONFIG_DIR: path.join(ROOT, 'config'), DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cli-data-')), LOG_LEVEL: 'silent' },
    ).catch((e: Error) => e);
    expect(s).toBe(1);
  } finally {
    blocker.close();
  }
});

test('init writes a starter connector that validates, and never overwrites without --force', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-init-'));
  const r = await run('init', dir);
  expect(r.code).toBe(0);
  expect(fs.existsSync(path.join(dir, '.env.example'))).toBe(true);
  // Valid as written once its credential is in the environment; without it, the error names the variable.
  let out = '';
  const code = await main(
    ['validate', path.join(dir, 'connector.yaml')],
    {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        out += s;
      },
    },
    { MY_CRM_TOKEN: 'a-starter-token' },
  );
  expect(out).toMatch(/connector\.yaml: ok/);
  expect(code).toBe(0);
  expect((await run('validate', path.join(dir, 'connector.yaml'))).out).toMatch(/environment variable MY_CRM_TOKEN is not set/);
  const again = await run('init', dir);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/already exist; nothing written \(--force overwrites\)/);
  expect((await run('init', dir, '--force')).code).toBe(0);
});
