/**
 * Derived session variables: values the platform does not send but CRM mappings commonly need,
 * computed from the ones it does (NAME → FIRST_NAME/LAST_NAME, EMAIL → CUSTOM_USER_ID, seconds → mm:ss).
 * Pure functions; deriveVariables never mutates its input.
 */

/** Many CRMs require a last name; "--" stands in when none is known, so the create is not refused. */
export const DEFAULT_LAST_NAME = '--';
const DURATION_KEYS = ['CALL_DURATION', 'HOLD_TIME', 'WAIT_TIME'] as const;

export function splitName(name?: string): { FIRST_NAME?: string; LAST_NAME: string } {
  const words = typeof name === 'string' ? name.trim().split(/\s+/).filter(Boolean) : [];
  if (words.length === 0) return { LAST_NAME: DEFAULT_LAST_NAME };
  const [first, ...rest] = words;
  return { FIRST_NAME: first, LAST_NAME: rest.length ? rest.join(' ') : DEFAULT_LAST_NAME };
}

/** Local part of an email: everything before the LAST "@" (quoted local parts may contain "@"). */
export function customUserIdFromEmail(email?: string): string | undefined {
  if (typeof email !== 'string') return undefined;
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  return at > 0 ? trimmed.slice(0, at) : undefined;
}

/**
 * Seconds (number or numeric string, fractions rounded) → "mm:ss"; minutes are not capped at 59
 * (3725 → "62:05") because CRMs show call lengths, not clock times. "m:ss" and "h:mm:ss" strings
 * are normalised to the same form. Negative, non-finite or unparseable values → undefined.
 */
export function formatDuration(v: number | string | undefined): string | undefined {
  const seconds = typeof v === 'number' ? v : typeof v === 'string' ? parseSeconds(v.trim()) : undefined;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const total = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 60))}:${pad(total % 60)}`;
}

function parseSeconds(s: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  if (!/^\d+(:\d{1,2}){1,2}$/.test(s)) return undefined;
  const parts = s.split(':').map(Number);
  // Every field after the first is a base-60 digit; "1:60" is malformed, not 2:00.
  if (parts.slice(1).some((n) => n >= 60)) return undefined;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/**
 * Returns a new object with derived variables added. Explicit values win: a FIRST_NAME, LAST_NAME
 * or CUSTOM_USER_ID that is present and non-blank is kept as is. Durations that cannot be read
 * are removed rather than passed on, so a template's {{default}} applies instead of garbage.
 */
export function deriveVariables(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...vars };
  const split = splitName(typeof vars.NAME === 'string' ? vars.NAME : undefined);
  if (isBlank(out.FIRST_NAME) && split.FIRST_NAME !== undefined) out.FIRST_NAME = split.FIRST_NAME;
  if (isBlank(out.LAST_NAME)) out.LAST_NAME = split.LAST_NAME;

  if (isBlank(out.CUSTOM_USER_ID)) {
    const id = customUserIdFromEmail(typeof vars.EMAIL === 'string' ? vars.EMAIL : undefined);
    if (id !== undefined) out.CUSTOM_USER_ID = id;
  }

  for (const key of DURATION_KEYS) {
    if (!Object.hasOwn(out, key)) continue;
    const raw = out[key];
    const formatted = typeof raw === 'number' || typeof raw === 'string' ? formatDuration(raw) : undefined;
    if (formatted === undefined) delete out[key];
    else out[key] = formatted;
  }
  return out;
}
