/**
 * A SOQL subset, parsed the way Salesforce reads it:
 *
 *   SELECT field, … | COUNT()  FROM sObject
 *   [WHERE condition]  [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …]  [LIMIT n]  [OFFSET n]
 *
 * Conditions: field = != <> < <= > >= value, field LIKE 'pat%' (% and _ wildcards, \% \_
 * literal), field [NOT] IN (v, …), NOT, parentheses, AND/OR. Like Salesforce, AND and OR may
 * not be mixed at one level without parentheses ("unexpected token: OR"). Values: 'strings'
 * with backslash escapes (\' \" \\ \n \r \t \b \f \uXXXX), numbers, true/false, null, and
 * datetime literals (2024-05-01T10:00:00Z). Keywords are case-insensitive.
 *
 * This module only parses; names and value types are checked against the sObject
 * descriptions by query.ts. Errors carry Salesforce's MALFORMED_QUERY message layout: the
 * query line, a caret, "ERROR at Row:r:Column:c" and the reason.
 */

export class SoqlError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'SoqlError';
  }
}

export type SoqlValue =
  | { kind: 'string'; value: string /** The literal as written (without quotes), for LIKE escapes. */; raw: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'boolean'; value: boolean; pos: number }
  | { kind: 'null'; pos: number }
  | { kind: 'datetime'; value: number; text: string; pos: number }
  | { kind: 'date'; text: string; pos: number };

export interface FieldRef {
  /** As written, e.g. "Phone" or "Contact.Name". */
  name: string;
  pos: number;
}

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'like';

export type SoqlCondition =
  | { kind: 'and' | 'or'; items: SoqlCondition[] }
  | { kind: 'not'; item: SoqlCondition }
  | { kind: 'cmp'; field: FieldRef; op: ComparisonOp; value: SoqlValue }
  | { kind: 'in'; field: FieldRef; negated: boolean; values: SoqlValue[] };

export interface SoqlOrder {
  field: FieldRef;
  direction: 'asc' | 'desc';
  nulls: 'first' | 'last';
}

export interface SoqlQuery {
  /** The selected fields, or "count" for SELECT COUNT(). */
  select: FieldRef[] | 'count';
  from: FieldRef;
  where?: SoqlCondition;
  orderBy: SoqlOrder[];
  limit?: number;
  offset?: number;
  source: string;
}

type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  /** The text as written. */
  text: string;
  pos: number;
  /** Decoded value of string literals. */
  value?: string;
  /** String literal content as written, between the quotes. */
  raw?: string;
}

