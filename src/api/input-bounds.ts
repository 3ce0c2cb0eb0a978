/**
 * Bounds and text checks at the API's edge, before any per-character or per-name work: one
 * hostile request must not hold the event loop, and text the gateway cannot store, render or
 * send is refused here (422 naming the field) rather than half-accepted further in.
 */
import { GatewayError } from '../errors';

// Node 20 has both (ES2024); the TypeScript lib this project targets does not declare them yet.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/** Deepest JSON nesting a body may have (events and operation bodies are a few levels deep). */
export const MAX_DEPTH = 32;
/** Variables in one operation call, and the longest name (known names are short). */
export const MAX_VARIABLES = 200;
export const MAX_VARIABLE_NAME_LENGTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Longest object key a JSON body may have (JSON.parse hashes every key: megabyte keys are slow). */
export const MAX_KEY_LENGTH = 1024;

export type ShapeProblem = 'depth' | 'key';

/**
 * What makes raw JSON text too costly to parse, found in one pass before JSON.parse: nesting
 * deeper than MAX_DEPTH (JSON.parse's time grows faster than the depth: a 10 MB body of "["
 * holds it for seconds), or a key longer than MAX_KEY_LENGTH. Strings are skipped with
 * indexOf, so a large base64 value costs a native scan. Works on a Buffer of UTF-8 as on a
 * string (lengths then count bytes): multi-byte sequences never contain these ASCII bytes.
 */
export function jsonShapeProblem(text: string | Buffer): ShapeProblem | undefined {
  return typeof text === 'string' ? stringShape(text) : bufferShape(text);
}

/** Depth only (for callers that count nothing else). */
export function nestingExceeds(text: string | Buffer): boolean {
  return jsonShapeProblem(text) === 'depth';
}

const WS = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function stringShape(text: string): ShapeProblem | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote: the next one not escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return undefined;
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      if (j - i - 1 > MAX_KEY_LENGTH) {
        let n = j + 1;
        while (WS(text.charCodeAt(n))) n++;
        if (text.charCodeAt(n) === 0x3a) return 'key';
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return 'depth';
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return undefined;
}

function bufferShape(buf: Buffer): ShapeProblem | undefined {
  let depth = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      let j = i;
      for (;;) {
        j = buf.indexOf(QUOTE, j + 1);
        if (j < 0) return undefined;
        let k = j - 1;
        while (k >= 0 && buf[k] === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      if (j - i - 1 > MAX_KEY_LENGTH) {
        let n = j + 1;
        while (n < buf.length && WS(buf[n])) n++;
        if (buf[n] === 0x3a) return 'key';
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return 'depth';
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return undefined;
}

/** Throws the 422 for a body jsonShapeProblem refuses. */
export function checkJsonShape(text: string | Buffer): void {
  const p = jsonShapeProblem(text);
  if (p === 'depth') throw tooDeep();
  if (p === 'key')
    throw new GatewayError('validation_failed', `the body has a key longer than ${MAX_KEY_LENGTH} characters`, {
      errors: [{ field: '(body)', message: `a key longer than ${MAX_KEY_LENGTH} characters` }],
    });
}

export function tooDeep(): GatewayError {
  return new GatewayError('validation_failed', `the body is nested deeper than ${MAX_DEPTH} levels`, {
    errors: [{ field: '(body)', message: `nested deeper than ${MAX_DEPTH} levels` }],
  });
}

/** `{variables}` of an operation: at most MAX_VARIABLES names of at most MAX_VARIABLE_NAME_LENGTH characters. */
export function checkVariableNames(variables: unknown): void {
  if (!variables || typeof variables !== 'object' || Array.isArray(variables)) return;
  const names = Object.keys(variables);
  if (names.length > MAX_VARIABLES) {
    throw new GatewayError('validation_failed', `variables: at most ${MAX_VARIABLES} names, got ${names.length}`, {
      errors: [{ field: 'variables', message: `more than ${MAX_VARIABLES} names` }],
    });
  }
  const long = names.filter((n) => n.length > MAX_VARIABLE_NAME_LENGTH);
  if (long.length) {
    const shown = long.slice(0, 5).map((n) => `variables.${n.slice(0, 40)}…`);
    throw new GatewayError(
      'validation_failed',
      `variable names are at most ${MAX_VARIABLE_NAME_LENGTH} characters: ${shown.join(', ')}${long.length > 5 ? ` and ${long.length - 5} more` : ''}`,
      {
        errors: shown.map((field) => ({ field, message: `longer than ${MAX_VARIABLE_NAME_LENGTH} characters` })),
      },
    );
  }
}

/**
 * Every string (keys too) under `value` is well-formed Unicode: a lone surrogate ("\ud800") can
 * be parsed from JSON but not percent-encoded, stored as UTF-8 or sent. The first one found is
 * named by its path (e.g. `data.end_user.name`). Iterative, and bounded by MAX_DEPTH.
 */
export function checkWellFormed(value: unknown, root: string): void {
  const stack: Array<[unknown, string, number]> = [[value, root, 0]];
  while (stack.length) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) throw notWellFormed(path);
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) throw tooDeep();
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) stack.push([v[i], `${path}[${i}]`, depth + 1]);
      } else {
        for (const [k, child] of Object.entries(v)) {
          const p = path ? `${path}.${k}` : k;
          if (!k.isWellFormed()) throw notWellFormed(p.toWellFormed());
          stack.push([child, p, depth + 1]);
        }
      }
    }
  }
}

function notWellFormed(path: string): GatewayError {
  const field = path.length > 200 ? `${path.slice(0, 200)}…` : path || '(body)';
  return new GatewayError('validation_failed', `${field}: text must be valid Unicode (a lone surrogate such as \\ud800 is not)`, {
    errors: [{ field, message: 'not valid Unicode' }],
  });
}
