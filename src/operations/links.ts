/**
 * Screen-pop lookup URLs, rendered on demand: URLs that carry the caller's number,
 * UID or email are never stored, so they are produced per request from what the caller
 * sends. In the query string only non-empty parameters are kept; a path that needs a
 * missing variable yields no URL at all rather than a broken one.
 */
import type { Connector } from '../config/types';
import { formatPhone, type CountryCode } from '../phone';
import { renderText, type RenderScope } from '../template/render';
import type { TextPart } from '../template/compile';
import { LOOKUP_VARIABLE_SET, PHONE_VARIABLES, isEmptyValue } from '../template/variables';
import { GatewayError } from '../errors';

export function renderLinks(c: Connector, input: Record<string, unknown>): Record<string, string | null> {
  const unknown = Object.keys(input).filter((k) => !LOOKUP_VARIABLE_SET.has(k));
  if (unknown.length) {
    throw new GatewayError(
      'validation_failed',
      `unknown lookup variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${[...LOOKUP_VARIABLE_SET].join(', ')}`,
      {
        errors: unknown.map((u) => ({ field: u, message: 'unknown lookup variable' })),
      },
    );
  }
  const vars: Record<string, unknown> = { ...input };
  for (const name of Object.keys(vars)) {
    if (!PHONE_VARIABLES.has(name) || isEmptyValue(vars[name])) continue;
    const r = formatPhone(String(vars[name]), c.phone.format, 'write', c.phone.defaultRegion as CountryCode | undefined);
    if (!r.ok) throw new GatewayError('invalid_phone_number', `${name}: ${r.reason}`, { variable: name, field: name });
    vars[name] = r.value;
  }
  const out: Record<string, string | null> = {};
  for (const [key, parts] of Object.entries(c.lookupUrls)) out[key] = renderLookupUrl(parts!, vars);
  return out;
}

export function renderLookupUrl(parts: readonly TextPart[], vars: Record<string, unknown>): string | null {
  const q = parts.findIndex((p) => typeof p === 'string' && p.includes('?'));
  const scope = (): RenderScope => ({ vars, html: false, missing: new Set() });
  if (q < 0) return renderText(parts, scope(), encodeURIComponent) ?? null;
  const head = parts[q] as string;
  const cut = head.indexOf('?');
  const path = renderText([...parts.slice(0, q), head.slice(0, cut)], scope(), encodeURIComponent);
  if (path === undefined) return null;
  // Split the query template on "&" and keep each pair only when all its variables are set.
  const pairs: TextPart[][] = [[]];
  for (const p of [head.slice(cut + 1), ...parts.slice(q + 1)]) {
    if (typeof p !== 'string') {
      pairs[pairs.length - 1].push(p);
      continue;
    }
    p.split('&').forEach((chunk, i) => {
      if (i > 0) pairs.push([]);
      if (chunk) pairs[pairs.length - 1].push(chunk);
    });
  }
  const kept = pairs.map((pair) => (pair.length ? renderText(pair, scope(), encodeURIComponent) : undefined)).filter((s): s is string => !!s);
  return kept.length ? `${path}?${kept.join('&')}` : path;
}
