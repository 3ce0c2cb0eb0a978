/**
 * Phone number formats sent to a CRM. Pure: no I/O, no global state.
 *
 * Parsing: libphonenumber-js with the "max" metadata (exact per-country rules). Input may be
 * in any style: "+44 20 7946 0958", "0044 …", "(222) 333-4444" + default region, "tel:" URIs,
 * dots/dashes/spaces, "(0)", extensions ("ext. 12", "x12", ";ext=12"). libphonenumber's lenient
 * extraction is kept so labels like "tel:"/"Phone:" are tolerated; anything it cannot turn into
 * a *possible* number is refused. We require isPossible() (length fits the country), not
 * isValid(): test and newly-assigned ranges (e.g. US area code 222) are not "valid" yet are
 * real to the CRM. Validity is returned as `valid` for information only.
 * "00<cc>" is accepted as an international prefix even when the default region dials out with
 * another prefix (US 011, AU 0011) or no region is set: it is the ITU-recommended prefix and
 * by far the most common way people write foreign numbers without "+".
 *
 * What each format means (NANP = +1: US, Canada, Caribbean):
 * - e164:              "+12223334444" for every country.
 * - international:     libphonenumber INTERNATIONAL format, e.g. "+44 20 7946 0958".
 * - automatic/write:   same as international.
 * - automatic/search:  "*" + the national significant number's groups as they appear in the
 *                      international format, joined by "*": "*222*333*4444", "*20*7946*0958".
 *                      The country code is left out so the wildcard matches however the CRM
 *                      stored the number (with or without +cc, national prefix or punctuation).
 * - us_local:          national significant number digits: "2223334444"; non-NANP: "2079460958"
 *                      (no trunk prefix "0" — it is not part of the number).
 * - us_local_standard: libphonenumber NATIONAL format: "(222) 333-4444"; non-NANP numbers get
 *                      their own country's national format, e.g. "020 7946 0958", "03-1234-5678".
 * Extensions: on write, the human-readable formats (automatic, international, us_local_standard)
 * append " ext. N" so the extension is not lost; the digit-only formats (e164, us_local) cannot
 * carry one, and search never includes it (it would stop the stored number from matching).
 * The extension is always returned separately as `ext`.
 */
