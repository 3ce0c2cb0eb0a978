/** The contract run's outputs: a progress line per check, a table, and JUnit XML. */
export interface CheckResult {
  name: string;
  operation: string;
  request: string;
  status: string;
  outcome: 'pass' | 'fail' | 'skip';
  ms: number;
  message?: string;
}

export function progressLine(r: CheckResult): string {
  const mark = r.outcome === 'pass' ? 'PASS' : r.outcome === 'fail' ? 'FAIL' : 'SKIP';
  return `${mark}  ${r.name}${r.message && r.outcome !== 'pass' ? `\n      ${r.message}` : ''}`;
}

export function table(results: CheckResult[]): string {
  const rows = [['check', 'request', 'status', 'outcome', 'ms'], ...results.map((r) => [r.name, r.request, r.status, r.outcome, String(Math.round(r.ms))])];
  const widths = rows[0].map((_, i) => Math.min(60, Math.max(...rows.map((row) => row[i].length))));
  const fmt = (row: string[]) => row.map((c, i) => (c.length > widths[i] ? `${c.slice(0, widths[i] - 1)}…` : c.padEnd(widths[i]))).join('  ');
  return [fmt(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt)].join('\n');
}

export function junit(suite: string, results: CheckResult[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const failures = results.filter((r) => r.outcome === 'fail').length;
  const skipped = results.filter((r) => r.outcome === 'skip').length;
  const cases = results.map((r) => {
    const inner =
      r.outcome === 'fail'
        ? `<failure message="${esc(r.message ?? 'failed')}">${esc(`${r.request}\n${r.message ?? ''}`)}</failure>`
        : r.outcome === 'skip'
          ? `<skipped message="${esc(r.message ?? '')}"/>`
          : '';
    return `    <testcase classname="${esc(suite)}.${esc(r.operation)}" name="${esc(r.name)}" time="${(r.ms / 1000).toFixed(3)}">${inner}</testcase>`;
  });
  const time = (results.reduce((a, r) => a + r.ms, 0) / 1000).toFixed(3);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="${esc(suite)}" tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${time}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}
