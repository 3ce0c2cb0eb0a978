/**
 * Type casts in templates: `{ACCOUNT_ID:number}`, `{FLAG:boolean}`, `{ZIP:string}`. Platform
 * ids arrive as strings and some CRMs reject "1001" for a number field; a cast says what the
 * field needs. `{MAPPED_FIELDS:json}` places a list or map the gateway built as JSON text
 * (variables are scalars) where the CRM wants it, e.g. Zendesk's custom_fields array. Pure. A value that cannot be cast is an error naming the variable (the caller
 * turns it into a 422 invalid_variable_value), never a silently different value.
 */
export const CASTS = ['number', 'boolean', 'string', 'json'] as const;
export type Cast = (typeof CASTS)[number];

export function isCast(x: string): x is Cast {
  return (CASTS as readonly string[]).includes(x);
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_TEXT = new Set(['true', '1', 'yes']);
const FALSE_TEXT = new Set(['false', '0', 'no']);

export type CastResult = { ok: true; value: unknown } | { ok: false; reason: string };

export function castValue(value: unknown, cast: Cast): CastResult {
  switch (cast) {
    case 'string':
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false, reason: 'is not text' };
    case 'number': {
      if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: 'is not a finite number' };
      if (typeof value === 'string' && NUMBER_TEXT.test(value.trim())) {
        const n = Number(value.trim());
        // Ids longer than a double can hold would come out as another number: refuse them.
        if (Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n))) return { ok: true, value: n };
        return { ok: false, reason: `${JSON.stringify(value)} is too large to send as an exact number` };
      }
      return { ok: false, reason: `${JSON.stringify(clip(value))} is not a number` };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      const t = typeof value === 'string' || typeof value === 'number' ? String(value).trim().toLowerCase() : undefined;
      if (t !== undefined && TRUE_TEXT.has(t)) return { ok: true, value: true };
      if (t !== undefined && FALSE_TEXT.has(t)) return { ok: true, value: false };
      return { ok: false, reason: `${JSON.stringify(clip(value))} is not a boolean (true/false, yes/no, 1/0)` };
    }
    case 'json': {
      if (typeof value !== 'string') return { ok: false, reason: 'is not JSON text' };
      try {
        return { ok: true, value: JSON.parse(value) };
      } catch {
        return { ok: false, reason: `${JSON.stringify(clip(value))} is not JSON` };
      }
    }
  }
}

function clip(v: unknown): unknown {
  return typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…` : v;
}
