/**
 * The package as users get it: `npm pack` (prepack builds), installed into an empty folder, and
 * run from a folder that is not the package's: --version, validate of the bundled connector,
 * and the demo answering a create_account through its sample CRM.
 *
 * The repository is copied first (tracked files only) so the build does not touch this
 * checkout's dist/ while other suites run. Installing rebuilds no native module: better-sqlite3's
 * binary, already built by this checkout's install for the same Node, is copied in (building it
 * again from source would add two minutes and prove nothing about our package).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
jest.setTimeout(240_000);

let work: string;
let installed: string;
let bin: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-'));
  const src = path.join(work, 'src');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).toString().split('\0').filter(Boolean);
  for (const f of files) {
    if (!fs.existsSync(path.join(ROOT, f))) continue;
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(src, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: src, encoding: 'utf8' }).trim().split('\n').pop()!;
  installed = path.join(work, 'app');
  fs.mkdirSync(installed);
  fs.writeFileSync(path.join(installed, 'package.json'), '{"name":"app","private":true}');
  execFileSync('npm', ['install', '--prefer-offline', '--ignore-scripts', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, tgz)], {
    cwd: installed,
    stdio: 'pipe',
  });
  const binding = path.join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  fs.mkdirSync(path.dirname(path.join(installed, binding)), { recursive: true });
  fs.copyFileSync(path.join(ROOT, binding), path.join(installed, binding));
  bin = path.join(installed, 'node_modules', '.bin', 'crm-gateway');
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the package holds what it needs and nothing of the repository', () => {
  const pkg = path.join(installed, 'node_modules', 'crm-gateway');
  for (const f of [
    'dist/src/cli/bin.js',
    'dist/schemas/connector.schema.json',
    'dist/console/index.html',
    'config/zendesk.yaml',
    'openapi.yaml',
    'LICENSE',
    'README.md',
    'CHANGELOG.md',
  ]) {
    expect(fs.existsSync(path.join(pkg, f))).toBe(true);
  }
  for (const f of ['test', 'src', 'bench', '.ci', 'dist/bench']) expect(fs.existsSync(path.join(pkg, f))).toBe(false);
});

test('the bin runs: --version and validate of the bundled connector', () => {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  expect(execFileSync(bin, ['--version'], { cwd: work, encoding: 'utf8' }).trim()).toBe(version);
  const out = execFileSync(bin, ['validate', path.join(installed, 'node_modules/crm-gateway/config/zendesk.yaml')], { cwd: work, encoding: 'utf8' });
  expect(out).toMatch(/zendesk\.yaml: ok/);
});

test('the demo finds its bundled connector and sample CRM from any folder and answers', async () => {
  const cwd = fs.mkdtempSync(path.join(work, 'elsewhere-'));
  const child = spawn(bin, ['demo'], {
    cwd,
    env: { ...process.env, PORT: '0', SAMPLE_CRM_PORT: '0', LOG_LEVEL: 'warn', DATA_DIR: path.join(cwd, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!/Ctrl-C stops both/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/crm-gateway demo is running/);
    const url = /gateway\s+(http:\/\/\S+)/.exec(out)![1];
    const key = /API key \(admin\)\s+(\S+)/.exec(out)![1];
    const res = await fetch(`${url}/v1/connectors/zendesk/operations/create_account`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: JSON.stringify({ variables: { NAME: 'Kim Lee', PHONE_NUMBER: '(222) 333-4444' } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ids: Record<string, unknown> }).ids.ACCOUNT_ID).toBeDefined();
    // The console the demo prints is served from the package's own build.
    expect(out).toContain(`${url}/console`);
    const page = await fetch(`${url}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/console\/app-/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
