/** One connector's phone rule: formatted once from the raw value; never a different number. */
import { formatForConnector, formatPhone, type PhoneSettings } from '../../src/phone';

const UK = '+44 20 7946 0958';
const salesforce: PhoneSettings = { format: 'us_local_standard', defaultRegion: 'US' };
const usLocal: PhoneSettings = { format: 'us_local', defaultRegion: 'US' };

test.each<[string, PhoneSettings, 'write' | 'search', string | RegExp]>([
  ['US number, us_local_standard', salesforce, 'write', '(222) 333-4444'],
  ['US number, us_local', usLocal, 'search', '2223334444'],
  ['UK number, us_local_standard, default', salesforce, 'write', /is a \+44 number; phone.format us_local_standard writes national numbers of US \(\+1\) only/],
  ['UK number, us_local, default', usLocal, 'write', /is a \+44 number/],
  ['UK number, us_local, search', usLocal, 'search', /is a \+44 number/],
  ['UK number, us_local_standard, foreign_numbers e164', { ...salesforce, foreignNumbers: 'e164' }, 'write', '+442079460958'],
  ['UK number, us_local, foreign_numbers international', { ...usLocal, foreignNumbers: 'international' }, 'write', '+44 20 7946 0958'],
  ['UK number, us_local_standard, home GB', { format: 'us_local_standard', defaultRegion: 'GB' }, 'write', '020 7946 0958'],
  ['UK number, automatic (international) is unaffected', { format: 'automatic', defaultRegion: 'US' }, 'write', '+44 20 7946 0958'],
  ['UK number, e164', { format: 'e164' }, 'write', '+442079460958'],
  ['Canadian number is NANP: national is fine', usLocal, 'write', '4165550123'],
  ['no region: national formats mean +1', { format: 'us_local' }, 'write', /is a \+44 number; phone.format us_local writes national numbers of \+1 only/],
])('%s', (_name, settings, purpose, expected) => {
  const input = _name.startsWith('US') ? '+1 222 333 4444' : _name.startsWith('Canadian') ? '+1 416 555 0123' : UK;
  const r = formatForConnector(input, settings, purpose);
  if (typeof expected === 'string') expect(r).toMatchObject({ ok: true, value: expected });
  else expect(r.ok ? r.value : r.reason).toMatch(expected);
});

test('the bug this rule replaces: a formatted number parsed again becomes another number or an error', () => {
  // Formatting twice: us_local of a UK number, read again as a US number, is a different number.
  const once = formatPhone(UK, 'us_local', 'write', 'US');
  expect(once).toMatchObject({ ok: true, value: '2079460958' });
  expect(formatPhone('2079460958', 'e164', 'write', 'US')).toMatchObject({ ok: true, e164: '+12079460958' });
  // …and the national format of a UK number is refused when parsed again as US.
  expect(formatPhone(formatPhone(UK, 'us_local_standard', 'write', 'US').ok ? '020 7946 0958' : '', 'us_local_standard', 'write', 'US').ok).toBe(false);
  // The connector rule formats the raw value once, and refuses what it cannot express.
  expect(formatForConnector(UK, usLocal, 'write').ok).toBe(false);
});
