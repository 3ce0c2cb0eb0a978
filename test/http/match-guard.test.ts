import { guardMatches, isCaller, mostRecentOf, samePhone, sameValue, type GuardOptions, type MatchRule } from '../../src/http/match-guard';

const rule = (source: string, variable: string, kind: MatchRule['kind']): MatchRule => ({ path: source.split('.'), source, variable, kind });
const PHONE = rule('phone', 'PHONE_NUMBER', 'phone');
const EMAIL = rule('email', 'EMAIL', 'email');

describe('samePhone', () => {
  test.each<[string, string, string | undefined, boolean]>([
    ['+44 20 7946 0958', '020 7946 0958', undefined, true],
    ['+44 20 7946 0958', '020 7946 0958', 'US', true],
    ['+44 20 7946 0958', '020 7946 0958', 'GB', true],
    ['+442079460958', '0044 20 7946 0958', undefined, true],
    ['+1 222 333 4444', '(222) 333-4444', 'US', true],
    ['+1 222 333 4444', '2223334444', undefined, true],
    ['+1 222 333 4444', '+1.222.333.4444', undefined, true],
    ['+1 207 946 0958', '+44 20 7946 0958', undefined, false],
    ['+1 207 946 0958', '020 7946 0958', 'US', true], // national number with no country: same NSN
    ['+1 222 333 4444', '+1 222 333 4445', 'US', false],
    ['+1 222 333 4444 ext 12', '(222) 333-4444', 'US', true],
    ['222-333-4444 x7', '+12223334444', undefined, true],
    ['+298 123456', '0 123456', undefined, true],
    ['', '2223334444', 'US', false],
    ['no phone', 'no phone', 'US', false],
  ])('%s vs %s (region %s) → %s', (a, b, region, same) => {
    expect(samePhone(a, b, region)).toBe(same);
    expect(samePhone(b, a, region)).toBe(same);
  });
});

describe('sameValue', () => {
  test.each<[MatchRule['kind'], string, string, boolean]>([
    ['email', ' Kim@Example.COM ', 'kim@example.com', true],
    ['email', 'kim@example.com', 'kim@example.org', false],
    ['text', ' SDK-42', 'sdk-42', true],
    ['text', 'sdk-42', 'sdk-43', false],
    ['text', '1001', '1001', true],
  ])('%s: %s vs %s → %s', (kind, a, b, same) => expect(sameValue(kind, a, b)).toBe(same));
});

describe('isCaller', () => {
  const values = { PHONE_NUMBER: '+1 222 333 4444', EMAIL: 'kim@example.com' };
  test.each<[string, unknown, boolean]>([
    ['same phone', { phone: '+12223334444' }, true],
    ['same e-mail, other phone', { phone: '+15550000000', email: 'KIM@example.com' }, true],
    ['neither', { phone: '+15550000000', email: 'al@example.com' }, false],
    ['no fields at all', { id: 1 }, false],
    ['a list field holding the phone', { phone: ['+1 999 999 9999', '222-333-4444'] }, true],
    ['a numeric field', { phone: 2223334444 }, true],
  ])('%s', (_n, item, expected) => expect(isCaller(item, { rules: [PHONE, EMAIL], values, region: 'US' })).toBe(expected));

  test('rules whose variable is empty are not checked; with none left, every match stays', () => {
    expect(isCaller({ phone: '+15550000000' }, { rules: [PHONE, EMAIL], values: { EMAIL: 'kim@example.com', PHONE_NUMBER: '' } })).toBe(false);
    expect(isCaller({ phone: '+15550000000' }, { rules: [PHONE, EMAIL], values: {} })).toBe(true);
  });

  test('nested paths', () => {
    const r = rule('properties.email', 'EMAIL', 'email');
    expect(isCaller({ properties: { email: 'kim@example.com' } }, { rules: [r], values })).toBe(true);
  });
});

describe('guardMatches', () => {
  const base: GuardOptions = { rules: [PHONE], values: { PHONE_NUMBER: '2223334444' }, region: 'US', sortBy: ['created_at'] };
  const caller = { id: 1, phone: '+1 222 333 4444', created_at: '2026-01-01T00:00:00Z' };
  const stranger = (id: number, created?: string) => ({ id, phone: `+1 555 000 000${id}`, ...(created ? { created_at: created } : {}) });
  const twin = (id: number, created?: string) => ({ id, phone: '222.333.4444', ...(created ? { created_at: created } : {}) });

  test.each<[string, unknown[], Partial<GuardOptions>, object]>([
    ['no matches', [], {}, { kind: 'none', dropped: 0 }],
    ['only strangers → none', [stranger(2), stranger(3)], {}, { kind: 'none', dropped: 2 }],
    [
      'strangers dropped, caller kept (the CRM ignored the filter)',
      [stranger(2), caller, stranger(3)],
      {},
      { kind: 'one', item: caller, matches: 1, dropped: 2 },
    ],
    [
      'several with the sort field → the most recent',
      [twin(5, '2025-01-01T00:00:00Z'), caller, twin(6, '2024-01-01T00:00:00Z')],
      {},
      { kind: 'one', item: caller, matches: 3 },
    ],
    [
      'several without the sort field → ambiguous by default',
      [twin(5), twin(6)],
      {},
      { kind: 'ambiguous', matches: 2, why: expect.stringContaining('no sort field') },
    ],
    ['one of several lacks the sort field → ambiguous', [twin(5), caller], {}, { kind: 'ambiguous' }],
    [
      'a tie on the greatest sort value → ambiguous',
      [twin(5, '2026-01-01T00:00:00Z'), caller],
      {},
      { kind: 'ambiguous', why: expect.stringContaining('share') },
    ],
    ['explicit most_recent without the field → still ambiguous', [twin(5), twin(6)], { onSeveral: 'most_recent' }, { kind: 'ambiguous' }],
    ['first → the CRM order', [twin(5), twin(6)], { onSeveral: 'first' }, { kind: 'one', item: twin(5), matches: 2 }],
    [
      'fail → ambiguous even with the sort field',
      [twin(5, '2025-01-01T00:00:00Z'), caller],
      { onSeveral: 'fail' },
      { kind: 'ambiguous', why: 'on_several_matches is fail' },
    ],
    [
      'no rules: several matches are only ordered',
      [twin(5, '2025-01-01T00:00:00Z'), stranger(2, '2026-02-01T00:00:00Z')],
      { rules: [] },
      { kind: 'one', item: stranger(2, '2026-02-01T00:00:00Z'), matches: 2 },
    ],
  ])('%s', (_n, items, opts, expected) => {
    expect(guardMatches(items, { ...base, ...opts })).toMatchObject(expected);
  });
});

describe('mostRecentOf', () => {
  test('numbers and dates', () => {
    expect(mostRecentOf([{ t: 5 }, { t: 9 }, { t: '7' }], ['t'])).toEqual({ kind: 'one', item: { t: 9 } });
    expect(mostRecentOf([{ t: '2026-01-01' }, { t: 'not a date' }], ['t'])).toMatchObject({ kind: 'unordered' });
  });
});
