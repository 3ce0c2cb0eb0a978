/**
 * The folder of this package's package.json, found from this file's own location, so the bundled
 * config, sample connectors and version are found the same way from a clone (ts or dist) and
 * from an installed package, whatever the current directory is.
 */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'crm-gateway') return (cached = dir);
    if (path.dirname(dir) === dir) throw new Error(`crm-gateway: package.json not found above ${__dirname}`);
  }
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
