/**
 * Checks and prepares the variables of one operation call (prepareCall): only known names, scalar
 * values, derived variables (FIRST_NAME, LAST_NAME, CUSTOM_USER_ID, mm:ss durations), and
 * phone numbers formatted per the connector (the search variant for finds). Only the
 * variables the endpoint references are formatted, so an unparseable number the endpoint
 * does not use cannot fail the call.
 */
import type { CompiledEndpoint, Connector } from '../config/types';
import { GatewayError } from '../errors';
import { formatForConnector } from '../phone';
import { deriveVariables } from '../template/derived';
import { PHONE_VARIABLES, REQUEST_VARIABLE_SET, isEmptyValue, suggestVariable } from '../template/variables';

export function checkVariables(input: unknown, c: Connector): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new GatewayError('validation_failed', '"variables" must be an object of NAME: value', { field: 'variables' });
  }
  const known = knownVariables(c);
  const errors: Array<{ field: string; message: string }> = [];
  for (const [k, v] of Object.entries(input)) {
    if (!known.has(k)) {
      const hint = suggestVariable(k, known);
      errors.push({ field: `variables.${k}`, message: `unknown variable ${k}${hint ? ` (did you mean ${hint}?)` : ''}` });
    } else if (v !== null && typeof v === 'object') {
      errors.push({ field: `variables.${k}`, message: `${k} must be a string, number or boolean` });
    }
  }
  if (errors.length) {
    throw new GatewayError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
  return input as Record<string, unknown>;
}

/** Variable names a connector accepts: built once per compiled connector, not per call. */
const KNOWN = new WeakMap<Connector, ReadonlySet<string>>();
function knownVariables(c: Connector): ReadonlySet<string> {
  let known = KNOWN.get(c);
  if (!known) {
    known = new Set([...REQUEST_VARIABLE_SET, ...c.extraVariables]);
    KNOWN.set(c, known);
  }
  return known;
}

/**
 * The one place a call's variables are prepared, for every caller (synchronous API, durable
 * deliveries, session flows, dry-run, dedupe checks, contract tests): names and values checked,
 * derived variables added, `{NOW}`/`{NOW_MS}` from the injected clock, phone numbers formatted
 * from the raw value the caller gave (the search variant for finds; never a formatted string
 * parsed again), and the endpoint's required variables present. Casts are applied where the
 * template asks for them, when it is rendered.
 */
export function prepareCall(input: unknown, c: Connector, ep: CompiledEndpoint, now: number): Record<string, unknown> {
  const out = deriveVariables(checkVariables(input, c));
  // The request's time, unless the caller fixed it.
  out.NOW_MS ??= now;
  out.NOW ??= new Date(Number(out.NOW_MS)).toISOString();
  for (const name of ep.variables) {
    if (!PHONE_VARIABLES.has(name) || isEmptyValue(out[name])) continue;
    const r = formatForConnector(String(out[name]), c.phone, ep.isFind ? 'search' : 'write');
    if (!r.ok) throw new GatewayError('invalid_phone_number', `${name}: ${r.reason}`, { variable: name, field: `variables.${name}` });
    out[name] = r.value;
  }
  const missing = ep.requiredVariables.filter((v) => isEmptyValue(out[v]));
  if (missing.length) {
    throw new GatewayError('missing_variable', `${ep.operation} needs ${missing.join(', ')}`, {
      variables: missing,
      errors: missing.map((m) => ({ field: `variables.${m}`, message: 'required' })),
    });
  }
  return out;
}
