/**
 * Schema-driven completion for the connector YAML, without an editor: where the cursor is in
 * the YAML (the key path, by indentation) and what schemas/connector.schema.json allows there
 * (keys with their descriptions, or a value's enum). Pure, so it is tested without a browser;
 * editor.ts plugs it into CodeMirror's autocompletion. (codemirror-json-schema does this too,
 * but its YAML mode bundles a markdown renderer and triples the console's size.)
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

export interface Context {
  /** Keys from the document root to the mapping the cursor is in; "[]" for a list item. */
  path: string[];
  /** 'key': typing a key; 'value': typing the value of `key`. */
  kind: 'key' | 'value';
  key?: string;
  /** The word being typed and where it starts in the text. */
  word: string;
  from: number;
}

export interface Option {
  label: string;
  detail?: string;
  info?: string;
  kind: 'property' | 'enum';
}

const KEY_LINE = /^(\s*)((?:-\s+)*)([A-Za-z0-9_$.-]+)\s*:(.*)$/;

/** The completion context at `pos`, or undefined inside a comment, a flow collection or a multi-line scalar. */
export function contextAt(text: string, pos: number): Context | undefined {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  if (before.includes('#') || /[[{]/.test(before)) return undefined;
  let indent: number;
  const path: string[] = [];
  let ctx: Pick<Context, 'kind' | 'key' | 'word' | 'from'>;
  const value = /^(\s*)((?:-\s+)*)([A-Za-z0-9_$.-]+)\s*:\s+(\S*)$/.exec(before);
  const key = /^(\s*)((?:-\s+)*)([A-Za-z0-9_$.-]*)$/.exec(before);
  if (value) {
    const [, ws, dashes, k, word] = value;
    indent = ws.length;
    if (dashes) path.push('[]');
    ctx = { kind: 'value', key: k, word, from: pos - word.length };
    // A key under a dash sits in the item: the item's own keys are at the column after the dash.
    indent = dashes ? ws.length : indent;
    if (dashes) return walkUp(text, lineStart, ws.length, path, ctx);
  } else if (key) {
    const [, ws, dashes, word] = key;
    indent = ws.length + dashes.length;
    ctx = { kind: 'key', word, from: pos - word.length };
    if (dashes) {
      path.push('[]');
      return walkUp(text, lineStart, ws.length, path, ctx);
    }
  } else return undefined;
  return walkUp(text, lineStart, indent, path, ctx);
}

function walkUp(text: string, lineStart: number, indent: number, deepest: string[], ctx: Pick<Context, 'kind' | 'key' | 'word' | 'from'>): Context | undefined {
  const lines = text.slice(0, Math.max(0, lineStart - 1)).split('\n');
  const reversed: string[] = [...deepest];
  let need = indent;
  for (let i = lines.length - 1; i >= 0 && need > 0; i--) {
    const line = lines[i];
    if (!line.trim() || /^\s*#/.test(line)) continue;
    const m = KEY_LINE.exec(line);
    const ws = /^\s*/.exec(line)![0].length;
    const dashes = m ? m[2] : (/^\s*((?:-\s*)*)/.exec(line)?.[1] ?? '');
    const keyCol = ws + dashes.length;
    if (m && keyCol < need && isBlockStart(m[4])) {
      reversed.push(m[3]);
      if (dashes) reversed.push('[]');
      need = ws;
    } else if (dashes && ws < need) {
      reversed.push('[]');
      need = ws;
    } else if (ws < need) {
      // A scalar line shallower than the cursor (a multi-line string's first line): no mapping to complete.
      return undefined;
    }
  }
  return { path: reversed.reverse(), ...ctx };
}

/** `key:` followed by nothing but a comment, an anchor or a block scalar indicator opens a nested block. */
function isBlockStart(rest: string): boolean {
  return /^\s*(?:#.*)?$/.test(rest) || /^\s*&\S+\s*(?:#.*)?$/.test(rest);
}

/** The sub-schemas that apply at `path` (several when the schema composes with allOf/anyOf/oneOf). */
export function schemasAt(root: Schema, path: readonly string[]): Schema[] {
  let current = expand(root, root);
  for (const segment of path) {
    const next: Schema[] = [];
    for (const s of current) {
      if (segment === '[]') {
        if (isSchema(s.items)) next.push(...expand(root, s.items));
        continue;
      }
      const props = isSchema(s.properties) ? s.properties : {};
      if (isSchema(props[segment])) next.push(...expand(root, props[segment] as Schema));
      else {
        let matched = false;
        if (isSchema(s.patternProperties)) {
          for (const [pattern, sub] of Object.entries(s.patternProperties)) {
            if (isSchema(sub) && safeTest(pattern, segment)) {
              next.push(...expand(root, sub));
              matched = true;
            }
          }
        }
        if (!matched && isSchema(s.additionalProperties)) next.push(...expand(root, s.additionalProperties));
      }
    }
    current = next;
  }
  return current;
}

/** What may be typed at this context. */
export function optionsAt(root: Schema, ctx: Context): Option[] {
  if (ctx.kind === 'key') {
    const seen = new Map<string, Option>();
    for (const s of schemasAt(root, ctx.path)) {
      const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
      for (const [name, sub] of Object.entries(isSchema(s.properties) ? s.properties : {})) {
        if (seen.has(name) || name === '$schema') continue;
        const described = isSchema(sub) ? describe(root, sub) : {};
        seen.set(name, {
          label: name,
          kind: 'property',
          detail: [described.type, required.has(name) ? 'required' : ''].filter(Boolean).join(', '),
          info: described.info,
        });
      }
    }
    return [...seen.values()];
  }
  const values = new Set<string>();
  for (const s of schemasAt(root, [...ctx.path, ctx.key!])) {
    for (const v of Array.isArray(s.enum) ? s.enum : []) if (typeof v !== 'object') values.add(String(v));
    if (s.const !== undefined && typeof s.const !== 'object') values.add(String(s.const));
    if (s.type === 'boolean') values.add('true').add('false');
  }
  return [...values].map((label) => ({ label, kind: 'enum' }));
}

function describe(root: Schema, s: Schema): { type?: string; info?: string } {
  const all = expand(root, s);
  const info = all.map((x) => x.description).find((d) => typeof d === 'string') as string | undefined;
  const types = [
    ...new Set(all.map((x) => (Array.isArray(x.enum) ? 'enum' : typeof x.type === 'string' ? x.type : isSchema(x.properties) ? 'object' : '')).filter(Boolean)),
  ];
  return { type: types.join(' | ') || undefined, info };
}

/** A schema with its $ref followed and allOf/anyOf/oneOf branches listed (bounded: a cycle stops). */
function expand(root: Schema, s: Schema, depth = 0): Schema[] {
  if (depth > 12) return [];
  const out: Schema[] = [];
  if (typeof s.$ref === 'string') {
    const target = resolve(root, s.$ref);
    if (target) out.push(...expand(root, target, depth + 1));
  }
  out.push(s);
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const branches = s[k];
    if (Array.isArray(branches)) for (const b of branches) if (isSchema(b)) out.push(...expand(root, b, depth + 1));
  }
  for (const k of ['then', 'else']) if (isSchema(s[k])) out.push(...expand(root, s[k] as Schema, depth + 1));
  return out;
}

function resolve(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let at: Json | undefined = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isSchema(at)) return undefined;
    at = at[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return isSchema(at) ? at : undefined;
}

function isSchema(v: unknown): v is Schema {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function safeTest(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(s);
  } catch {
    return false;
  }
}
