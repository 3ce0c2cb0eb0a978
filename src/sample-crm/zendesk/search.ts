import { digitsOnly, globToRegExp, phoneMatches, textMatches, type FieldTerm, type SearchTerm } from './search-query';
import { TICKET_PRIORITIES, TICKET_STATUSES, type ZendeskState, type ZendeskTicket, type ZendeskUser } from './types';

export type ResultType = 'user' | 'ticket';

export type SearchHit = { result_type: 'user'; record: ZendeskUser } | { result_type: 'ticket'; record: ZendeskTicket };

export const SORT_FIELDS = ['created_at', 'updated_at', 'priority', 'status', 'ticket_type'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SearchOptions {
  /** Restrict to these result types (the users/search endpoint passes ['user']). */
  only?: ResultType[];
  sortBy?: SortField;
  sortOrder?: 'asc' | 'desc';
}

/** "none" is Zendesk's way of asking for an empty field, e.g. assignee:none. */
function valueMatches(stored: string | null | undefined, pattern: string): boolean {
  if (pattern.toLowerCase() === 'none') return stored === null || stored === undefined || stored === '';
  return stored !== null && stored !== undefined && globToRegExp(pattern).test(stored);
}

function ordinalMatches(order: readonly string[], stored: string | null, term: FieldTerm): boolean {
  const value = term.value.toLowerCase();
  if (term.op === ':') return valueMatches(stored, value);
  const want = order.indexOf(value);
  const have = stored === null ? -1 : order.indexOf(stored);
  if (want < 0 || have < 0) return false;
  return compare(have, want, term.op);
}

/** Compares the stored timestamp cut to the value's precision: created>2024-01-01 means after that day. */
function dateMatches(stored: string, term: FieldTerm): boolean {
  const value = term.value;
  const head = stored.slice(0, value.length);
  if (term.op === ':') return head === value;
  return compare(head < value ? -1 : head > value ? 1 : 0, 0, term.op);
}

function compare(a: number, b: number, op: FieldTerm['op']): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case ':':
      return a === b;
  }
}

function looksLikePhone(word: string): boolean {
  return /\d/.test(word) && /^[\d\s()+.*-]+$/.test(word);
}

function idMatches(id: number | null, value: string): boolean {
  if (value.toLowerCase() === 'none') return id === null;
  return id !== null && String(id) === value;
}

export class ZendeskSearch {
  constructor(private readonly state: ZendeskState) {}

  run(terms: SearchTerm[], options: SearchOptions = {}): SearchHit[] {
    const types = this.allowedTypes(terms, options.only);
    const rest = terms.filter((t) => !(t.kind === 'field' && t.field === 'type'));
    const hits: SearchHit[] = [];
    if (types.has('user')) {
      for (const u of this.state.users) {
        if (rest.every((t) => this.userMatches(u, t) !== t.negated)) hits.push({ result_type: 'user', record: u });
      }
    }
    if (types.has('ticket')) {
      for (const tk of this.state.tickets) {
        if (rest.every((t) => this.ticketMatches(tk, t) !== t.negated)) hits.push({ result_type: 'ticket', record: tk });
      }
    }
    return this.sort(hits, options.sortBy ?? 'created_at', options.sortOrder ?? 'desc');
  }

  private allowedTypes(terms: SearchTerm[], only: ResultType[] | undefined): Set<ResultType> {
    let types = new Set<ResultType>(only ?? ['user', 'ticket']);
    for (const t of terms) {
      if (t.kind !== 'field' || t.field !== 'type') continue;
      const v = t.value.toLowerCase();
      // type:organization, type:group ... are valid Zendesk types we simply hold none of.
      types = new Set([...types].filter((x) => (x === v) !== t.negated));
    }
    return types;
  }

  private userMatches(u: ZendeskUser, term: SearchTerm): boolean {
    if (term.kind === 'text') {
      const w = term.value;
      return (
        textMatches(u.name, w) ||
        valueMatches(u.email, w) ||
        textMatches(u.email, w) ||
        (looksLikePhone(w) && phoneMatches(u.phone, w)) ||
        textMatches(u.phone, w) ||
        valueMatches(u.external_id, w) ||
        textMatches(u.notes, w) ||
        textMatches(u.details, w) ||
        u.tags.some((tag) => valueMatches(tag, w))
      );
    }
    const v = term.value;
    const colon = term.op === ':';
    switch (term.field) {
      case 'name':
        return colon && (valueMatches(u.name, v) || textMatches(u.name, v));
      case 'email':
        return colon && valueMatches(u.email, v);
      case 'phone':
        return colon && (v.toLowerCase() === 'none' ? !u.phone : phoneMatches(u.phone, v));
      case 'external_id':
        return colon && valueMatches(u.external_id, v);
      case 'role':
        return colon && valueMatches(u.role, v);
      case 'tags':
      case 'tag':
        return colon && u.tags.some((tag) => valueMatches(tag, v));
      case 'notes':
        return colon && textMatches(u.notes, v);
      case 'details':
        return colon && textMatches(u.details, v);
      case 'created':
      case 'created_at':
        return dateMatches(u.created_at, term);
      case 'updated':
      case 'updated_at':
        return dateMatches(u.updated_at, term);
      default:
        // Unknown or ticket-only keyword: Zendesk returns no match rather than an error.
        return false;
    }
  }

