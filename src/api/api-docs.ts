/**
 * The API's description, served by the gateway itself: GET /openapi.yaml (the file as shipped)
 * and GET /docs, a page rendered here, on the server, from that same file. The page is one
 * self-contained HTML document (inline style, no script, no font or stylesheet from anywhere):
 * it works on a machine without internet access, and its Content-Security-Policy forbids any
 * request the browser might otherwise make. Every text from openapi.yaml is HTML-escaped.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { packageRoot } from '../util/package-root';

type Obj = Record<string, unknown>;

export interface ApiDocs {
  yaml: string;
  html: string;
}

let cached: ApiDocs | undefined;

/** openapi.yaml and its page, read and rendered once per process (the file ships with the package). */
export function apiDocs(): ApiDocs {
  if (!cached) {
    const yaml = fs.readFileSync(path.join(packageRoot(), 'openapi.yaml'), 'utf8');
    cached = { yaml, html: renderDocsPage(YAML.parse(yaml) as Obj) };
  }
  return cached;
}

/** Headers of the docs page: nothing but its own inline style may load. */
export const DOCS_PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
} as const;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const anchor = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '-');

/** A `$ref` inside the document, followed (bounded: the document is ours, but a cycle must not hang). */
function deref(doc: Obj, v: unknown): Obj {
  let o = obj(v);
  for (let i = 0; i < 10 && typeof o.$ref === 'string' && o.$ref.startsWith('#/'); i++) {
    o = obj(
      o.$ref
        .slice(2)
        .split('/')
        .reduce<unknown>((at, key) => obj(at)[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc),
    );
  }
  return o;
}

/** A schema in a few words: a link to a named schema, a type, an enum, or a composition. */
function typeOf(schema: unknown): string {
  const s = obj(schema);
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').at(-1)!;
    return s.$ref.startsWith('#/components/schemas/') ? `<a href="#schema-${anchor(name)}">${escapeHtml(name)}</a>` : escapeHtml(s.$ref);
  }
  if (Array.isArray(s.enum)) return s.enum.map((e) => `<code>${escapeHtml(JSON.stringify(e))}</code>`).join(' | ');
  if (s.const !== undefined) return `<code>${escapeHtml(JSON.stringify(s.const))}</code>`;
  for (const k of ['oneOf', 'anyOf']) if (Array.isArray(s[k])) return (s[k] as unknown[]).map(typeOf).join(' | ');
  if (Array.isArray(s.allOf)) {
    // allOf narrows a named schema with inline constraints (a status, a code): the name says it.
    const parts = (s.allOf as unknown[]).map(typeOf);
    const named = parts.filter((t) => t !== 'any' && t !== 'object');
    return (named.length ? named : parts).join(' &amp; ');
  }
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  return type ? escapeHtml(type) : s.properties ? 'object' : 'any';
}

/** Escaped text with the spec's `code` spans and **bold** shown as such (after escaping: no markup gets in). */
function inline(v: unknown): string {
  return escapeHtml(v)
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*\n]+)\*\*/g, '<b>$1</b>');
}

function text(v: unknown): string {
  return v === undefined || v === '' ? '' : `<div class="text">${inline(v)}</div>`;
}

function renderOperation(doc: Obj, p: string, method: string, op: Obj): string {
  const params = list(op.parameters).map((x) => deref(doc, x));
  const rows = params
    .map(
      (x) =>
        `<tr><td><code>${escapeHtml(x.name)}</code></td><td>${escapeHtml(x.in)}${x.required ? ', required' : ''}</td><td>${typeOf(x.schema)}</td><td>${inline(x.description)}</td></tr>`,
    )
    .join('');
  const body = obj(deref(doc, op.requestBody).content);
  const bodyRows = Object.entries(body)
    .map(([type, c]) => `<tr><td><code>${escapeHtml(type)}</code></td><td>${typeOf(obj(c).schema)}</td></tr>`)
    .join('');
  const responses = Object.entries(obj(op.responses))
    .map(([status, r]) => {
      const res = deref(doc, r);
      const types = Object.entries(obj(res.content))
        .map(([type, c]) => `<code>${escapeHtml(type)}</code> ${typeOf(obj(c).schema)}`)
        .join('<br>');
      return `<tr><td><b>${escapeHtml(status)}</b></td><td>${inline(res.description)}</td><td>${types}</td></tr>`;
    })
    .join('');
  return `<section class="op" id="op-${anchor(`${method}-${p}`)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(p)}</code></h3>
<p class="summary">${inline(op.summary)}</p>${text(op.description)}
${rows ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>${rows}</table>` : ''}
${bodyRows ? `<h4>Request body</h4><table><tr><th>content type</th><th>schema</th></tr>${bodyRows}</table>` : ''}
<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>content</th></tr>${responses}</table>
</section>`;
}

function renderSchema(name: string, schema: Obj): string {
  const required = new Set(list(schema.required).map(String));
  const props = Object.entries(obj(schema.properties))
    .map(([k, v]) => `<tr><td><code>${escapeHtml(k)}</code>${required.has(k) ? ' *' : ''}</td><td>${typeOf(v)}</td><td>${inline(obj(v).description)}</td></tr>`)
    .join('');
  return `<section class="schema" id="schema-${anchor(name)}">
<h3>${escapeHtml(name)}</h3>${text(schema.description)}
${props ? `<table><tr><th>property (* required)</th><th>type</th><th>description</th></tr>${props}</table>` : `<p>${typeOf(schema)}</p>`}
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace;background:#f2f2f4;padding:0 .2em;border-radius:3px}
.text{white-space:pre-wrap;margin:.3rem 0 .6rem}table{border-collapse:collapse;margin:.3rem 0 1rem;width:100%}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f7f7f9}
.method{display:inline-block;min-width:4rem;text-align:center;color:#fff;border-radius:3px;font-size:13px;padding:.1rem .4rem}
.get{background:#1f6feb}.post{background:#2da44e}.put,.patch{background:#bf8700}.delete{background:#cf222e}
.op,.schema{border-top:1px solid #ddd;padding-top:.5rem}.summary{font-weight:600}nav li{list-style:none}`;

/** The whole page: the description, an index, every operation, every schema. */
export function renderDocsPage(doc: Obj): string {
  const info = obj(doc.info);
  const ops: Array<[string, string, Obj]> = [];
  for (const [p, item] of Object.entries(obj(doc.paths))) for (const m of METHODS) if (obj(item)[m]) ops.push([p, m, obj(obj(item)[m])]);
  const schemas = Object.entries(obj(obj(doc.components).schemas));
  const index = ops
    .map(
      ([p, m, op]) =>
        `<li><a href="#op-${anchor(`${m}-${p}`)}"><span class="method ${m}">${m.toUpperCase()}</span> <code>${escapeHtml(p)}</code></a> ${escapeHtml(op.summary)}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} ${escapeHtml(info.version)} API</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1>
<p>The machine-readable contract: <a href="openapi.yaml">openapi.yaml</a>.</p>${text(info.description)}
<h2>Operations</h2><nav><ul>${index}</ul></nav>
${ops.map(([p, m, op]) => renderOperation(doc, p, m, op)).join('\n')}
<h2>Schemas</h2>
${schemas.map(([name, s]) => renderSchema(name, obj(s))).join('\n')}
</body></html>
`;
}
