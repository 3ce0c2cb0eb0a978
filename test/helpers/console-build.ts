/** The console's build (dist/console), made when missing or older than its sources: suites serving /console call this first. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './harness';

export function ensureConsoleBuilt(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-console.js'), '--if-stale', '--quiet'], { stdio: 'inherit' });
}
