/**
 * Customer identity from the platform's own adapter events (pure). Those events (New_Call,
 * End_Call, New_Chat, …) carry no phone or e-mail field of their own; the customer's identity
 * is in data the platform does send — `end_user`, participants, `custom_sip_headers`,
 * `session_variable`, `va_data_parameters`, `custom_data_not_secured` — and where exactly
 * depends on how the contact center is set up. A connector's `events.identity` says it: per
 * identity field, a list of paths into the event's data, tried in order; the first that holds
 * a usable value wins.
 *
 * Path language (checked at load time, so a typo is a config error, not a silent miss):
 *   - segments separated by dots: `custom_sip_headers.X-Caller-Number` (a key may hold any
 *     character but `.`, `[` and `]`);
 *   - `[N]` picks an element of a list: `participants[0].end_user_id`;
 *   - `[field=value]` picks the first element of a list whose `field` equals `value` (as text),
 *     e.g. `participants[type=end_user].end_user_id`; on an object (not a list) it keeps the
 *     object only if it matches, so `[type=end_user].end_user_id` reads a flat Party_Added;
 *   - a string that holds a JSON object (custom data often arrives so) is read as that object;
 *   - a path beginning `custom_data_secured.` reads ONLY the signed custom data whose signature
 *     verified (`facts.verifiedCustomData`); never the unverified value in the event's data.
 *     Without a verified copy such a path simply matches nothing.
 * Values: non-empty text or a number (as text); objects, lists, booleans and empty text do not
 * match, and the next path is tried. A value the caller's `accept` refuses (e.g. a phone number
 * that does not parse) is skipped the same way.
 */

import type { IdentityPath, IdentityRule } from '../config/identity-paths';

export { IDENTITY_FIELDS, SECURED_PREFIX, parseIdentityPath } from '../config/identity-paths';
export type { IdentityField, IdentityPath, IdentityRule } from '../config/identity-paths';

/** Reads one path; undefined when it does not lead to a usable value. */
export function readIdentityPath(p: IdentityPath, data: Record<string, unknown>, verifiedCustomData?: Record<string, unknown>): string | undefined {
  let cur: unknown = p.secured ? verifiedCustomData : data;
  for (const step of p.steps) {
    const obj = asObject(cur);
    if (obj === undefined) return undefined;
    // Own keys only: `constructor.name` must not read "Object" off the prototype.
    if ('key' in step) cur = Array.isArray(obj) || !Object.hasOwn(obj, step.key) ? undefined : (obj as Record<string, unknown>)[step.key];
    else if ('index' in step) cur = Array.isArray(obj) ? obj[step.index] : undefined;
    else {
      const list = Array.isArray(obj) ? obj : [obj];
      cur = list.find((el) => {
        const o = asObject(el);
        return (
          o !== undefined &&
          !Array.isArray(o) &&
          Object.hasOwn(o, step.where.field) &&
          scalarText((o as Record<string, unknown>)[step.where.field]) === step.where.value
        );
      });
    }
  }
  return scalarText(cur);
}

/**
 * The identity an event carries under a mapping: variable → value, and where each came from
 * (for the session's warnings and tests). `accept` may refuse a value (then the next path is tried).
 */
export function resolveIdentity(
  rules: readonly IdentityRule[],
  data: Record<string, unknown>,
  verifiedCustomData: Record<string, unknown> | undefined,
  accept: (variable: string, value: string) => boolean = () => true,
): { vars: Record<string, string>; from: Record<string, string> } {
  const vars: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const rule of rules) {
    for (const p of rule.paths) {
      const v = readIdentityPath(p, data, verifiedCustomData);
      if (v === undefined || !accept(rule.variable, v)) continue;
      vars[rule.variable] = v;
      from[rule.variable] = p.source;
      break;
    }
  }
  return { vars, from };
}

/** Objects and lists as they are; a string holding a JSON object or list, parsed; anything else undefined. */
function asObject(v: unknown): object | undefined {
  if (v !== null && typeof v === 'object') return v;
  if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
    try {
      const parsed: unknown = JSON.parse(v);
      return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}
