/**
 * Parsing and static analysis of long-text templates, so the config loader can report syntax
 * errors and unknown variables when the config is loaded instead of when a call arrives.
 */
import Handlebars from 'handlebars';

type Program = hbs.AST.Program;
type Expression = hbs.AST.Expression;
type Hash = hbs.AST.Hash;

/** Helpers a template may call: handlebars built-ins plus ours (see template.ts). */
export const KNOWN_HELPERS = ['if', 'unless', 'each', 'with', 'lookup', 'log', 'default'] as const;
const HELPERS: ReadonlySet<string> = new Set(KNOWN_HELPERS);
/** Block helpers that render their body in the SAME context; every other block may change it. */
const SAME_CONTEXT_BLOCKS: ReadonlySet<string> = new Set(['if', 'unless']);
/** Partials/decorators would need registration and can run code; long text does not need them. */
const UNSUPPORTED: Record<string, string> = {
  PartialStatement: 'partials are not supported',
  PartialBlockStatement: 'partials are not supported',
  DecoratorBlock: 'decorators are not supported',
  Decorator: 'decorators are not supported',
};

export function templateError(detail: string): Error {
  return new Error(`Invalid text template: ${detail}`);
}

/** Parses and checks a template; errors carry the handlebars message (with its line number). */
export function parseTextTemplate(source: string): { ast: Program; variables: string[] } {
  if (typeof source !== 'string') throw templateError(`template must be a string, got ${typeof source}`);
  let ast: Program;
  try {
    ast = Handlebars.parse(source);
  } catch (e) {
    throw templateError(e instanceof Error ? e.message : String(e));
  }
  const found = new Set<string>(); // a Set keeps first-seen order
  walkProgram(ast, { depth: 0, blockParams: [] }, found);
  return { ast, variables: [...found] };
}

/** Top-level variable names a template reads, in order of first use (e.g. ["NAME", "EMAIL"]). */
export function templateVariables(source: string): string[] {
  return parseTextTemplate(source).variables;
}

/** depth = how many context changes (#each, #with, sections) enclose the node. */
type Scope = { depth: number; blockParams: string[] };

function walkProgram(program: Program | undefined, scope: Scope, found: Set<string>): void {
  for (const node of program?.body ?? []) {
    const problem = UNSUPPORTED[node.type];
    if (problem) throw templateError(`${problem} (line ${node.loc?.start.line ?? '?'})`);
    if (node.type === 'MustacheStatement') {
      const m = node as hbs.AST.MustacheStatement;
      walkCall(m.path, m.params, m.hash, 'mustache', scope, found);
    } else if (node.type === 'BlockStatement') {
      const b = node as hbs.AST.BlockStatement;
      const helper = walkCall(b.path, b.params, b.hash, 'block', scope, found);
      const keeps = helper !== undefined && SAME_CONTEXT_BLOCKS.has(helper);
      const inner = {
        depth: keeps ? scope.depth : scope.depth + 1,
        blockParams: [...scope.blockParams, ...(b.program?.blockParams ?? [])],
      };
      walkProgram(b.program, inner, found);
      walkProgram(b.inverse, scope, found); // {{else}} renders in the outer context
    }
    // Content and comments reference nothing.
  }
}

/** Records variables of a call/mustache; returns the helper name if the path is a helper. */
function walkCall(
  path: Expression,
  params: Expression[],
  hash: Hash | undefined,
  kind: 'mustache' | 'block' | 'sub',
  scope: Scope,
  found: Set<string>,
): string | undefined {
  const args = [...params, ...(hash?.pairs ?? []).map((p) => p.value)];
  for (const arg of args) walkExpression(arg, scope, found);
  if (path.type !== 'PathExpression') return undefined;
  const name = (path as hbs.AST.PathExpression).original;
  // "(x)" and anything with arguments can only be a helper; a bare name is a helper only if
  // known, otherwise a variable ({{NAME}}, or {{#SECTION}} used as a section).
  if (kind === 'sub' || args.length > 0 || HELPERS.has(name)) return name;
  addPath(path as hbs.AST.PathExpression, scope, found);
  return undefined;
}

function walkExpression(expr: Expression, scope: Scope, found: Set<string>): void {
  if (expr.type === 'PathExpression') addPath(expr as hbs.AST.PathExpression, scope, found);
  else if (expr.type === 'SubExpression') {
    const sub = expr as hbs.AST.SubExpression;
    walkCall(sub.path, sub.params, sub.hash, 'sub', scope, found);
  }
  // Literals reference nothing.
}

function addPath(path: hbs.AST.PathExpression, scope: Scope, found: Set<string>): void {
  const [head, second] = path.parts;
  if (path.data) {
    if (head === 'root' && second !== undefined) found.add(second); // @root.X; @index etc. are not variables
    return;
  }
  if (head === undefined) return; // {{this}}
  if (path.depth === 0 && scope.blockParams.includes(head)) return; // |item| block parameter
  // Inside n context changes, only paths climbing n levels (../) reach the top-level variables.
  if (path.depth >= scope.depth) found.add(head);
}
