/** Small measuring helpers shared by the benchmarks. */
import fs from 'node:fs';
import path from 'node:path';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(latenciesMs: number[]): { p50: number; p99: number; mean: number } {
  const s = [...latenciesMs].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Runs `task(i)` for i < n with at most `concurrency` in flight; returns per-task latency (ms). */
export async function runPool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const t = performance.now();
      await task(i);
      lat[i] = performance.now() - t;
    }
  }));
  return lat;
}

export function line(label: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${label.padEnd(44)} ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
}

export function saveResult(name: string, data: unknown): string {
  const dir = path.join(process.cwd(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), node: process.version, ...(data as object) }, null, 2));
  return file;
}

export const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

/**
 * The sample CRM in its own process, so the gateway being measured does not share its event
 * loop (and its core) with the CRM it calls.
 */
export async function startCrmProcess(): Promise<{ url: string; stop(): void }> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [path.join(__dirname, '..', 'src', 'cli', 'bin.js'), 'sample-crm', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b) => {
      out += String(b);
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`sample CRM exited with ${code}`)));
  });
  return { url, stop: () => proc.kill('SIGKILL') };
}
