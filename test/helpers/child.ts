/** Spawns and kills real gateway processes (test/helpers/gateway-child.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Child {
  url: string;
  proc: ChildProcess;
  stderr: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['-r', path.join(__dirname, 'ts-register.js'), path.join(__dirname, 'gateway-child.ts')], {
    env: { ...process.env, GATEWAY_AUTH: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  proc.stderr!.on('data', (b) => stderr.push(String(b)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`child did not start in 30 s: ${stderr.join('')}`)), 30_000);
    proc.stdout!.on('data', (b) => {
      out += String(b);
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`child exited with ${code}: ${stderr.join('')}`));
    });
  });
  return {
    url,
    proc,
    stderr,
    kill: (signal: NodeJS.Signals = 'SIGKILL') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}
