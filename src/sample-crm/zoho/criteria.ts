/**
 * Zoho's search criteria: `(field:operator:value)` conditions joined with `and` / `or`,
 * grouped with parentheses, e.g. `((Last_Name:starts_with:G)and(Email:equals:a@b.co))`.
 *
 * Accepted like Zoho: spaces around the joiners (`(A) or (B)`, which is what the gateway's
 * =CONCAT_OR writes), a missing outer pair of parentheses, joiners in any case, and `\` to
 * escape `(`, `)`, `,`, `:` and `\` inside a value. A value may not contain an unescaped
 * parenthesis, so `(Phone:equals:(222) 333-4444)` is a syntax error, as on the real API.
 * Precedence (Zoho leaves it to parentheses): `and` binds tighter than `or`.
 */

export const CRITERIA_OPERATORS = ['equals', 'not_equal', 'starts_with', 'in'] as const;
export type CriteriaOperator = (typeof CRITERIA_OPERATORS)[number];

export interface Condition {
  kind: 'condition';
  /** Field API name, e.g. "Phone" or "Contact_Name". */
  field: string;
  /** "id" / "name" for `Contact_Name.id:equals:…`. */
  subfield?: string;
  operator: CriteriaOperator;
  /** Unescaped; for `in`, the list. */
  values: string[];
}

export type Criteria = Condition | { kind: 'and' | 'or'; items: Criteria[] };

/** Becomes 400 INVALID_QUERY with these details. */
export class CriteriaError extends Error {
  constructor(
    readonly details: Record<string, unknown>,
    message = String(details.reason),
  ) {
    super(message);
  }
}

/** Splits on unescaped `sep` and resolves the escapes of each part. */
function splitUnescaped(raw: string, sep: string, limit = Infinity): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && i + 1 < raw.length) {
      current += ch + raw[i + 1];
      i++;
    } else if (ch === sep && parts.length < limit - 1) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

class Parser {
  private pos = 0;
  conditions = 0;

  constructor(private readonly text: string) {}

  parse(): Criteria {
    const result = this.expression();
    this.skipSpaces();
    if (this.pos < this.text.length) this.fail(`unexpected "${this.text.slice(this.pos, this.pos + 10)}"`);
    return result;
  }

  private fail(why: string): never {
    throw new CriteriaError({ reason: `invalid query formed: ${why}`, position: this.pos });
  }

  private skipSpaces(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  /** "and" / "or" at the current position (any case), or undefined. */
  private joiner(): 'and' | 'or' | undefined {
    this.skipSpaces();
    const m = /^(and|or)(?=\s*\()/i.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[1].length;
    return m[1].toLowerCase() as 'and' | 'or';
  }

  private expression(): Criteria {
    const ors: Criteria[] = [];
    let ands: Criteria[] = [this.primary()];
    for (;;) {
      const save = this.pos;
      const j = this.joiner();
      if (!j) {
        this.pos = save;
        break;
      }
      if (j === 'or') {
        ors.push(ands.length === 1 ? ands[0] : { kind: 'and', items: ands });
        ands = [];
      }
      ands.push(this.primary());
    }
    ors.push(ands.length === 1 ? ands[0] : { kind: 'and', items: ands });
    return ors.length === 1 ? ors[0] : { kind: 'or', items: ors };
  }

  private primary(): Criteria {
    this.skipSpaces();
    if (this.text[this.pos] !== '(') this.fail('expected "("');
    this.pos++;
    this.skipSpaces();
    if (this.text[this.pos] === '(') {
      const inner = this.expression();
      this.skipSpaces();
      if (this.text[this.pos] !== ')') this.fail('expected ")"');
      this.pos++;
      return inner;
    }
    // A condition: everything up to the first unescaped ")".
    let raw = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail('missing ")"');
      const ch = this.text[this.pos];
      if (ch === '\\' && this.pos + 1 < this.text.length) {
        raw += ch + this.text[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (ch === '(') this.fail('unescaped "(" in a value (escape it as \\()');
      this.pos++;
      if (ch === ')') break;
      raw += ch;
    }
    return this.condition(raw);
  }

  private condition(raw: string): Condition {
    this.conditions++;
    const parts = splitUnescaped(raw, ':', 3);
    if (parts.length < 3) this.fail(`"${raw}" is not field:operator:value`);
    const [fieldPart, operatorPart, valuePart] = parts;
    const [field, subfield] = unescape(fieldPart.trim()).split('.', 2);
    const operator = unescape(operatorPart.trim()).toLowerCase();
    if (!field) this.fail('a condition without a field');
    if (!(CRITERIA_OPERATORS as readonly string[]).includes(operator)) {
      throw new CriteriaError({ reason: 'invalid operator found', api_name: field, operator });
    }
    const values = operator === 'in' ? splitUnescaped(valuePart, ',').map((v) => unescape(v).trim()) : [unescape(valuePart)];
    return { kind: 'condition', field, ...(subfield ? { subfield } : {}), operator: operator as CriteriaOperator, values };
  }
}

/** Zoho allows at most 10 conditions in one criteria. */
export const MAX_CONDITIONS = 10;

export function parseCriteria(text: string): Criteria {
  if (text.trim() === '') throw new CriteriaError({ reason: 'invalid query formed: empty criteria' });
  const parser = new Parser(text);
  const criteria = parser.parse();
  if (parser.conditions > MAX_CONDITIONS) {
    throw new CriteriaError({ reason: `more than ${MAX_CONDITIONS} criteria`, limit: MAX_CONDITIONS });
  }
  return criteria;
}

/** Every condition, depth first (to validate the fields before evaluating). */
export function conditionsOf(c: Criteria): Condition[] {
  return c.kind === 'condition' ? [c] : c.items.flatMap(conditionsOf);
}

export function evaluate(c: Criteria, test: (cond: Condition) => boolean): boolean {
  if (c.kind === 'condition') return test(c);
  return c.kind === 'and' ? c.items.every((i) => evaluate(i, test)) : c.items.some((i) => evaluate(i, test));
}
