import { customUserIdFromEmail, deriveVariables, formatDuration, splitName } from '../../src/template/derived';

describe('splitName', () => {
  const rows: [string | undefined, ReturnType<typeof splitName>][] = [
    ['Ada Lovelace', { FIRST_NAME: 'Ada', LAST_NAME: 'Lovelace' }],
    ['  Ada   King  Lovelace ', { FIRST_NAME: 'Ada', LAST_NAME: 'King Lovelace' }],
    ['Ada\tKing\nLovelace', { FIRST_NAME: 'Ada', LAST_NAME: 'King Lovelace' }],
    ['Cher', { FIRST_NAME: 'Cher', LAST_NAME: '--' }],
    ['  Cher  ', { FIRST_NAME: 'Cher', LAST_NAME: '--' }],
    ['José María García', { FIRST_NAME: 'José', LAST_NAME: 'María García' }],
    ['', { LAST_NAME: '--' }],
    ['   ', { LAST_NAME: '--' }],
    [undefined, { LAST_NAME: '--' }],
  ];
  test.each(rows)('%j → %j', (name, expected) => {
    expect(splitName(name)).toStrictEqual(expected);
  });
});

describe('customUserIdFromEmail', () => {
  const rows: [string | undefined, string | undefined][] = [
    ['ada@example.com', 'ada'],
    ['  ada.lovelace@example.com ', 'ada.lovelace'],
    ['"odd@local"@example.com', '"odd@local"'], // left of the LAST @
    ['no-at-sign', undefined],
    ['@example.com', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  test.each(rows)('%j → %j', (email, expected) => {
    expect(customUserIdFromEmail(email)).toBe(expected);
  });
});

describe('formatDuration', () => {
  const rows: [number | string | undefined, string | undefined][] = [
    [0, '00:00'],
    [5, '00:05'],
    [65, '01:05'],
    [599, '09:59'],
    [3725, '62:05'],
    [6000, '100:00'],
    [65.4, '01:05'], // fractional seconds round to the nearest second
    [59.6, '01:00'],
    ['65', '01:05'],
    [' 3725 ', '62:05'],
    ['12.5', '00:13'],
    ['1:5', '01:05'], // mm:ss passes through normalised
    ['01:05', '01:05'],
    ['62:05', '62:05'],
    ['1:02:05', '62:05'], // h:mm:ss folds hours into minutes
    ['1:60', undefined],
    ['1:2:3:4', undefined],
    [-1, undefined],
    ['-5', undefined],
    [NaN, undefined],
    [Infinity, undefined],
    ['abc', undefined],
    ['', undefined],
    ['1e3', undefined],
    [undefined, undefined],
  ];
  test.each(rows)('%j → %j', (v, expected) => {
    expect(formatDuration(v)).toBe(expected);
  });
});

describe('deriveVariables', () => {
  const rows: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['splits NAME', { NAME: 'Ada Lovelace' }, { NAME: 'Ada Lovelace', FIRST_NAME: 'Ada', LAST_NAME: 'Lovelace' }],
    ['defaults LAST_NAME without NAME', {}, { LAST_NAME: '--' }],
    ['keeps explicit names', { NAME: 'Ada Lovelace', FIRST_NAME: 'A.', LAST_NAME: 'L.' }, { NAME: 'Ada Lovelace', FIRST_NAME: 'A.', LAST_NAME: 'L.' }],
    ['fills only the missing half', { NAME: 'Ada Lovelace', FIRST_NAME: 'Augusta' }, { NAME: 'Ada Lovelace', FIRST_NAME: 'Augusta', LAST_NAME: 'Lovelace' }],
    [
      'treats blank explicit names as absent',
      { NAME: 'Ada Lovelace', FIRST_NAME: ' ', LAST_NAME: null },
      { NAME: 'Ada Lovelace', FIRST_NAME: 'Ada', LAST_NAME: 'Lovelace' },
    ],
    ['ignores a non-string NAME', { NAME: 42 }, { NAME: 42, LAST_NAME: '--' }],
    ['derives CUSTOM_USER_ID', { EMAIL: 'ada@example.com' }, { EMAIL: 'ada@example.com', CUSTOM_USER_ID: 'ada', LAST_NAME: '--' }],
    ['keeps explicit CUSTOM_USER_ID', { EMAIL: 'ada@example.com', CUSTOM_USER_ID: 'u1' }, { EMAIL: 'ada@example.com', CUSTOM_USER_ID: 'u1', LAST_NAME: '--' }],
    ['no CUSTOM_USER_ID from a bad EMAIL', { EMAIL: 'nope' }, { EMAIL: 'nope', LAST_NAME: '--' }],
    [
      'converts durations',
      { CALL_DURATION: 3725, HOLD_TIME: '65', WAIT_TIME: '0' },
      { CALL_DURATION: '62:05', HOLD_TIME: '01:05', WAIT_TIME: '00:00', LAST_NAME: '--' },
    ],
    ['drops garbage durations', { CALL_DURATION: 'soon', HOLD_TIME: -3 }, { LAST_NAME: '--' }],
    ['leaves other variables alone', { CALL_ID: 'c1', PHONE: '+12223334444' }, { CALL_ID: 'c1', PHONE: '+12223334444', LAST_NAME: '--' }],
  ];
  test.each(rows)('%s', (_name, input, expected) => {
    const before = structuredClone(input);
    const out = deriveVariables(input);
    expect(out).toStrictEqual(expected);
    expect(out).not.toBe(input);
    expect(input).toStrictEqual(before); // never mutates its input
  });
});
