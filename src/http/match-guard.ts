/**
 * The find guard (pure): which of a search's matches really are the caller, and which one
 * to take when several are. CRMs do not always honour a search filter (an unsupported field
 * is ignored and every user comes back), so a find that trusts the CRM's answer can return a
 * stranger. The guard
 *   1. drops every match whose fields (`match: {path: VARIABLE}`) do not equal the searched
 *      values after normalisation: phone numbers by digits, national significant numbers
 *      when either side has no country code (+44 20 7946 0958 equals 020 7946 0958);
 *      e-mail trimmed and lower-case; other text trimmed and case-insensitive;
 *   2. chooses among what is left by `on_several_matches`: the most recent by the sort field
 *      (only when every match carries one and no two share the greatest), the first in the
 *      CRM's order, or none at all; when it cannot choose, it says so (`ambiguous`) instead of
 *      guessing.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { isEmptyValue } from '../template/variables';
import { readPath, type JsonPath } from '../util/json-path';

export type MatchKind = 'phone' | 'email' | 'text';
export type SeveralMatches = 'most_recent' | 'fail' | 'first';

export interface MatchRule {
  /** Where the field is in one match. */
  readonly path: JsonPath;
  /** The path as written in the YAML, for messages. */
  readonly source: string;
  /** The variable holding the searched value. */
  readonly variable: string;
  readonly kind: MatchKind;
}

export interface GuardOptions {
  readonly rules: readonly MatchRule[];
  /** The searched values, as the caller gave them (not formatted for the CRM). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Region for phone numbers written without a country code. */
  readonly region?: string;
  readonly sortBy: JsonPath;
  /** Absent: most_recent when every match carries the sort field, else fail. */
  readonly onSeveral?: SeveralMatches;
}

export type GuardResult =
  | { readonly kind: 'none'; readonly dropped: number }
  | { readonly kind: 'one'; readonly item: unknown; readonly matches: number; readonly dropped: number }
  | { readonly kind: 'ambiguous'; readonly matches: number; readonly dropped: number; readonly why: string };

export function guardMatches(items: readonly unknown[], o: GuardOptions): GuardResult {
  const kept = items.filter((item) => isCaller(item, o));
  const dropped = items.length - kept.length;
  if (kept.length === 0) return { kind: 'none', dropped };
  if (kept.length === 1) return { kind: 'one', item: kept[0], matches: 1, dropped };
  const ambiguous = (why: string): GuardResult => ({ kind: 'ambiguous', matches: kept.length, dropped, why });
  if (o.onSeveral === 'first') return { kind: 'one', item: kept[0], matches: kept.length, dropped };
  if (o.onSeveral === 'fail') return ambiguous('on_several_matches is fail');
  const newest = mostRecentOf(kept, o.sortBy);
  if (newest.kind === 'one') return { kind: 'one', item: newest.item, matches: kept.length, dropped };
  return ambiguous(newest.why);
}

/**
 * A match is the caller when at least one listed field equals its searched value. "At least
 * one", not "all": a caller found by phone whose e-mail the CRM does not have (or has in an
 * older form) is still the caller; a stranger shares none of them. Rules whose variable is
 * empty are not checked; with none left, there is nothing to compare and the match stays.
 */
export function isCaller(item: unknown, o: Pick<GuardOptions, 'rules' | 'values' | 'region'>): boolean {
  const checkable = o.rules.filter((r) => !isEmptyValue(o.values[r.variable]));
  if (checkable.length === 0) return true;
  return checkable.some((r) => {
    const field = readPath(item, r.path);
    if (!field.found) return false;
    const stored = Array.isArray(field.value) ? field.value : [field.value];
    return stored.some((v) => (typeof v === 'string' || typeof v === 'number') && sameValue(r.kind, String(v), String(o.values[r.variable]), o.region));
  });
}

export function sameValue(kind: MatchKind, stored: string, searched: string, region?: string): boolean {
  switch (kind) {
    case 'phone':
      return samePhone(stored, searched, region);
    case 'email':
      return stored.trim().toLowerCase() === searched.trim().toLowerCase();
    case 'text':
      return stored.trim().localeCompare(searched.trim(), undefined, { sensitivity: 'accent' }) === 0;
  }
}