import { isSupportedCountry, parsePhoneNumberWithError, validatePhoneNumberLength, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

export const PHONE_FORMATS = ['automatic', 'e164', 'us_local', 'us_local_standard', 'international'] as const;
export type PhoneFormat = (typeof PHONE_FORMATS)[number];
/** write = create/update requests; search = find endpoints. */
export type PhonePurpose = 'write' | 'search';
export type PhoneResult = { ok: true; value: string; e164: string; country?: string; valid?: boolean; ext?: string } | { ok: false; reason: string };

export function isPhoneFormat(x: unknown): x is PhoneFormat {
  return typeof x === 'string' && (PHONE_FORMATS as readonly string[]).includes(x);
}

// Shortest national numbers anywhere have 4 digits; longest allowed by libphonenumber 17.
const MIN_DIGITS = 4;
const MAX_DIGITS = 17;
// Keep the formatter from appending libphonenumber's per-country extension markers (" x", " ext.").
const NO_EXT = { formatExtension: (number: string) => number };

/** Formatting is pure and libphonenumber is costly (~10 µs a number): memoise, bounded. */
const memo = new Map<string, PhoneResult>();

export function formatPhone(input: string, format: PhoneFormat, purpose: PhonePurpose, defaultRegion?: CountryCode): PhoneResult {
  const key = `${input}\u0000${format}\u0000${purpose}\u0000${defaultRegion ?? ''}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const r = formatPhoneUncached(input, format, purpose, defaultRegion);
  if (memo.size >= 10_000) memo.clear();
  memo.set(key, r);
  return r;
}

function formatPhoneUncached(input: string, format: PhoneFormat, purpose: PhonePurpose, defaultRegion?: CountryCode): PhoneResult {
  if (!isPhoneFormat(format)) return fail(`unknown phone format ${JSON.stringify(format)}`);
  if (defaultRegion !== undefined && !isSupportedCountry(defaultRegion)) {
    return fail(`default region ${JSON.stringify(defaultRegion)} is not a supported country`);
  }
  // Values from YAML/JSON may arrive as numbers (e.g. 2223334444); treat those as their digits.
  const raw: unknown = input;
  const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  if (text === undefined || text === null || (typeof text === 'string' && text.trim() === '')) {
    return fail('phone number is empty');
  }
  if (typeof text !== 'string') return fail(`expected a phone number as text, got ${typeof text}`);

  const parsed = parse(text, defaultRegion);
  if (typeof parsed === 'string') return fail(explain(parsed, text));
  return {
    ok: true,
    value: render(parsed, format, purpose),
    e164: parsed.number,
    ...(parsed.country ? { country: parsed.country } : {}),
    valid: parsed.isValid(),
    ...(parsed.ext ? { ext: parsed.ext } : {}),
  };
}

function fail(reason: string): PhoneResult {
  return { ok: false, reason };
}

/** A possible PhoneNumber, or a libphonenumber error code explaining why not. */
function parse(text: string, region?: CountryCode): PhoneNumber | string {
  const first = tryParse(text, region);
  if (typeof first !== 'string' && first.isPossible()) return first;
  const idd = /^\s*00(?=\s*[1-9])/.exec(text);
  if (idd) {
    const second = tryParse(`+${text.slice(idd[0].length)}`, region);
    if (typeof second !== 'string' && second.isPossible()) return second;
  }
  if (typeof first === 'string') return first;
  return validatePhoneNumberLength(first.number) ?? 'INVALID_LENGTH';
}

function tryParse(text: string, region?: CountryCode): PhoneNumber | string {
  try {
    return parsePhoneNumberWithError(text, region ? { defaultCountry: region } : undefined);
  } catch (e) {
    return e instanceof Error ? e.message : 'NOT_A_NUMBER';
  }
}

function explain(code: string, text: string): string {
  const q = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  const digits = (text.match(/\d/g) ?? []).length;
  switch (code) {
    case 'TOO_SHORT':
      return `${q} is too short to be a phone number`;
    case 'TOO_LONG':
      return `${q} is too long to be a phone number`;
    case 'INVALID_LENGTH':
      return `${q} has the wrong number of digits for a phone number`;
    case 'INVALID_COUNTRY':
      if (/^\s*(\+|00)/.test(text)) return `${q} has an unknown country calling code`;
      if (digits < MIN_DIGITS) return `${q} is too short to be a phone number`;
      if (digits > MAX_DIGITS) return `${q} is too long to be a phone number`;
      return `${q} has no country code and no default region is set`;
    default:
      return `${q} is not a phone number`;
  }
}

function render(p: PhoneNumber, format: PhoneFormat, purpose: PhonePurpose): string {
  const ext = purpose === 'write' && p.ext ? ` ext. ${p.ext}` : '';
  switch (format) {
    case 'e164':
      return p.number;
    case 'us_local':
      return p.nationalNumber;
    case 'us_local_standard':
      return p.format('NATIONAL', NO_EXT) + ext;
    case 'international':
      return p.format('INTERNATIONAL', NO_EXT) + ext;
    case 'automatic':
      return purpose === 'write' ? p.format('INTERNATIONAL', NO_EXT) + ext : `*${searchGroups(p).join('*')}`;
    default:
      return assertNever(format);
  }
}

/** National significant number split the way the international format groups it. */
function searchGroups(p: PhoneNumber): string[] {
  const intl = p.format('INTERNATIONAL', NO_EXT);
  const groups = intl.slice(`+${p.countryCallingCode}`.length).split(/\D+/).filter(Boolean);
  // Never emit a pattern that does not spell the exact number (e.g. an odd metadata format).
  return groups.join('') === p.nationalNumber ? groups : [p.nationalNumber];
}

function assertNever(x: never): never {
  throw new Error(`unhandled phone format ${String(x)}`);
}
