import { chooseRecord, type RecordFacts, type ReuseRules, type SessionFacts } from '../../src/flows/record-rules';

const RULES: ReuseRules = { enabled: true, openStatuses: ['new', 'open', 'pending', 'hold'], dontAddToOpenRecord: false, callbackWindowMs: 10_000 };
const NOW = Date.parse('2026-11-25T12:00:00Z');
const session = (over: Partial<SessionFacts> = {}): SessionFacts => ({
  channel: 'voice_call',
  queue: 'Billing',
  outbound: false,
  voicemail: false,
  now: NOW,
  ...over,
});
const rec = (id: number, status: string, over: Partial<RecordFacts> = {}): RecordFacts => ({
  id,
  status,
  queue: 'Billing',
  channel: 'voice_call',
  createdAt: NOW - id * 1000,
  ...over,
});

// The record-reuse rules' cases, one row each: [case, candidates, session, rules, expected action, expected id]
type Row = [string, RecordFacts[], Partial<SessionFacts>, Partial<ReuseRules>, 'create' | 'reuse', number?];
test.each<Row>([
  ['no record yet → new', [], {}, {}, 'create'],
  ['open record, same customer/queue/channel → reuse', [rec(1, 'open')], {}, {}, 'reuse', 1],
  ['status New, Pending and On-hold count as open', [rec(1, 'hold')], {}, {}, 'reuse', 1],
  ['solved is never linked', [rec(1, 'solved')], {}, {}, 'create'],
  ['closed is never linked', [rec(1, 'closed')], {}, {}, 'create'],
  ['other queue (menu selection) → new', [rec(1, 'open', { queue: 'Sales' })], {}, {}, 'create'],
  ['other channel → new', [rec(1, 'open', { channel: 'chat' })], {}, {}, 'create'],
  ['the most recent matching open record wins', [rec(3, 'open'), rec(1, 'pending'), rec(2, 'open')], {}, {}, 'reuse', 1],
  ['reuse off → new', [rec(1, 'open')], {}, { enabled: false }, 'create'],
  ["don't add to an existing open record → new", [rec(1, 'open')], {}, { dontAddToOpenRecord: true }, 'create'],
  ['voicemail always new', [rec(1, 'open')], { voicemail: true }, {}, 'create'],
  ['outbound: latest open → add to it (reopen)', [rec(1, 'pending', { queue: 'Other' })], { outbound: true }, {}, 'reuse', 1],
  ['outbound: latest not open → new', [rec(1, 'solved'), rec(2, 'open')], { outbound: true }, {}, 'create'],
  [
    'callback within 10 s → the open record, even from another queue',
    [rec(1, 'open', { queue: 'Sales' })],
    { previousSessionEndedAt: NOW - 8000 },
    {},
    'reuse',
    1,
  ],
  ['callback after 10 s → normal rules', [rec(1, 'open', { queue: 'Sales' })], { previousSessionEndedAt: NOW - 11_000 }, {}, 'create'],
  ['callback within 10 s still honours the open set', [rec(1, 'closed')], { previousSessionEndedAt: NOW - 2000 }, {}, 'create'],
  ['a record whose queue is unknown is not ruled out', [rec(1, 'open', { queue: undefined })], {}, {}, 'reuse', 1],
  ['status case does not matter', [rec(1, 'Open')], {}, {}, 'reuse', 1],
])('%s', (...[, candidates, s, r, action, id]: Row) => {
  const d = chooseRecord(candidates, session(s), { ...RULES, ...r });
  expect(d.action).toBe(action);
  if (id !== undefined) expect(d).toMatchObject({ id });
  expect(d.reason.length).toBeGreaterThan(5);
});

test('outbound reuse asks for the record to be set open', () => {
  expect(chooseRecord([rec(1, 'pending')], session({ outbound: true }), RULES)).toMatchObject({ action: 'reuse', reopen: true });
});

// settings.reopen_closed_within_days: [case, candidates, session, window in days, action, id, reopened?]
const DAY = 86_400_000;
const old = (id: number, status: string, days: number, over: Partial<RecordFacts> = {}) => rec(id, status, { createdAt: NOW - days * DAY, ...over });
type ReopenRow = [string, RecordFacts[], Partial<SessionFacts>, number, 'create' | 'reuse', number?];
test.each<ReopenRow>([
  ['0 days (off): a solved record from an hour ago is never linked', [rec(1, 'solved')], {}, 0, 'create'],
  ['7 days: a solved record from 2 days ago is reopened', [old(1, 'solved', 2)], {}, 7, 'reuse', 1],
  ['7 days: a closed record from 6.9 days ago is reopened', [old(1, 'closed', 6.9)], {}, 7, 'reuse', 1],
  ['7 days: a solved record from 8 days ago is not', [old(1, 'solved', 8)], {}, 7, 'create'],
  ['7 days: an open record still wins over a newer solved one', [old(1, 'solved', 1), old(2, 'open', 3)], {}, 7, 'reuse', 2],
  ['7 days: the most recent of several solved records', [old(1, 'solved', 5), old(2, 'solved', 1)], {}, 7, 'reuse', 2],
  ['7 days: another queue is not reopened', [old(1, 'solved', 1, { queue: 'Sales' })], {}, 7, 'create'],
  ['7 days: unknown creation time → not reopened', [rec(1, 'solved', { createdAt: undefined })], {}, 7, 'create'],
  ['7 days: voicemail still always new', [old(1, 'solved', 1)], { voicemail: true }, 7, 'create'],
  ['7 days: outbound, latest solved yesterday → reopened', [old(1, 'solved', 1, { queue: 'Other' })], { outbound: true }, 7, 'reuse', 1],
  ['7 days: outbound, latest solved 9 days ago → new', [old(1, 'solved', 9)], { outbound: true }, 7, 'create'],
])('%s', (...[, candidates, s, days, action, id]: ReopenRow) => {
  const d = chooseRecord(candidates, session(s), { ...RULES, reopenClosedWithinMs: days * DAY });
  expect(d.action).toBe(action);
  if (id !== undefined) expect(d).toMatchObject({ id });
  if (action === 'reuse' && candidates.find((c) => c.id === id)?.status !== 'open')
    expect(d).toMatchObject({ reopen: true, closed: true, reason: expect.stringContaining('reopen_closed_within_days') });
});

test("don't add to an existing open record also means no reopening", () => {
  expect(chooseRecord([old(1, 'solved', 1)], session(), { ...RULES, dontAddToOpenRecord: true, reopenClosedWithinMs: 7 * DAY }).action).toBe('create');
});
