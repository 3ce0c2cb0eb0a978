/**
 * Schema validation of a connector file (schemas/connector.schema.json, draft 2020-12).
 * All errors at once, each turned into a sentence an integrator can act on and placed at
 * its YAML line. The compiled validator is built once per process.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import schema from '../../schemas/connector.schema.json';
import { suggestVariable } from '../template/variables';
import { issueAt, type PathSegment, type YamlSource } from './yaml-source';
import type { ConfigIssue } from './types';

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (!validator) {
    // verbose: errors carry the schema node they failed in, whose keys feed "did you mean".
    const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: false, verbose: true });
    addFormats(ajv);
    validator = ajv.compile(schema);
  }
  return validator;
}

export const connectorSchema = schema;

export function validateSchema(src: YamlSource, value: unknown): ConfigIssue[] {
  const validate = getValidator();
  if (validate(value)) return [];
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const err of prune(validate.errors ?? [])) {
    const path = pointerToPath(err.instancePath);
    const { message, atKey, extra } = describe(err);
    const fullPath = extra ? [...path, extra] : path;
    const key = `${fullPath.join('/')}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issueAt(src, fullPath, message, 'error', atKey));
  }
  return issues;
}

/**
 * ajv reports the failing branch of every `if/then` and `oneOf` too; keep the errors that
 * say something concrete and drop the structural noise ("must match then schema").
 */
function prune(errors: ErrorObject[]): ErrorObject[] {
  const useful = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'allOf');
  // oneOf over alternatives: if a concrete error exists at the same place, the summary adds nothing.
  return useful.filter((e) => e.keyword !== 'oneOf' || !useful.some((o) => o !== e && o.instancePath === e.instancePath && o.keyword !== 'oneOf'));
}

function describe(err: ErrorObject): { message: string; atKey?: boolean; extra?: string } {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return { message: `missing required property "${p.missingProperty}"` };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = String(p.additionalProperty ?? p.unevaluatedProperty);
      const hint = suggestVariable(name, knownKeys(err.parentSchema));
      return { message: `unknown property "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}`, atKey: true, extra: name };
    }
    case 'enum':
      return { message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'type':
      return { message: `must be ${p.type}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { message: `must be ${p.comparison} ${p.limit}` };
    case 'pattern':
      // URL fields also accept an ${env:…} reference (the schema checks the file as written),
      // but by now references are resolved: what is left to say is what a URL must look like.
      if (String(p.pattern).startsWith('^(https?://')) return { message: 'must be an http:// or https:// URL' };
      return { message: `does not match the expected form ${p.pattern}` };
    case 'oneOf':
      return { message: 'is none of the accepted forms (a status code like 400, a class like "5xx", or a range like "500-504")' };
    default:
      return { message: err.message ?? `fails ${err.keyword}` };
  }
}

type SchemaNode = { [k: string]: unknown } | undefined;
const MAX_SCHEMA_DEPTH = 8;

/**
 * The property names a schema node accepts: its own `properties` and those it brings in
 * through `$ref` (local `#/$defs/…`), `allOf`/`anyOf`/`oneOf` and `then`/`else` (the
 * endpoint's `unevaluatedProperties` sees them all). Depth-bounded: the schema is ours, but
 * a `$ref` cycle must not hang `validate`.
 */
export function knownKeys(node: unknown, depth = 0): Set<string> {
  const keys = new Set<string>();
  const n = node as SchemaNode;
  if (!n || typeof n !== 'object' || depth > MAX_SCHEMA_DEPTH) return keys;
  const add = (sub: unknown) => {
    for (const k of knownKeys(sub, depth + 1)) keys.add(k);
  };
  if (n.properties && typeof n.properties === 'object') for (const k of Object.keys(n.properties)) keys.add(k);
  if (typeof n.$ref === 'string' && n.$ref.startsWith('#/$defs/')) add((schema.$defs as Record<string, unknown>)[n.$ref.slice('#/$defs/'.length)]);
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(n[combinator])) for (const sub of n[combinator] as unknown[]) add(sub);
  add(n.then);
  add(n.else);
  return keys;
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
