/**
 * Compiles the values an integrator writes in a connector (`"{EMAIL}"`,
 * `"type:user phone:{PHONE_NUMBER}"`, `"=CONCAT_OR((Id:equals:{ACCOUNT_ID}), (Email:equals:{EMAIL}))"`,
 * nested maps and lists) into a small tree, once, at load time. Rendering walks the
 * tree and never parses text again.
 *
 * Grammar of a string value:
 *   - exactly `{VAR}`             → the variable, keeping its JSON type
 *   - `{VAR:number}`, `{VAR:boolean}`, `{VAR:string}` → the variable cast to that type (anywhere
 *                                   a `{VAR}` may stand); another cast name is a load-time error
 *   - `=NAME(arg, arg, …)`         → a function call (DEFAULT_VALUE, CONCAT_OR, CONCAT_AND)
 *   - contains `{{`               → a handlebars text template (long text; missing → empty)
 *   - anything else               → text with `{VAR}` placeholders
 * Function arguments are split on top-level commas; parentheses nest and `"…"` quotes
 * protect commas. An argument may itself be a function call.
 */
export const FUNCTIONS = {
  DEFAULT_VALUE: { min: 2, max: 2 },
  CONCAT_OR: { min: 1, max: Infinity },
  CONCAT_AND: { min: 1, max: Infinity },
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

import { CASTS, isCast, type Cast } from './casts';

export type TextPart = string | { v: string; cast?: Cast };

export type TemplateNode =
  | { k: 'lit'; value: unknown }
  | { k: 'var'; name: string; cast?: Cast }
  | { k: 'text'; parts: TextPart[] }
  | { k: 'hbs'; source: string }
  | { k: 'fn'; name: FunctionName; args: TemplateNode[] }
  | { k: 'map'; entries: Array<[string, TemplateNode]> }
  | { k: 'list'; items: TemplateNode[] };

export interface TemplateIssue {
  message: string;
  /** Path below the compiled value where the issue is, e.g. ['filterGroups', 0, 'value']. */
  path: Array<string | number>;
}

const VAR_RE = /\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]\w*))?\}/g;
const EXACT_VAR_RE = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]\w*))?\}$/;
const CALL_RE = /^=?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(/;

/**
 * Text with `{VAR}` (or `{VAR:cast}`) placeholders → parts. Literal braces that are not a name
 * stay literal. An unknown cast name is reported in `issues` (and the placeholder kept uncast).
 */
export function compileText(source: string, issues: TemplateIssue[] = [], path: Array<string | number> = []): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of source.matchAll(VAR_RE)) {
    if (m.index! > last) parts.push(source.slice(last, m.index));
    const cast = castOf(m[1], m[2], issues, path);
    parts.push(cast ? { v: m[1], cast } : { v: m[1] });
    last = m.index! + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  return parts;
}

export function compileValue(value: unknown, issues: TemplateIssue[] = [], path: Array<string | number> = []): TemplateNode {
  if (Array.isArray(value)) return { k: 'list', items: value.map((v, i) => compileValue(v, issues, [...path, i])) };
  if (value !== null && typeof value === 'object') {
    return { k: 'map', entries: Object.entries(value).map(([key, v]) => [key, compileValue(v, issues, [...path, key])]) };
  }
  if (typeof value !== 'string') return { k: 'lit', value };
  return compileString(value, issues, path);
}

function castOf(name: string, cast: string | undefined, issues: TemplateIssue[], path: Array<string | number>): Cast | undefined {
  if (cast === undefined) return undefined;
  if (isCast(cast)) return cast;
  issues.push({ path, message: `{${name}:${cast}}: unknown cast "${cast}"; casts are ${CASTS.join(', ')}` });
  return undefined;
}

function compileString(s: string, issues: TemplateIssue[], path: Array<string | number>): TemplateNode {
  const exact = EXACT_VAR_RE.exec(s);
  if (exact) {
    const cast = castOf(exact[1], exact[2], issues, path);
    return cast ? { k: 'var', name: exact[1], cast } : { k: 'var', name: exact[1] };
  }
  if (s.trimStart().startsWith('=')) {
    const call = parseCall(s.trim(), issues, path);
    if (call) return call;
    return { k: 'lit', value: s };
  }
  if (s.includes('{{')) return { k: 'hbs', source: s };
  const parts = compileText(s, issues, path);
  if (parts.every((p) => typeof p === 'string')) return { k: 'lit', value: s };
  return { k: 'text', parts };
}

/** Parses `=NAME(args)` (the `=` optional for nested calls). Reports malformed calls as issues. */
function parseCall(src: string, issues: TemplateIssue[], path: Array<string | number>): TemplateNode | undefined {
  const head = CALL_RE.exec(src);
  if (!head) {
    issues.push({ path, message: `"${src}" starts with "=" but is not a function call; functions are ${Object.keys(FUNCTIONS).join(', ')}` });
    return undefined;
  }
  const name = head[1];
  const open = head[0].length - 1;
  const close = matchingParen(src, open);
  if (close < 0) {
    issues.push({ path, message: `function ${name}: missing closing ")" in "${src}"` });
    return undefined;
  }
  if (src.slice(close + 1).trim() !== '') {
    issues.push({ path, message: `function ${name}: unexpected text after ")" in "${src}"` });
    return undefined;
  }
  if (!(name in FUNCTIONS)) {
    issues.push({ path, message: `unknown function ${name}; functions are ${Object.keys(FUNCTIONS).join(', ')}` });
    return undefined;
  }
  const fn = name as FunctionName;
  const rawArgs = splitArgs(src.slice(open + 1, close));
  const { min, max } = FUNCTIONS[fn];
  if (rawArgs.length < min || rawArgs.length > max) {
    const want = min === max ? `${min}` : `at least ${min}`;
    issues.push({ path, message: `function ${fn} takes ${want} argument${min === 1 ? '' : 's'}, got ${rawArgs.length} in "${src}"` });
    return undefined;
  }
  const args: TemplateNode[] = [];
  for (const raw of rawArgs) {
    if (raw === '') {
      issues.push({ path, message: `function ${fn}: empty argument in "${src}"` });
      return undefined;
    }
    args.push(compileArg(raw, issues, path));
  }
  return { k: 'fn', name: fn, args };
}

function compileArg(raw: string, issues: TemplateIssue[], path: Array<string | number>): TemplateNode {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    return compileString(raw.slice(1, -1).replace(/\\"/g, '"'), issues, path);
  }
  const head = CALL_RE.exec(raw);
  if (head && (raw.startsWith('=') || head[1] in FUNCTIONS)) return parseCall(raw, issues, path) ?? { k: 'lit', value: raw };
  return compileString(raw, issues, path);
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

function splitArgs(inner: string): string[] {
  if (inner.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(inner.slice(start).trim());
  return out;
}

/** Every `{VAR}` a compiled tree references (handlebars templates are listed by the caller). */
export function collectVariables(node: TemplateNode, into: Set<string> = new Set()): Set<string> {
  switch (node.k) {
    case 'var':
      into.add(node.name);
      break;
    case 'text':
      for (const p of node.parts) if (typeof p !== 'string') into.add(p.v);
      break;
    case 'fn':
      node.args.forEach((a) => collectVariables(a, into));
      break;
    case 'map':
      node.entries.forEach(([, v]) => collectVariables(v, into));
      break;
    case 'list':
      node.items.forEach((v) => collectVariables(v, into));
      break;
    default:
      break;
  }
  return into;
}
