/** `--var K=V` pairs and `--vars file.json` into a variables object. */
import fs from 'node:fs';

export function parseVars(pairs: string[] = [], file?: string): Record<string, unknown> {
  const vars: Record<string, unknown> = file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--var expects NAME=value, got "${p}"`);
    vars[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return vars;
}
