/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per "where"
 * (our src/ file, node_modules package, node internals, GC), and inclusive time of selected
 * functions, as a share of the busy (non-idle) time.
 *
 *   node dist/bench/cpuprofile-top.js <file.cpuprofile> [top=25] [skip ms=0]
 */
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  name: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  self: Row[];
  byWhere: Row[];
  byOwner: Row[];
  inclusive: Row[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** Our file, the package, node internals, or V8's pseudo-frames. */
function where(cf: CallFrame): string {
  const url = cf.url;
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  return shortUrl(url);
}

const key = (cf: CallFrame) => `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;

/** `skipMs`: leave out the first samples (start-up, warm-up). */
export function summarizeProfile(file: string, top = 25, skipMs = 0): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const whereMs = new Map<string, number>();
  const incl = new Map<string, number>();
  const owner = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  let at = 0;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] / 1000;
    if (at < skipMs) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is the time spent in it
    const n = byId.get(p.samples[i])!;
    if (n.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    self.set(key(n.callFrame), (self.get(key(n.callFrame)) ?? 0) + dt);
    whereMs.set(where(n.callFrame), (whereMs.get(where(n.callFrame)) ?? 0) + dt);
    // Owner: the first frame up the stack that is our code or a package; node internals and native
    // code (socket writes, JSON.parse, compiled validators) are charged to whoever called them.
    let own: string | undefined;
    for (let id: number | undefined = n.id; id !== undefined && own === undefined; id = parent.get(id)) {
      const cf = byId.get(id)!.callFrame;
      if (cf.url && !cf.url.startsWith('node:')) own = where(cf);
    }
    own ??= n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(node internals, no JS caller)';
    owner.set(own, (owner.get(own) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const rows = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true): Row[] =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((ms / busy) * 1000) / 10 }));
  return {
    busyMs: Math.round(busy),
    idleMs: Math.round(idle),
    self: rows(self, top),
    byWhere: rows(whereMs, top),
    byOwner: rows(owner, top),
    // Inclusive time of our own code (and the few library entry points worth naming).
    inclusive: rows(
      incl,
      top * 2,
      (k) =>
        / (src|bench)\//.test(k) || /^(jsonParser|json|send|validate|randomUUID|Axios|request|dispatchRequest|handle|emit|write|Logger|LOG|redact)\b/.test(k),
    ),
  };
}

export function printSummary(s: ProfileSummary, out: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  out(`busy ${s.busyMs} ms, idle ${s.idleMs} ms`);
  const table = (title: string, rows: Row[]) => {
    out(`-- ${title}`);
    for (const r of rows) out(`${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  };
  table('self time by function', s.self);
  table('self time by where (src file / package / node internals)', s.byWhere);
  table('self time by owner (node internals and native work charged to the first src file / package calling them)', s.byOwner);
  table('inclusive time (src/ functions and selected entry points)', s.inclusive);
}

if (require.main === module) {
  const [file, top, skip] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/cpuprofile-top.js <file.cpuprofile> [top] [skip ms]\n');
    process.exit(2);
  }
  printSummary(summarizeProfile(file, top ? Number(top) : 25, skip ? Number(skip) : 0));
}
