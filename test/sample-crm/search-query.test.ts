import { globToRegExp, parseSearchQuery, phoneMatches, SearchQueryError, textMatches } from '../../src/sample-crm/zendesk/search-query';
import { createSampleCrm } from '../../src/sample-crm';
import { ZendeskSearch } from '../../src/sample-crm/zendesk/search';
import { T0 } from './helpers';

describe('parseSearchQuery', () => {
  it('splits field terms, operators, negation and free words', () => {
    expect(parseSearchQuery('type:user phone:*222*333*4444 status<solved -tags:vip hello')).toEqual([
      { kind: 'field', field: 'type', op: ':', value: 'user', quoted: false, negated: false },
      { kind: 'field', field: 'phone', op: ':', value: '*222*333*4444', quoted: false, negated: false },
      { kind: 'field', field: 'status', op: '<', value: 'solved', quoted: false, negated: false },
      { kind: 'field', field: 'tags', op: ':', value: 'vip', quoted: false, negated: true },
      { kind: 'text', value: 'hello', quoted: false, negated: false },
    ]);
  });

  it('handles quoted values and phrases, two-char operators and case of keywords', () => {
    expect(parseSearchQuery('Subject:"printer on fire" "Jane Doe" created>=2024-01-01 priority<=high')).toEqual([
      { kind: 'field', field: 'subject', op: ':', value: 'printer on fire', quoted: true, negated: false },
      { kind: 'text', value: 'Jane Doe', quoted: true, negated: false },
      { kind: 'field', field: 'created', op: '>=', value: '2024-01-01', quoted: false, negated: false },
      { kind: 'field', field: 'priority', op: '<=', value: 'high', quoted: false, negated: false },
    ]);
  });

  it('keeps emails, plus signs and a lone dash as values', () => {
    expect(parseSearchQuery('email:ann@example.com +12223334444 -')).toEqual([
      { kind: 'field', field: 'email', op: ':', value: 'ann@example.com', quoted: false, negated: false },
      { kind: 'text', value: '+12223334444', quoted: false, negated: false },
      { kind: 'text', value: '-', quoted: false, negated: false },
    ]);
  });

  it.each(['', '   ', 'status:', 'subject:"unterminated', '""'])('rejects %j', (q) => {
    expect(() => parseSearchQuery(q)).toThrow(SearchQueryError);
  });
});

describe('matchers', () => {
  it('globToRegExp is anchored, case-insensitive and escapes regex characters', () => {
    expect(globToRegExp('a*c').test('ABBC')).toBe(true);
    expect(globToRegExp('a.c').test('abc')).toBe(false);
    expect(globToRegExp('abc').test('xabc')).toBe(false);
  });

  it('phoneMatches compares digits only, * meaning any characters', () => {
    for (const stored of ['+1 222 333 4444', '+12223334444', '(222) 333-4444']) {
      expect(phoneMatches(stored, '*222*333*4444')).toBe(true);
    }
    expect(phoneMatches('+12223334444', '+1 (222) 333-4444')).toBe(true);
    expect(phoneMatches('+12223334444', '2223334444')).toBe(false);
    expect(phoneMatches('+12223334444', '*2223334444')).toBe(true);
    expect(phoneMatches('+12223334445', '*222*333*4444')).toBe(false);
    expect(phoneMatches(null, '*')).toBe(false);
  });

  it('textMatches works on whole words and phrases', () => {
    expect(textMatches('Printer on fire!', 'printer')).toBe(true);
    expect(textMatches('Printer on fire!', 'print')).toBe(false);
    expect(textMatches('Printer on fire!', 'print*')).toBe(true);
    expect(textMatches('Printer on fire!', 'on fire')).toBe(true);
    expect(textMatches('Printer on fire!', 'fire on')).toBe(false);
  });
});

describe('ZendeskSearch', () => {
  const crm = createSampleCrm({ clock: () => T0 });
  const ann = crm.seedUser({ name: 'Ann Smith', email: 'ann@example.com', phone: '+1 222 333 4444', createdAt: T0 - 3000 });
  const bob = crm.seedUser({ name: 'Bob Jones', email: 'bob@example.com', phone: '+12223334444', external_id: 'crm-7', createdAt: T0 - 2000 });
  crm.seedUser({ name: 'Cy', phone: '+44 20 7946 0000', createdAt: T0 - 1000 });
  const t1 = crm.seedTicket({ requester_id: ann.id, subject: 'Printer on fire', status: 'open', priority: 'high', tags: ['vip'], createdAt: T0 - 500 });
  const t2 = crm.seedTicket({ requester_id: ann.id, subject: 'Billing question', status: 'solved', createdAt: T0 - 400 });
  const t3 = crm.seedTicket({ requester_id: bob.id, subject: 'Printer jam', status: 'pending', createdAt: T0 - 300 });
  const search = new ZendeskSearch(crm.state);
  const ids = (q: string, sortOrder: 'asc' | 'desc' = 'asc') => search.run(parseSearchQuery(q), { sortOrder }).map((h) => h.record.id);

  it('finds users by phone wildcard whatever the stored format', () => {
    expect(ids('type:user phone:*222*333*4444')).toEqual([ann.id, bob.id]);
  });

  it('email, external_id and name', () => {
    expect(ids('type:user email:BOB@example.com')).toEqual([bob.id]);
    expect(ids('email:*@example.com')).toEqual([ann.id, bob.id]);
    expect(ids('external_id:crm-7')).toEqual([bob.id]);
    expect(ids('type:user "Ann Smith"')).toEqual([ann.id]);
  });

  it('tickets by requester, status order, subject and tags; terms are ANDed', () => {
    expect(ids(`type:ticket requester_id:${ann.id}`)).toEqual([t1.id, t2.id]);
    expect(ids(`requester:${bob.id}`)).toEqual([t3.id]);
    expect(ids('requester:ann@example.com')).toEqual([t1.id, t2.id]);
    expect(ids('status<solved')).toEqual([t1.id, t3.id]);
    expect(ids('status>=solved')).toEqual([t2.id]);
    expect(ids('status:open')).toEqual([t1.id]);
    expect(ids('subject:printer')).toEqual([t1.id, t3.id]);
    expect(ids('subject:printer -tags:vip')).toEqual([t3.id]);
    expect(ids('printer status:pending')).toEqual([t3.id]);
    expect(ids('priority>normal')).toEqual([t1.id]);
  });

  it('free words match users and tickets; unknown keywords match nothing', () => {
    expect(ids('printer')).toEqual([t1.id, t3.id]);
    expect(ids('bob')).toEqual([bob.id]);
    expect(ids('nosuchfield:x')).toEqual([]);
    expect(ids('type:organization')).toEqual([]);
  });

  it('sorts by created_at, newest first by default', () => {
    expect(search.run(parseSearchQuery('type:ticket')).map((h) => h.record.id)).toEqual([t3.id, t2.id, t1.id]);
  });

  it('date comparisons', () => {
    expect(ids('type:ticket created>=2024-05-01T09:59:59Z')).toEqual([t1.id, t2.id, t3.id]);
    expect(ids('type:ticket created<2024-05-01')).toEqual([]);
    expect(ids('type:user created:2024-05-01')).toEqual([ann.id, bob.id, expect.any(Number)]);
  });
});
