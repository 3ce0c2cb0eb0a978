/**
 * The CLI as a real process: what people see in a terminal and what a process manager does to
 * it (SIGTERM, a closed stdout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
jest.setTimeout(60_000);

function start(args: string[], env: Record<string, string>): { proc: ChildProcess; out: () => string; err: () => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-proc-'));
  const proc = spawn(process.execPath, ['-r', path.join(ROOT, 'test/helpers/ts-register.js'), path.join(ROOT, 'src/cli/bin.ts'), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      SAMPLE_CRM_PORT: '0',
      DATA_DIR: path.join(dir, 'data'),
      CONFIG_DIR: path.join(ROOT, 'config'),
      API_KEYS: '',
      API_KEYS_FILE: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return { proc, out: () => out, err: () => err };
}

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (p: ChildProcess) =>
  new Promise<number | null>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode) : p.once('exit', (code) => resolve(code))));

test('serve: log lines appear as they happen, the generated key once on stderr, a line at shutdown, exit 0 on SIGTERM', async () => {
  const s = start(['serve'], {});
  try {
    // No 4 KiB buffer holds the first line back.
    await until(() => /"msg":"gateway listening"/.test(s.out()), 20_000);
    const key = /\n {4}(cgw_\S+)\n/.exec(s.err())?.[1];
    expect(key).toBeDefined();
    expect(s.out()).not.toContain(key!);
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(s.out())![1];
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // One access log line per request, with the gateway's request id.
    await until(() => /"msg":"GET \/healthz 200"/.test(s.out()), 5_000);
    expect(s.out()).toMatch(/"req":\{"method":"GET","path":"\/healthz"\}.*"request_id":"[^"]+"/);
    s.proc.kill('SIGTERM');
    expect(await exited(s.proc)).toBe(0);
    expect(s.out()).toMatch(/"msg":"gateway stopped"/);
  } finally {
    s.proc.kill('SIGKILL');
    await exited(s.proc);
  }
});

test('SIGTERM ends the process even when its stdout is closed (a pipe whose reader went away)', async () => {
  const s = start(['serve'], {});
  try {
    await until(() => /gateway listening/.test(s.out()), 20_000);
    s.proc.stdout!.destroy();
    // Something to log after the reader is gone.
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(s.out())![1];
    for (let i = 0; i < 20; i++) await fetch(`${url}/healthz`).catch(() => undefined);
    s.proc.kill('SIGTERM');
    const code = await Promise.race([exited(s.proc), new Promise((r) => setTimeout(() => r('hung'), 15_000))]);
    expect(code).not.toBe('hung');
  } finally {
    s.proc.kill('SIGKILL');
    await exited(s.proc);
  }
});

test('LOG_FORMAT=pretty: lines for people, not JSON', async () => {
  const s = start(['serve'], { LOG_FORMAT: 'pretty' });
  try {
    await until(() => /gateway listening/.test(s.out()), 20_000);
    const line = s
      .out()
      .split('\n')
      .find((l) => l.includes('gateway listening'))!;
    expect(line.trim().startsWith('{')).toBe(false);
    expect(line).toMatch(/INFO/);
  } finally {
    s.proc.kill('SIGKILL');
    await exited(s.proc);
  }
});
