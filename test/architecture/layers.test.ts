/**
 * The import arrows point down the pipeline: low layers (util, template, config, http) never
 * import the layers built on them. A new upward import fails here, naming the file and line.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '../../src');

/** Folder (or file) → the top-level src folders it must not import from. */
const FORBIDDEN: Record<string, string[]> = {
  util: [
    'access',
    'api',
    'auth',
    'cli',
    'config',
    'contract',
    'delivery',
    'flows',
    'http',
    'metrics',
    'operations',
    'outcome-email',
    'platforms',
    'sample-crm',
    'sample-platform',
    'storage',
    'template',
  ],
  template: ['access', 'api', 'auth', 'cli', 'contract', 'delivery', 'flows', 'http', 'metrics', 'operations', 'outcome-email', 'platforms', 'storage'],
  config: ['access', 'api', 'auth', 'cli', 'contract', 'delivery', 'flows', 'metrics', 'operations', 'outcome-email', 'platforms', 'storage'],
  http: ['access', 'api', 'auth', 'cli', 'contract', 'delivery', 'flows', 'metrics', 'operations', 'outcome-email', 'platforms', 'storage'],
  phone: [
    'access',
    'api',
    'auth',
    'cli',
    'contract',
    'delivery',
    'flows',
    'http',
    'metrics',
    'operations',
    'outcome-email',
    'platforms',
    'storage',
    'template',
  ],
  contract: ['cli'],
  'gateway.ts': ['api', 'cli'],
};

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('no import runs back up the layers', () => {
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    const rel = path.relative(SRC, file);
    const layer = rel.includes(path.sep) ? rel.split(path.sep)[0] : rel;
    const forbidden = FORBIDDEN[layer];
    if (!forbidden) continue;
    const text = fs.readFileSync(file, 'utf8');
    // Import and export-from statements, also when a formatter spreads them over several lines.
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"](\.[^'"]+)['"]/gms)) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), m[1]));
      const top = target.split(path.sep)[0];
      const line = text.slice(0, m.index).split('\n').length;
      if (forbidden.includes(top)) wrong.push(`src/${rel}:${line} imports ${m[1]} (${layer} must not import ${top})`);
    }
  }
  expect(wrong).toEqual([]);
});
