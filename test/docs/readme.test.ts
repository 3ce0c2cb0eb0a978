/** The README's examples are real: its connector compiles, its tables match the code. */
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';
import { ERROR_CODES } from '../../src/errors';
import { formatPhone } from '../../src/phone';
import { SESSION_VARIABLES } from '../../src/template/variables';

const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

test('the README starts with the two commands', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1];
  expect(firstBlock).toMatch(/^npm install && npm start/m);
  expect(firstBlock).toMatch(/^npm install && npm test/m);
  expect(fs.readFileSync(path.join(__dirname, '../../.ci/run'), 'utf8')).toMatch(/\nnpm install[^\n]*\nnpm test\n$/);
});

test('the example connector compiles without errors or warnings', () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)![1];
  const r = compileConnector(yaml, 'README.md', { ACME_TOKEN: 'x-token-1' });
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect([...r.connector!.endpoints.keys()]).toHaveLength(8);
});

test('every session variable and error code is documented', () => {
  for (const v of SESSION_VARIABLES) expect(readme).toContain(v);
  for (const code of Object.keys(ERROR_CODES)) if (code !== 'internal') expect(readme).toContain(`\`${code}\``);
});

test('the phone table is what the code does', () => {
  const rows = [...readme.matchAll(/^\| (automatic|e164|us_local|us_local_standard|international) \| `([^`]+)` \| (?:`([^`]+)`|same) \|/gm)];
  expect(rows).toHaveLength(5);
  for (const [, format, write, search] of rows) {
    expect(formatPhone('+1 222 333 4444', format as never, 'write')).toMatchObject({ ok: true, value: write });
    expect(formatPhone('+1 222 333 4444', format as never, 'search')).toMatchObject({ ok: true, value: search ?? write });
  }
  expect(formatPhone('+44 20 7946 0958', 'us_local_standard', 'write')).toMatchObject({ value: '020 7946 0958' });
  expect(formatPhone('+44 20 7946 0958', 'automatic', 'search')).toMatchObject({ value: '*20*7946*0958' });
});

test('the Performance section names every benchmark `npm run bench` runs, and its knobs', () => {
  const perf = /## Performance\n([\s\S]*?)\n## /.exec(readme)![1];
  const run = fs.readFileSync(path.join(__dirname, '../../bench/run.ts'), 'utf8');
  const names = [...run.matchAll(/want\('(\w+)'\)/g)].map((m) => m[1]);
  expect(names.sort()).toEqual(['durable', 'flows', 'limits', 'render', 'scale', 'sync']);
  expect(perf).toContain(`npm run bench -- sync         # one of: ${['sync', 'render', 'durable', 'scale', 'flows', 'limits'].join(', ')}`);
  const knobs = new Set<string>();
  for (const f of fs.readdirSync(path.join(__dirname, '../../bench')).filter((n) => n.endsWith('.ts'))) {
    for (const m of fs.readFileSync(path.join(__dirname, '../../bench', f), 'utf8').matchAll(/process\.env\.(BENCH_\w+)/g)) knobs.add(m[1]);
  }
  for (const k of knobs) expect(perf).toContain(k);
  expect(JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).scripts.bench).toMatch(/bench\/run\.js/);
});
