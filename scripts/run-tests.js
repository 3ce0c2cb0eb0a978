#!/usr/bin/env node
// Runs jest with its normal output, then prints the plain count "N passed, N failed" as the
// last line, so a run that executed no test is visible to CI.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// One formatter and linter for the whole code base (biome.json): a finding counts as a failed test.
const lint = spawnSync(process.execPath, [require.resolve('@biomejs/biome/bin/biome'), 'check', '.'], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
const lintFailed = lint.status === 0 ? 0 : 1;
if (lintFailed) process.stdout.write('\nlint: `npm run lint` found problems (`npm run format` fixes formatting)\n');

const out = path.join(os.tmpdir(), `crm-gateway-jest-${process.pid}.json`);
const jest = require.resolve('jest/bin/jest');
const r = spawnSync(process.execPath, [jest, '--json', `--outputFile=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(fs.readFileSync(out, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests + (results.numRuntimeErrorTestSuites || 0);
  fs.rmSync(out, { force: true });
} catch {
  failed = Math.max(1, failed);
}
failed += lintFailed;
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = r.status === 0 && failed === 0 && passed > 0 ? 0 : 1;
