/**
 * events.identity paths (pure): parsing, reading, first usable value wins, and signed custom
 * data read only from its verified copy.
 */
import { parseIdentityPath, readIdentityPath, resolveIdentity, type IdentityRule } from '../../src/flows/identity';

const event = {
  call_id: 103646,
  end_user: { phone: '', email: 'ada@example.com' },
  custom_sip_headers: { 'X-Caller-Number': '+1 222 333 7101' },
  session_variable: { caller_phone: 12223337102 },
  va_data_parameters: JSON.stringify({ phone: '+1 222 333 7103' }),
  custom_data_not_secured: { phone: '+1 222 333 7104', nested: { ids: ['a', 'b'] } },
  custom_data_secured: 'eyJhbGciOi.unverified.token',
  participants: [
    { type: 'agent', agent_id: 1 },
    { type: 'end_user', end_user_id: 555 },
    { type: 'end_user', end_user_id: 556 },
  ],
  type: 'end_user',
  end_user_id: 777,
  flag: true,
};

describe('readIdentityPath', () => {
  test.each([
    ['custom_sip_headers.X-Caller-Number', '+1 222 333 7101'],
    ['session_variable.caller_phone', '12223337102'], // a number, as text
    ['va_data_parameters.phone', '+1 222 333 7103'], // a string holding JSON is read as an object
    ['custom_data_not_secured.phone', '+1 222 333 7104'],
    ['custom_data_not_secured.nested.ids[1]', 'b'],
    ['participants[type=end_user].end_user_id', '555'], // the first match
    ['participants[1].end_user_id', '555'],
    ['[type=end_user].end_user_id', '777'], // a flat Party_Added: the data itself matches
    ['[type=agent].end_user_id', undefined], // … or not
    ['end_user.phone', undefined], // empty text does not count
    ['end_user.email', 'ada@example.com'],
    ['end_user', undefined], // an object is not a value
    ['flag', undefined], // nor a boolean
    ['participants[type=customer].end_user_id', undefined],
    ['participants[9].end_user_id', undefined],
    ['call_id.x', undefined],
    ['missing.deeper.still', undefined],
    ['constructor.name', undefined], // own keys only, never the prototype's
    ['end_user.__proto__.constructor.name', undefined],
  ])('%s → %s', (path, expected) => {
    expect(readIdentityPath(parseIdentityPath(path), event)).toBe(expected);
  });

  test('custom_data_secured.* reads only the verified copy, never the event data', () => {
    const p = parseIdentityPath('custom_data_secured.phone');
    // Even when the unverified value is an object holding the field, it is not read.
    expect(readIdentityPath(p, { custom_data_secured: { phone: '+1 222 333 7199' } })).toBeUndefined();
    expect(readIdentityPath(p, { custom_data_secured: '{"phone":"+1 222 333 7199"}' })).toBeUndefined();
    expect(readIdentityPath(p, { custom_data_secured: { phone: '+1 222 333 7199' } }, { phone: '+1 222 333 7200' })).toBe('+1 222 333 7200');
  });
});

describe('parseIdentityPath refuses what it cannot read', () => {
  test.each([
    ['', /non-empty/],
    ['end_user..phone', /empty segment/],
    ['end_user.', /empty segment/],
    ['participants[type].id', /\[N\] or \[field=value\]/],
    ['participants[=x].id', /\[N\] or \[field=value\]/],
    ['a]b', /cannot read/],
    ['custom_data_secured', /name a field/],
  ])('%j', (path, message) => {
    expect(() => parseIdentityPath(path)).toThrow(message);
  });
});

describe('resolveIdentity', () => {
  const rules: IdentityRule[] = [
    {
      field: 'phone',
      variable: 'PHONE_NUMBER',
      paths: ['end_user.phone', 'custom_sip_headers.X-Caller-Number', 'session_variable.caller_phone'].map(parseIdentityPath),
    },
    { field: 'email', variable: 'EMAIL', paths: ['custom_data_secured.email', 'end_user.email'].map(parseIdentityPath) },
    { field: 'end_user_id', variable: 'UJET_ID', paths: ['participants[type=end_user].end_user_id'].map(parseIdentityPath) },
    { field: 'name', variable: 'NAME', paths: ['end_user.name'].map(parseIdentityPath) },
  ];

  test('paths in order, the first usable value wins; unmatched fields are absent', () => {
    expect(resolveIdentity(rules, event, undefined)).toEqual({
      vars: { PHONE_NUMBER: '+1 222 333 7101', EMAIL: 'ada@example.com', UJET_ID: '555' },
      from: { PHONE_NUMBER: 'custom_sip_headers.X-Caller-Number', EMAIL: 'end_user.email', UJET_ID: 'participants[type=end_user].end_user_id' },
    });
  });

  test('a verified signed value comes first when listed first', () => {
    expect(resolveIdentity(rules, event, { email: 'signed@example.com' }).vars.EMAIL).toBe('signed@example.com');
  });

  test('a value refused by accept (e.g. an unparseable phone) falls through to the next path', () => {
    const accept = (variable: string, v: string) => variable !== 'PHONE_NUMBER' || !v.startsWith('+1 222 333 7101');
    expect(resolveIdentity(rules, event, undefined, accept).vars.PHONE_NUMBER).toBe('12223337102');
  });

  test('an event with none of the fields yields nothing', () => {
    expect(resolveIdentity(rules, { agent_id: 1, call_id: 2 }, undefined)).toEqual({ vars: {}, from: {} });
  });
});