/** Salesforce's error layout: the line, a caret under the column, the position and the reason. */
export function soqlError(source: string, pos: number, reason: string, errorCode = 'MALFORMED_QUERY'): SoqlError {
  const before = source.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = source.indexOf('\n', pos) < 0 ? source.length : source.indexOf('\n', pos);
  const col = pos - lineStart + 1;
  // Long lines are shown as a window around the error, as Salesforce does.
  const from = Math.max(lineStart, pos - 60);
  const to = Math.min(lineEnd, pos + 40);
  const snippet = source.slice(from, to);
  return new SoqlError(errorCode, `\n${snippet}\n${' '.repeat(pos - from)}^\nERROR at Row:${row}:Column:${col}\n${reason}`);
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER_RE = /^-?\d+(?:\.\d+)?/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', "'": "'", '"': '"', '\\': '\\', '%': '%', _: '_' };

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = source.slice(i);
    if (c === "'") {
      const start = i;
      let value = '';
      i++;
      let closed = false;
      while (i < source.length) {
        const ch = source[i];
        if (ch === '\\') {
          const next = source[i + 1];
          if (next === 'u' && /^[0-9A-Fa-f]{4}$/.test(source.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(source.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          if (next === undefined || !(next in ESCAPES)) {
            throw soqlError(
              source,
              start,
              `Invalid string literal '${source.slice(start + 1, i + 2)}'. Illegal character sequence '\\${next ?? ''}' in string literal.`,
            );
          }
          value += ESCAPES[next];
          i += 2;
          continue;
        }
        if (ch === "'") {
          closed = true;
          i++;
          break;
        }
        value += ch;
        i++;
      }
      if (!closed) {
        const row = source.slice(0, i).split('\n').length;
        throw new SoqlError('MALFORMED_QUERY', `line ${row}:${i} mismatched character '<EOF>' expecting '''`);
      }
      tokens.push({ kind: 'string', text: source.slice(start, i), pos: start, value, raw: source.slice(start + 1, i - 1) });
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = DATETIME_RE.exec(rest))) {
      tokens.push({ kind: 'datetime', text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if ((m = DATE_RE.exec(rest))) {
      tokens.push({ kind: 'date', text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if ((m = NUMBER_RE.exec(rest))) {
      tokens.push({ kind: 'number', text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if ((m = IDENT_RE.exec(rest))) {
      tokens.push({ kind: 'ident', text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
      continue;
    }
    if ('(),.'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, pos: i });
      i++;
      continue;
    }
    throw soqlError(source, i, `unexpected token: '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', pos: source.length });
  return tokens;
}

const RESERVED = new Set(['select', 'from', 'where', 'and', 'or', 'not', 'in', 'like', 'order', 'by', 'limit', 'offset', 'nulls', 'asc', 'desc']);

class Parser {
  private i = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private get tok(): Token {
    return this.tokens[this.i];
  }
  private peekAt(n: number): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)];
  }
  private next(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isKw(word: string, t: Token = this.tok): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }
  private isPunct(p: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === p;
  }
  private unexpected(t: Token = this.tok): SoqlError {
    return soqlError(this.source, t.pos, `unexpected token: ${t.text}`);
  }
  private expectKw(word: string): Token {
    if (!this.isKw(word)) throw this.unexpected();
    return this.next();
  }
  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) throw this.unexpected();
    return this.next();
  }

  parse(): SoqlQuery {
    this.expectKw('select');
    let select: FieldRef[] | 'count';
    if (this.isKw('count') && this.isPunct('(', this.peekAt(1))) {
      this.next();
      this.next();
      if (!this.isPunct(')')) throw soqlError(this.source, this.tok.pos, 'Aggregate functions other than COUNT() are not supported by this emulator');
      this.next();
      select = 'count';
    } else {
      select = [this.fieldRef()];
      while (this.isPunct(',')) {
        this.next();
        select.push(this.fieldRef());
      }
    }
    this.expectKw('from');
    const fromTok = this.tok;
    if (fromTok.kind !== 'ident' || RESERVED.has(fromTok.text.toLowerCase())) throw this.unexpected();
    this.next();
    const query: SoqlQuery = { select, from: { name: fromTok.text, pos: fromTok.pos }, orderBy: [], source: this.source };
    if (this.isKw('where')) {
      this.next();
      query.where = this.condition();
    }
    if (this.isKw('order')) {
      this.next();
      this.expectKw('by');
      query.orderBy.push(this.orderItem());
      while (this.isPunct(',')) {
        this.next();
        query.orderBy.push(this.orderItem());
      }
    }
    if (this.isKw('limit')) {
      this.next();
      query.limit = this.nonNegativeInt();
    }
    if (this.isKw('offset')) {
      this.next();
      query.offset = this.nonNegativeInt();
    }
    if (this.tok.kind !== 'eof') throw this.unexpected();
    return query;
  }

  private nonNegativeInt(): number {
    const t = this.tok;
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) throw this.unexpected();
    this.next();
    return Number(t.text);
  }

  private fieldRef(): FieldRef {
    const t = this.tok;
    if (t.kind !== 'ident' || RESERVED.has(t.text.toLowerCase())) throw this.unexpected();
    this.next();
    let name = t.text;
    while (this.isPunct('.') && this.peekAt(1).kind === 'ident') {
      this.next();
      name += `.${this.next().text}`;
    }
    return { name, pos: t.pos };
  }

  private orderItem(): SoqlOrder {
    const field = this.fieldRef();
    let direction: 'asc' | 'desc' = 'asc';
    if (this.isKw('asc') || this.isKw('desc')) direction = this.next().text.toLowerCase() as 'asc' | 'desc';
    let nulls: 'first' | 'last' = direction === 'asc' ? 'first' : 'last';
    if (this.isKw('nulls')) {
      this.next();
      if (this.isKw('first')) nulls = 'first';
      else if (this.isKw('last')) nulls = 'last';
      else throw this.unexpected();
      this.next();
    }
    return { field, direction, nulls };
  }

  /** term (AND term)* | term (OR term)* — mixing needs parentheses. */
  private condition(): SoqlCondition {
    const first = this.unary();
    if (!this.isKw('and') && !this.isKw('or')) return first;
    const op = this.tok.text.toLowerCase() as 'and' | 'or';
    const items = [first];
    while (this.isKw(op)) {
      this.next();
      items.push(this.unary());
    }
    if (this.isKw(op === 'and' ? 'or' : 'and')) throw this.unexpected();
    return { kind: op, items };
  }

  private unary(): SoqlCondition {
    if (this.isKw('not')) {
      this.next();
      return { kind: 'not', item: this.unary() };
    }
    if (this.isPunct('(')) {
      this.next();
      const inner = this.condition();
      this.expectPunct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): SoqlCondition {
    const field = this.fieldRef();
    if (this.isKw('not') && this.isKw('in', this.peekAt(1))) {
      this.next();
      this.next();
      return { kind: 'in', field, negated: true, values: this.valueList() };
    }
    if (this.isKw('in')) {
      this.next();
      return { kind: 'in', field, negated: false, values: this.valueList() };
    }
    if (this.isKw('like')) {
      this.next();
      return { kind: 'cmp', field, op: 'like', value: this.value() };
    }
    if (this.tok.kind === 'op') {
      const text = this.next().text;
      const op = (text === '<>' ? '!=' : text) as ComparisonOp;
      return { kind: 'cmp', field, op, value: this.value() };
    }
    throw this.unexpected();
  }

  private valueList(): SoqlValue[] {
    this.expectPunct('(');
    const values = [this.value()];
    while (this.isPunct(',')) {
      this.next();
      values.push(this.value());
    }
    this.expectPunct(')');
    return values;
  }

  private value(): SoqlValue {
    const t = this.tok;
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'string', value: t.value!, raw: t.raw!, pos: t.pos };
      case 'number':
        this.next();
        return { kind: 'number', value: Number(t.text), pos: t.pos };
      case 'datetime': {
        const ms = Date.parse(t.text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
        if (Number.isNaN(ms)) throw this.unexpected();
        this.next();
        return { kind: 'datetime', value: ms, text: t.text, pos: t.pos };
      }
      case 'date':
        this.next();
        return { kind: 'date', text: t.text, pos: t.pos };
      case 'ident': {
        const word = t.text.toLowerCase();
        if (word === 'true' || word === 'false') {
          this.next();
          return { kind: 'boolean', value: word === 'true', pos: t.pos };
        }
        if (word === 'null') {
          this.next();
          return { kind: 'null', pos: t.pos };
        }
        throw this.unexpected();
      }
      default:
        throw this.unexpected();
    }
  }
}

export function parseSoql(source: string): SoqlQuery {
  if (source.trim() === '') throw new SoqlError('MALFORMED_QUERY', 'A query string has to be specified');
  return new Parser(source, tokenize(source)).parse();
}
