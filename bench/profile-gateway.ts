/**
 * CPU profile of the gateway under the sync benchmark's hardest case (CRM answering at once,
 * concurrency 64), one profile per operation, summarised with bench/cpuprofile-top.ts.
 * Not part of `npm run bench` (a profiled process is slower); run it after a build:
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/profile-gateway.js [seconds=8] [gateway|gateway-log]
 *
 * gateway-log: the production logger at LOG_LEVEL=info (see bench/sync-server.ts).
 *
 * The gateway child runs with --cpu-prof; profiles land in bench/results/profiles/. Start-up and
 * a 2 s warm-up are left out of the summary (they are in the file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { processCpuMs, runFor, startCrmProcess } from './lib';
import { printSummary, summarizeProfile } from './cpuprofile-top';
import { gatewayPath, operationShaped, prepareCrm, startServer, type Op } from './sync';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 8);
  const kind = (process.argv[3] ?? 'gateway') as 'gateway' | 'gateway-log';
  const dir = path.join(process.cwd(), 'bench', 'results', 'profiles');
  fs.mkdirSync(dir, { recursive: true });
  const crm = await startCrmProcess();
  try {
    for (const op of ['find_account', 'create_account'] as Op[]) {
      const before = new Set(fs.readdirSync(dir));
      const spawnedAt = performance.now();
      const gw = await startServer(kind, crm.url, ['--cpu-prof', '--cpu-prof-dir', dir]);
      await prepareCrm(crm.url, 0);
      const target = operationShaped('gateway', gw.url, 64, gatewayPath, gw.apiKey);
      await target.probe(op);
      const task = target.task(op);
      await runFor(2000, 64, task);
      const skipMs = performance.now() - spawnedAt;
      const cpu0 = processCpuMs(gw.proc.pid!);
      const run = await runFor(seconds * 1000, 64, task);
      const cpu1 = processCpuMs(gw.proc.pid!);
      target.close();
      await gw.stop();
      const file = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
        .map((f) => path.join(dir, f))[0];
      const named = path.join(dir, `${kind}-${op}-c64.cpuprofile`);
      fs.renameSync(file, named);
      const cpuPerReq = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) / run.latencies.length).toFixed(3) : '?';
      process.stdout.write(
        `\n=== ${kind} ${op}, c=64, CRM at once: ${Math.round(run.perSec)}/s, gateway CPU ${cpuPerReq} ms/request (profiled; errors ${run.errors}) — ${path.relative(process.cwd(), named)}\n`,
      );
      printSummary(summarizeProfile(named, 25, skipMs));
    }
  } finally {
    crm.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
