/**
 * Reads openapi.yaml and validates real responses against it with ajv (JSON Schema 2020-12,
 * the dialect of OpenAPI 3.1). The whole document is registered with ajv under OPENAPI_ID,
 * so `#/components/...` refs resolve inside it and relative refs such as
 * './schemas/operation-request.schema.json' resolve to the schema files registered by $id.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const ROOT = path.resolve(__dirname, '../..');
export const OPENAPI_FILE = path.join(ROOT, 'openapi.yaml');
/** Base URI of openapi.yaml: its relative refs to ./schemas/... then match the schema files' $id. */
export const OPENAPI_ID = 'https://crm-gateway.dev/openapi.yaml';
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface OpenApiDoc extends JsonObject {
  paths: { [path: string]: JsonObject };
  components: JsonObject;
}

export function loadOpenApi(file = OPENAPI_FILE): OpenApiDoc {
  return YAML.parse(fs.readFileSync(file, 'utf8')) as OpenApiDoc;
}

/** Every `$ref` in the document that points at a file, as paths relative to the document. */
export function fileRefs(doc: Json): string[] {
  const out = new Set<string>();
  walk(doc, (node) => {
    const ref = node.$ref;
    if (typeof ref === 'string' && !ref.startsWith('#')) out.add(ref.split('#')[0]);
  });
  return [...out];
}

/** Every `$ref` in the document that points inside it. */
export function localRefs(doc: Json): string[] {
  const out = new Set<string>();
  walk(doc, (node) => {
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#')) out.add(node.$ref);
  });
  return [...out];
}

export function walk(node: Json, visit: (obj: JsonObject) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node);
    Object.values(node).forEach((n) => walk(n, visit));
  }
}

export function escapePointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** "#/a/b" → the value, or undefined. */
export function resolvePointer(doc: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#')) return undefined;
  let cur: Json | undefined = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const seg = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!cur || typeof cur !== 'object' || Array.isArray(cur) || !(seg in cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

export function pointerFragment(segments: string[]): string {
  return `#/${segments.map((s) => encodeURIComponent(escapePointerSegment(s))).join('/')}`;
}

/** Ajv with the openapi document and every schema file it refers to. */
export function createOpenApiAjv(doc: OpenApiDoc): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    // `oneOf: [{required: [status]}, {required: [network_error]}]` names properties defined beside it.
    strictRequired: false,
    // allOf branches that narrow `code`/`status` of Problem do not repeat `type: object`.
    strictTypes: false,
  });
  addFormats(ajv);
  // OpenAPI's own format for file parts; only request bodies use it.
  ajv.addFormat('binary', true);
  for (const ref of fileRefs(doc)) {
    const schema = JSON.parse(fs.readFileSync(path.resolve(path.dirname(OPENAPI_FILE), ref), 'utf8')) as JsonObject;
    const expectedId = new URL(ref, OPENAPI_ID).href;
    if (schema.$id !== expectedId) {
      throw new Error(`${ref} has $id ${String(schema.$id)}; openapi.yaml refers to it as ${expectedId}`);
    }
    if (!ajv.getSchema(expectedId)) ajv.addSchema(schema);
  }
  // ajv compiles the document root when a ref points into it: its OpenAPI members
  // (openapi, info, paths, components, …) are annotations, not JSON Schema keywords.
  for (const key of Object.keys(doc)) if (!ajv.RULES.all[key]) ajv.addKeyword(key);
  ajv.addSchema({ ...doc, $id: OPENAPI_ID });
  return ajv;
}

/** Validator of a schema file openapi.yaml refers to ('./schemas/x.json', optionally '#/$defs/Y'). */
export function fileSchema(ajv: Ajv2020, ref: string): ValidateFunction {
  const id = new URL(ref, OPENAPI_ID).href;
  const v = ajv.getSchema(id);
  if (!v) throw new Error(`${ref} (${id}) is not registered: is it referenced from openapi.yaml?`);
  return v;
}

/** The schema file openapi.yaml refers to, as JSON (to compare its enums with the code's). */
export function readSchemaFile(ref: string): JsonObject {
  return JSON.parse(fs.readFileSync(path.resolve(path.dirname(OPENAPI_FILE), ref), 'utf8')) as JsonObject;
}

export interface DocumentedResponse {
  /** Where the response object lives, as pointer segments (after following a $ref). */
  at: string[];
  response: JsonObject;
}

/** The response documented for exactly this status (no `default` fallback unless asked). */
export function documentedResponse(
  doc: OpenApiDoc,
  apiPath: string,
  method: string,
  status: number,
  opts: { allowDefault?: boolean } = {},
): DocumentedResponse | undefined {
  const op = doc.paths[apiPath]?.[method.toLowerCase()];
  if (!op || typeof op !== 'object' || Array.isArray(op)) return undefined;
  const responses = op.responses as JsonObject | undefined;
  if (!responses) return undefined;
  let key: string | undefined = String(status) in responses ? String(status) : undefined;
  if (!key && opts.allowDefault && 'default' in responses) key = 'default';
  if (!key) return undefined;
  let at = ['paths', apiPath, method.toLowerCase(), 'responses', key];
  let response = responses[key] as JsonObject;
  for (let hops = 0; typeof response.$ref === 'string'; hops++) {
    if (hops > 5 || !response.$ref.startsWith('#/')) throw new Error(`unsupported response $ref ${response.$ref}`);
    at = response.$ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const next = resolvePointer(doc, response.$ref);
    if (!next || typeof next !== 'object' || Array.isArray(next)) throw new Error(`dangling $ref ${response.$ref}`);
    response = next;
  }
  return { at, response };
}

export class ResponseValidator {
  private cache = new Map<string, ValidateFunction>();
  constructor(
    readonly doc: OpenApiDoc,
    readonly ajv: Ajv2020,
  ) {}

  /** Validator of the schema at pointer `segments` inside openapi.yaml. */
  schemaAt(segments: string[]): ValidateFunction {
    const ref = OPENAPI_ID + pointerFragment(segments);
    let v = this.cache.get(ref);
    if (!v) {
      v = this.ajv.compile({ $ref: ref });
      this.cache.set(ref, v);
    }
    return v;
  }

  /** Errors (empty = valid) of `body` against the documented schema for this response. */
  validate(documented: DocumentedResponse, contentType: string, body: unknown): { errors: ErrorObject[]; documented: boolean } {
    const content = documented.response.content as JsonObject | undefined;
    if (!content || !(contentType in content)) return { errors: [], documented: false };
    const v = this.schemaAt([...documented.at, 'content', contentType, 'schema']);
    return { errors: v(body) ? [] : [...(v.errors ?? [])], documented: true };
  }
}

export function formatAjvErrors(errors: ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)} [${e.schemaPath}]`).join('\n');
}

/** Express path "/a/:id" → OpenAPI path "/a/{id}". */
export function expressToOpenApiPath(p: string): string {
  return p.replace(/:(\w+)/g, '{$1}');
}
