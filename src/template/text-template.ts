/**
 * Handlebars templates for long text sent to a CRM (comment bodies, ticket descriptions).
 *
 * One isolated Handlebars instance (never the global one, which other code may configure) with
 * one extra helper: {{default X "fallback"}}. Templates are compiled once with:
 * - strict: false        → a missing variable renders as "" (calls often lack optional data);
 * - knownHelpersOnly     → only if/unless/each/with/lookup/log/default can be called, and an
 *                          unknown helper is a load-time error rather than a silent blank;
 * - noEscape: true       → the template is plain text, values are inserted verbatim;
 * - prototype access stays disabled (handlebars default): {{constructor}} renders "".
 *
 * HTML mode ("convert text to HTML") renders the same plain text and then runs textToHtml over
 * the WHOLE result. Decision: the template is text, not markup, so everything is escaped once,
 * after rendering. That is strictly safer than escaping only {{values}}: {{{triple}}}, helper
 * output and literal "<" in the template can never become markup, newlines inside values
 * (multi-line notes) become <br> just like the template's own, and there is no double escaping.
 * Newlines become <br> (not <p>): it preserves blank lines and needs no paragraph heuristics.
 */
import Handlebars from 'handlebars';
import { KNOWN_HELPERS, parseTextTemplate, templateError } from './text-template-ast';

export { templateVariables } from './text-template-ast';

export type TextTemplate = (vars: Record<string, unknown>, opts: { html: boolean }) => string;

const hb = Handlebars.create();

hb.registerHelper('default', function defaultHelper(...args: unknown[]): unknown {
  // Handlebars passes its options object last; {{default X}} without a fallback yields "".
  const [value, fallback] = args.slice(0, -1);
  const blank = value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  return blank ? (fallback ?? '') : value;
});

const COMPILE_OPTIONS: CompileOptions = {
  strict: false,
  noEscape: true,
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries(KNOWN_HELPERS.map((name) => [name, true])),
};

/** Compiles once; throws `Invalid text template: <handlebars message>` on any template error. */
export function compileTextTemplate(source: string): TextTemplate {
  const { ast } = parseTextTemplate(source);
  try {
    // hb.compile is lazy; precompile runs the full compiler now so unknown helpers and bad
    // paths fail when the config is loaded, not on the first call.
    hb.precompile(ast, COMPILE_OPTIONS);
  } catch (e) {
    throw templateError(e instanceof Error ? e.message : String(e));
  }
  const render = hb.compile(ast, COMPILE_OPTIONS);
  return (vars, opts) => {
    const text = render(vars ?? {});
    return opts?.html ? textToHtml(text) : text;
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Plain text → HTML: escapes & < > " ' and turns each newline (LF, CRLF or CR) into <br>. */
export function textToHtml(text: string): string {
  return String(text)
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)
    .replace(/\r\n|\r|\n/g, '<br>');
}
