/**
 * Salesforce record ids: a 3-character key prefix naming the object (003 Contact, 500 Case…),
 * 12 more characters (pod + record number) and, in the 18-character form the API returns, a
 * 3-character suffix that encodes which of the first 15 characters are upper case, so that the
 * id survives case-insensitive systems. The API accepts both forms, and 18-character ids in any
 * letter case.
 */

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Instance ("pod") part of every generated id; mixed case so the suffix is never trivial. */
const POD = 'Dn0';
/** Record numbers start here so ids look like real ones ("003Dn0000Gx…") rather than "0000001". */
const RECORD_BASE = 14_000_000_000_000;

export const KEY_PREFIXES = {
  Organization: '00D',
  User: '005',
  Contact: '003',
  Case: '500',
  CaseComment: '00a',
  ContentVersion: '068',
  ContentDocument: '069',
  QueryLocator: '01g',
} as const;

/** The 3-character case-safety suffix of a 15-character id. */
export function idSuffix(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[chunk * 5 + i];
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    out += SUFFIX_CHARS[bits];
  }
  return out;
}

function base62(n: number, width: number): string {
  let s = '';
  let v = Math.floor(n);
  while (v > 0) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(width, '0').slice(-width);
}

/** A new 18-character id for record number `seq` of the object with this key prefix. */
export function makeId(prefix: string, seq: number): string {
  const id15 = prefix + POD + base62(RECORD_BASE + seq, 9);
  return id15 + idSuffix(id15);
}

/**
 * The canonical 18-character form of a 15- or 18-character id, or undefined when the text is
 * not an id at all (what Salesforce reports as MALFORMED_ID / "invalid ID field").
 */
export function canonicalId(raw: string): string | undefined {
  if (/^[A-Za-z0-9]{15}$/.test(raw)) return raw + idSuffix(raw);
  if (!/^[A-Za-z0-9]{18}$/.test(raw)) return undefined;
  const suffix = raw.slice(15).toUpperCase();
  let id15 = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_CHARS.indexOf(suffix[chunk]);
    if (bits < 0) return undefined;
    for (let i = 0; i < 5; i++) {
      const c = raw[chunk * 5 + i];
      id15 += bits & (1 << i) ? c.toUpperCase() : c.toLowerCase();
    }
  }
  return id15 + suffix;
}

export function keyPrefixOf(id: string): string {
  return id.slice(0, 3);
}
