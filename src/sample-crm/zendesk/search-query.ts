/**
 * Parser for the subset of Zendesk search syntax the emulator understands:
 *   type:user   phone:*222*333*4444   status<solved   -tags:vip   "exact phrase"
 *   subject:"two words"   created>2024-01-01   free words
 * Terms are separated by spaces and ANDed. No OR / parentheses (Zendesk has no general OR
 * either). Pure: no knowledge of the stored records, see search.ts for evaluation.
 */

export type SearchOperator = ':' | '<' | '>' | '<=' | '>=';

export interface FieldTerm {
  kind: 'field';
  /** Lowercased keyword, e.g. "phone", "requester_id". */
  field: string;
  op: SearchOperator;
  /** Value without surrounding quotes; may contain * wildcards. */
  value: string;
  quoted: boolean;
  negated: boolean;
}

export interface TextTerm {
  kind: 'text';
  /** A word, or a phrase when quoted; may contain * wildcards. */
  value: string;
  quoted: boolean;
  negated: boolean;
}

export type SearchTerm = FieldTerm | TextTerm;

export class SearchQueryError extends Error {}

const FIELD_TERM = /^([A-Za-z_][A-Za-z0-9_]*)(<=|>=|:|<|>)(.*)$/s;

function unquote(raw: string): { value: string; quoted: boolean } {
  if (!raw.includes('"')) return { value: raw, quoted: false };
  return { value: raw.replace(/"/g, ''), quoted: true };
}

export function parseSearchQuery(query: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  const n = query.length;
  let i = 0;
  while (i < n) {
    while (i < n && /\s/.test(query[i])) i++;
    if (i >= n) break;

    let negated = false;
    if (query[i] === '-' && i + 1 < n && !/\s/.test(query[i + 1])) {
      negated = true;
      i++;
    }
    // A term runs to the next whitespace that is not inside double quotes.
    let inQuote = false;
    let j = i;
    while (j < n && (inQuote || !/\s/.test(query[j]))) {
      if (query[j] === '"') inQuote = !inQuote;
      j++;
    }
    if (inQuote) throw new SearchQueryError(`unterminated quote in ${JSON.stringify(query.slice(i))}`);
    const raw = query.slice(i, j);
    i = j;

    const m = raw.startsWith('"') ? null : FIELD_TERM.exec(raw);
    if (m) {
      const { value, quoted } = unquote(m[3]);
      if (value.trim() === '') throw new SearchQueryError(`missing value for ${m[1]}${m[2]}`);
      terms.push({ kind: 'field', field: m[1].toLowerCase(), op: m[2] as SearchOperator, value, quoted, negated });
    } else {
      const { value, quoted } = unquote(raw);
      if (value.trim() === '') continue;
      terms.push({ kind: 'text', value, quoted, negated });
    }
  }
  if (terms.length === 0) throw new SearchQueryError('query cannot be blank');
  return terms;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-value, case-insensitive match where * means "any characters". */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'is');
}

export function digitsOnly(s: string): string {
  return s.replace(/\D/g, '');
}

/**
 * Phone numbers are compared digits-only, so "+1 222 333 4444", "+12223334444" and
 * "phone:*222*333*4444" line up regardless of formatting; * still means "any characters".
 */
export function phoneMatches(stored: string | null, pattern: string): boolean {
  if (!stored) return false;
  const p = pattern.replace(/[^\d*]/g, '');
  if (!/\d/.test(p)) return false;
  return globToRegExp(p).test(digitsOnly(stored));
}

/** Words of a text, lowercased; * is kept so patterns tokenize the same way. */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}*]+/u)
    .filter(Boolean);
}

/**
 * Word/phrase match: the pattern's words must appear consecutively among the text's words,
 * each compared with wildcards. "jane" matches "Jane Doe"; "jan" does not (Zendesk matches
 * whole words, not substrings); "jan*" does.
 */
export function textMatches(stored: string | null | undefined, pattern: string): boolean {
  if (!stored) return false;
  const want = tokenize(pattern).map((w) => globToRegExp(w));
  if (want.length === 0) return false;
  const have = tokenize(stored);
  for (let start = 0; start + want.length <= have.length; start++) {
    if (want.every((re, k) => re.test(have[start + k]))) return true;
  }
  return false;
}
