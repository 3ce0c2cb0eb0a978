/**
 * Long text (comment bodies, descriptions) written with handlebars: compiled once per
 * distinct source and cached, so rendering a request never parses a template again.
 */
import { compileTextTemplate, templateVariables, type TextTemplate } from './text-template';
import type { Variables } from './variables';

const cache = new Map<string, TextTemplate>();

function compiled(source: string): TextTemplate {
  let t = cache.get(source);
  if (!t) {
    t = compileTextTemplate(source);
    cache.set(source, t);
  }
  return t;
}

export function renderLongText(source: string, vars: Variables, html: boolean): string {
  return compiled(source)(vars as Record<string, unknown>, { html });
}

/** The handlebars error message, or undefined when the template compiles. */
export function checkTextTemplate(source: string): string | undefined {
  try {
    compiled(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export { templateVariables };
