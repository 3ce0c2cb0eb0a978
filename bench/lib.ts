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
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const t = performance.now();
        await task(i);
        lat[i] = performance.now() - t;
      }
    }),
  );
  return lat;
}

export function line(label: string, fields: Record<string, unknown>): void {
  process.stdout.write(
    `${label.padEnd(44)} ${Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join('  ')}\n`,
  );
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
export async function startCrmProcess(): Promise<{ url: string; pid: number; stop(): void }> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [path.join(__dirname, '..', 'src', 'cli', 'bin.js'), 'sample-crm', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b) => {
      out += String(b);
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`sample CRM exited with ${code}`)));
  });
  return { url, pid: proc.pid!, stop: () => proc.kill('SIGKILL') };
}

export interface TimedRun {
  /** Latency (ms) of every completed request, in completion order. */
  latencies: number[];
  /** Requests that threw or whose check failed. */
  errors: number;
  firstError?: string;
  seconds: number;
  perSec: number;
}

/**
 * Keeps `concurrency` calls of `task()` in flight for `durationMs` (closed loop: each worker
 * starts its next call when the previous one ends); returns latencies and throughput. A task
 * that throws counts as an error and its latency is not recorded.
 */
export async function runFor(durationMs: number, concurrency: number, task: () => Promise<unknown>): Promise<TimedRun> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const stopAt = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        const t = performance.now();
        try {
          await task();
          latencies.push(performance.now() - t);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { latencies, errors, firstError, seconds, perSec: latencies.length / seconds };
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined
 * elsewhere. /proc counts in USER_HZ (100/s) ticks, so it suits windows of a second or more.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) used so far by every process whose command name is `name` (e.g. the PostgreSQL server's backends). */
export function cpuOfProcessesNamed(name: string): number | undefined {
  try {
    let total = 0;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== name) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        total += (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        /* exited meanwhile */
      }
    }
    return total;
  } catch {
    return undefined;
  }
}