interface PhoneKey {
  readonly country?: string;
  readonly national: string;
}

/**
 * Two numbers are the same when their national significant numbers are equal and, when both
 * say their country, the countries are equal too: +44 20 7946 0958 = 020 7946 0958, but
 * +1 207 946 0958 ≠ +44 20 7946 0958.
 */
export function samePhone(a: string, b: string, region?: string): boolean {
  // Fast reject before parsing (parsing costs ~0.1 ms): equal numbers end in the same digits.
  // Four, because subscriber numbers are at least that long and trunk/country prefixes only
  // ever come first; an extension is not part of the number.
  const da = withoutExtension(a).replace(/\D/g, '');
  const db = withoutExtension(b).replace(/\D/g, '');
  if (da.length < 4 || db.length < 4 || da.slice(-4) !== db.slice(-4)) return false;
  // The usual case, a CRM that stores what it was sent: the same digits written the same way
  // (both with a country code, or both without) are the same number, with no parsing at all.
  if (da === db && isInternational(a) === isInternational(b)) return true;
  const ka = phoneKey(a, region);
  const kb = phoneKey(b, region);
  if (!ka.national || !kb.national) return false;
  if (ka.country && kb.country && ka.country !== kb.country) return false;
  return ka.national === kb.national;
}

function withoutExtension(phone: string): string {
  return phone.replace(/\s*(?:ext\.?|extension|x|#)\s*\d+\s*$/i, '');
}

const isInternational = (phone: string) => /^\s*(\+|00)/.test(phone);

/** Parsed keys of the numbers seen lately: a find compares the caller's number with every match. */
const PHONE_KEYS = new Map<string, PhoneKey>();
const PHONE_KEYS_MAX = 2000;

function phoneKey(raw: string, region?: string): PhoneKey {
  const cacheKey = `${region ?? ''}|${raw}`;
  const known = PHONE_KEYS.get(cacheKey);
  if (known) return known;
  const key = parsePhoneKey(raw, region);
  if (PHONE_KEYS.size >= PHONE_KEYS_MAX) PHONE_KEYS.clear();
  PHONE_KEYS.set(cacheKey, key);
  return key;
}

function parsePhoneKey(raw: string, region?: string): PhoneKey {
  const digits = withoutExtension(raw).replace(/\D/g, '');
  const international = /^\s*(\+|00)/.test(raw);
  const text = international && raw.trim().startsWith('00') ? `+${digits.slice(2)}` : raw;
  try {
    const p = parsePhoneNumberFromString(text, international ? undefined : (region as CountryCode | undefined));
    // A national number that is not valid in the default region (020 7946 0958 in the US)
    // says nothing about its country: compare it without one.
    if (p && (international || p.isValid())) return { country: p.countryCallingCode, national: p.nationalNumber };
  } catch {
    /* not a phone number libphonenumber can read: compare digits */
  }
  // National form of unknown country: drop the trunk prefix (0 in most of the world).
  return { national: international ? digits : digits.replace(/^0+/, '') };
}

type Newest = { kind: 'one'; item: unknown } | { kind: 'unordered'; why: string };

/** The match with the greatest sort value, when every match has one and the greatest is unique. */
export function mostRecentOf(items: readonly unknown[], sortBy: JsonPath): Newest {
  let best: unknown;
  let bestKey: number | undefined;
  let tie = false;
  for (const item of items) {
    const r = readPath(item, sortBy);
    const key = r.found ? sortKey(r.value) : undefined;
    if (key === undefined) return { kind: 'unordered', why: 'the matches carry no sort field to find the most recent' };
    if (bestKey === undefined || key > bestKey) {
      best = item;
      bestKey = key;
      tie = false;
    } else if (key === bestKey) tie = true;
  }
  if (tie) return { kind: 'unordered', why: 'several matches share the most recent sort value' };
  return { kind: 'one', item: best };
}

export function sortKey(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const asNumber = Number(v);
    if (v.trim() !== '' && !Number.isNaN(asNumber)) return asNumber;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
