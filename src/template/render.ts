/**
 * Pure rendering of compiled templates against a set of variables. No I/O: the same code
 * builds real requests and dry-run previews.
 *
 * Rules:
 *   - a value that is exactly one variable keeps the variable's JSON type;
 *   - text whose variables are missing or empty is dropped rather than sent half-filled
 *     (`"phone:{PHONE_NUMBER}"` never becomes `"phone:"`); the dropped names are reported;
 *   - function results are strings, and an empty result removes the parameter;
 *   - empty values are never sent; a map or list that became empty because everything in it
 *     was dropped is dropped too (one written empty in the YAML stays).
 */
import { GatewayError } from '../errors';
import type { TemplateNode, TextPart } from './compile';
import { castValue, type Cast } from './casts';
import { FUNCTION_IMPLS } from './functions';
import { isEmptyValue, type Variables } from './variables';

export const DROP: unique symbol = Symbol('drop');
export type Rendered = unknown | typeof DROP;

export interface RenderScope {
  vars: Variables;
  /** "convert text to HTML": handlebars templates escape user values and keep line breaks. */
  html: boolean;
  /** Names of variables that were needed but missing; filled while rendering. */
  missing: Set<string>;
  /** Escapes values substituted into text (query languages: SOQL, Zoho criteria). */
  escape?: (value: string) => string;
  /** Renders a handlebars template; injected so this module stays free of handlebars. */
  renderLongText?: (source: string, vars: Variables, html: boolean) => string;
}

export function renderNode(node: TemplateNode, scope: RenderScope): Rendered {
  switch (node.k) {
    case 'lit':
      return isEmptyValue(node.value) ? DROP : node.value;
    case 'var': {
      const v = scope.vars[node.name];
      if (isEmptyValue(v)) {
        scope.missing.add(node.name);
        return DROP;
      }
      return node.cast ? cast(node.name, v, node.cast) : v;
    }
    case 'text': {
      const s = renderText(node.parts, scope);
      return s === undefined || s === '' ? DROP : s;
    }
    case 'hbs': {
      if (!scope.renderLongText) throw new Error('no long-text renderer configured');
      const s = scope.renderLongText(node.source, scope.vars, scope.html);
      return s.trim() === '' ? DROP : s;
    }
    case 'fn': {
      const s = FUNCTION_IMPLS[node.name](node.args.map((a) => renderArg(a, scope)));
      return s === '' ? DROP : s;
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      let kept = 0;
      for (const [key, child] of node.entries) {
        const v = renderNode(child, scope);
        if (v === DROP) continue;
        if (key === SPREAD_KEY) {
          for (const [k, x] of Object.entries(spread(v))) if (k !== '__proto__') out[k] = x;
          kept++;
          continue;
        }
        out[key] = v;
        kept++;
      }
      return kept === 0 && node.entries.length > 0 ? DROP : out;
    }
    case 'list': {
      const out = node.items.map((i) => renderNode(i, scope)).filter((v) => v !== DROP);
      return out.length === 0 && node.items.length > 0 ? DROP : out;
    }
  }
}

/**
 * `"<<": "{MAPPED_FIELDS:json}"` in a map: the rendered map's entries are merged in at that place
 * (flat-property CRMs take mapped fields beside the properties written in the YAML). Absent:
 * nothing is merged.
 */
export const SPREAD_KEY = '<<';

function spread(v: unknown): Record<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new GatewayError('invalid_variable_value', `a "${SPREAD_KEY}" entry merges a map into its map; it rendered ${Array.isArray(v) ? 'a list' : typeof v}`, {
    errors: [{ field: SPREAD_KEY, message: 'not a map' }],
  });
}

/** A function argument renders to a string, or undefined when it counts as empty. */
function renderArg(node: TemplateNode, scope: RenderScope): string | undefined {
  const v = renderNode(node, scope);
  if (v === DROP) return undefined;
  return stringify(v);
}

/** Text with placeholders; undefined when any placeholder's variable is missing or empty. */
export function renderText(parts: readonly TextPart[], scope: RenderScope, encode?: (s: string) => string): string | undefined {
  let out = '';
  let complete = true;
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v = scope.vars[p.v];
    if (isEmptyValue(v)) {
      scope.missing.add(p.v);
      complete = false;
      continue;
    }
    const e = encode ?? scope.escape;
    const value = p.cast ? cast(p.v, v, p.cast) : v;
    out += e ? e(stringify(value)) : stringify(value);
  }
  return complete ? out : undefined;
}

/** A `{NAME:cast}` value; one that cannot be cast is the caller's bad input, named. */
function cast(name: string, value: unknown, to: Cast): unknown {
  const r = castValue(value, to);
  if (r.ok) return r.value;
  throw new GatewayError('invalid_variable_value', `${name}: ${r.reason}, but the connector sends it as {${name}:${to}}`, {
    variable: name,
    field: `variables.${name}`,
    errors: [{ field: `variables.${name}`, message: `cannot be cast to ${to}: ${r.reason}` }],
  });
}

/** URL templates: every variable is required and percent-encoded. */
export function renderUrl(parts: readonly TextPart[], vars: Variables, where: string): string {
  const scope: RenderScope = { vars, html: false, missing: new Set() };
  const url = renderText(parts, scope, encodeURIComponent);
  if (url === undefined) {
    const names = [...scope.missing];
    throw new GatewayError(
      'missing_variable',
      `${where} needs ${names.map((n) => `{${n}}`).join(', ')}, which ${names.length > 1 ? 'were' : 'was'} not provided`,
      { variables: names },
    );
  }
  refuseDotSegments(url, parts, vars, where);
  return url;
}

/**
 * A variable that makes a whole path segment "." or ".." would move the request up the path
 * (/api/cases/{ACCOUNT_ID}/notes with ".." is POST /api/notes). Percent-encoding cannot help:
 * URL parsers treat %2E%2E as ".." too. Such a value is refused (422), naming the variable.
 */
function refuseDotSegments(url: string, parts: readonly TextPart[], vars: Variables, where: string): void {
  const path = url.split(/[?#]/)[0];
  if (!/\/(?:\.|%2e){1,2}(?:\/|$)/i.test(path)) return;
  const names = parts.filter((p): p is { v: string } => typeof p !== 'string' && /^\.+$/.test(stringify(vars[p.v]))).map((p) => p.v);
  if (names.length === 0) return; // the template's own text: the connector's author wrote it
  throw new GatewayError(
    'invalid_variable_value',
    `${where}: ${names.map((n) => `{${n}}`).join(', ')} would make a "." or ".." path segment, which moves the request to another URL; refusing to send it`,
    { variables: names, field: names[0] },
  );
}

/** Value escapers for `settings.escape_values`. */
export const ESCAPERS: Record<'soql' | 'zoho_criteria' | 'json', (s: string) => string> = {
  // Salesforce string literals: backslash and single quote are escaped with a backslash.
  soql: (s) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
  // Zoho criteria: ( ) , and backslash are escaped with a backslash.
  zoho_criteria: (s) => s.replace(/[\\(),]/g, (c) => `\\${c}`),
  // A value inside a JSON string in a text parameter (e.g. a search body sent as text): quotes,
  // backslashes and control characters escaped as JSON does, without the surrounding quotes.
  json: (s) => JSON.stringify(s).slice(1, -1),
};

export function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}