  private ticketMatches(t: ZendeskTicket, term: SearchTerm): boolean {
    if (term.kind === 'text') {
      const w = term.value;
      return (
        String(t.id) === w ||
        textMatches(t.subject, w) ||
        textMatches(t.description, w) ||
        this.state.comments.some((c) => c.ticket_id === t.id && textMatches(c.plain_body, w)) ||
        t.tags.some((tag) => valueMatches(tag, w)) ||
        valueMatches(t.external_id, w)
      );
    }
    const v = term.value;
    const colon = term.op === ':';
    switch (term.field) {
      case 'status':
        return ordinalMatches(TICKET_STATUSES, t.status, term);
      case 'priority':
        return ordinalMatches(TICKET_PRIORITIES, t.priority, term);
      case 'ticket_type':
        return colon && valueMatches(t.type, v);
      case 'subject':
        return colon && textMatches(t.subject, v);
      case 'description':
        return colon && textMatches(t.description, v);
      case 'comment':
        return colon && this.state.comments.some((c) => c.ticket_id === t.id && textMatches(c.plain_body, v));
      case 'requester_id':
        return colon && idMatches(t.requester_id, v);
      case 'requester':
        return colon && this.personMatches(t.requester_id, v);
      case 'assignee_id':
        return colon && idMatches(t.assignee_id, v);
      case 'assignee':
        return colon && (v.toLowerCase() === 'none' ? t.assignee_id === null : this.personMatches(t.assignee_id, v));
      case 'submitter':
        return colon && this.personMatches(t.submitter_id, v);
      case 'tags':
      case 'tag':
        return colon && (v.toLowerCase() === 'none' ? t.tags.length === 0 : t.tags.some((tag) => valueMatches(tag, v)));
      case 'external_id':
        return colon && valueMatches(t.external_id, v);
      case 'via':
        return colon && valueMatches(t.via.channel, v);
      case 'created':
      case 'created_at':
        return dateMatches(t.created_at, term);
      case 'updated':
      case 'updated_at':
        return dateMatches(t.updated_at, term);
      default:
        return false;
    }
  }

  /** requester:/assignee: take an id, an email or a name, like Zendesk. */
  private personMatches(id: number | null, v: string): boolean {
    if (id === null) return false;
    if (/^\d+$/.test(v)) return String(id) === v;
    const user = this.state.users.find((u) => u.id === id);
    if (!user) return false;
    return valueMatches(user.email, v) || valueMatches(user.name, v) || (looksLikePhone(v) && digitsOnly(v) === digitsOnly(user.phone ?? ''));
  }

  /**
   * Zendesk's default order is relevance, which an emulator cannot reproduce meaningfully;
   * we default to created_at desc so results are deterministic. Ties fall back to id.
   */
  private sort(hits: SearchHit[], by: SortField, order: 'asc' | 'desc'): SearchHit[] {
    const key = (h: SearchHit): string | number => {
      switch (by) {
        case 'created_at':
          return h.record.created_at;
        case 'updated_at':
          return h.record.updated_at;
        case 'status':
          return h.result_type === 'ticket' ? TICKET_STATUSES.indexOf(h.record.status) : -1;
        case 'priority':
          return h.result_type === 'ticket' && h.record.priority ? TICKET_PRIORITIES.indexOf(h.record.priority) : -1;
        case 'ticket_type':
          return h.result_type === 'ticket' ? (h.record.type ?? '') : '';
      }
    };
    const sign = order === 'asc' ? 1 : -1;
    return [...hits].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return (ka < kb ? -1 : 1) * sign;
      if (a.record.created_at !== b.record.created_at) return (a.record.created_at < b.record.created_at ? -1 : 1) * sign;
      return (a.record.id - b.record.id) * sign;
    });
  }
}
