import { formatPhone, isPhoneFormat, PHONE_FORMATS, type PhoneFormat, type PhonePurpose } from '../../src/phone';

type Row = [input: string, format: PhoneFormat, purpose: PhonePurpose, expected: string];

describe('formatPhone — the format table (+1 222 333 4444, area code 222 is not assigned)', () => {
  const rows: Row[] = [
    ['+1 222 333 4444', 'automatic', 'write', '+1 222 333 4444'],
    ['+1 222 333 4444', 'automatic', 'search', '*222*333*4444'],
    ['+1 222 333 4444', 'e164', 'write', '+12223334444'],
    ['+1 222 333 4444', 'e164', 'search', '+12223334444'],
    ['+1 222 333 4444', 'us_local', 'write', '2223334444'],
    ['+1 222 333 4444', 'us_local', 'search', '2223334444'],
    ['+1 222 333 4444', 'us_local_standard', 'write', '(222) 333-4444'],
    ['+1 222 333 4444', 'us_local_standard', 'search', '(222) 333-4444'],
    ['+1 222 333 4444', 'international', 'write', '+1 222 333 4444'],
    ['+1 222 333 4444', 'international', 'search', '+1 222 333 4444'],
  ];
  test.each(rows)('%s as %s/%s → %s', (input, format, purpose, expected) => {
    expect(formatPhone(input, format, purpose)).toEqual({ ok: true, value: expected, e164: '+12223334444', valid: false });
  });
});

describe('formatPhone — input styles for the same NANP number', () => {
  const inputs: [string, string | undefined][] = [
    ['(222) 333-4444', 'US'],
    ['222.333.4444', 'US'],
    ['222-333-4444', 'US'],
    ['1-222-333-4444', 'US'],
    ['+1.222.333.4444', undefined],
    ['  +1 (222) 333 4444  ', undefined],
    ['tel:+1-222-333-4444', undefined],
    ['+12223334444', 'GB'], // an explicit country code wins over the default region
  ];
  test.each(inputs)('%j (region %s)', (input, region) => {
    const r = formatPhone(input, 'e164', 'write', region as 'US' | 'GB' | undefined);
    expect(r).toMatchObject({ ok: true, value: '+12223334444', e164: '+12223334444' });
  });
});

describe('formatPhone — other countries', () => {
  // [input, e164, country, automatic/write, automatic/search, us_local, us_local_standard]
  const rows: [string, string, string, string, string, string, string][] = [
    ['+44 20 7946 0958', '+442079460958', 'GB', '+44 20 7946 0958', '*20*7946*0958', '2079460958', '020 7946 0958'],
    ['0044 20 7946 0958', '+442079460958', 'GB', '+44 20 7946 0958', '*20*7946*0958', '2079460958', '020 7946 0958'],
    ['+44 (0) 20 7946 0958', '+442079460958', 'GB', '+44 20 7946 0958', '*20*7946*0958', '2079460958', '020 7946 0958'],
    ['tel:+39 06 1234 5678', '+390612345678', 'IT', '+39 06 1234 5678', '*06*1234*5678', '0612345678', '06 1234 5678'],
    ['+49 30 123456', '+4930123456', 'DE', '+49 30 123456', '*30*123456', '30123456', '030 123456'],
    ['+81 3-1234-5678', '+81312345678', 'JP', '+81 3 1234 5678', '*3*1234*5678', '312345678', '03-1234-5678'],
    ['+33 1 23 45 67 89', '+33123456789', 'FR', '+33 1 23 45 67 89', '*1*23*45*67*89', '123456789', '01 23 45 67 89'],
    ['+61 2 9876 5432', '+61298765432', 'AU', '+61 2 9876 5432', '*2*9876*5432', '298765432', '(02) 9876 5432'],
    ['+55 11 91234-5678', '+5511912345678', 'BR', '+55 11 91234 5678', '*11*91234*5678', '11912345678', '(11) 91234-5678'],
    ['+91 98765 43210', '+919876543210', 'IN', '+91 98765 43210', '*98765*43210', '9876543210', '098765 43210'],
    ['+34.912.345.678', '+34912345678', 'ES', '+34 912 34 56 78', '*912*34*56*78', '912345678', '912 34 56 78'],
    ['+41 44 668 18 00', '+41446681800', 'CH', '+41 44 668 18 00', '*44*668*18*00', '446681800', '044 668 18 00'],
    ['+1 416 555 0199', '+14165550199', 'CA', '+1 416 555 0199', '*416*555*0199', '4165550199', '(416) 555-0199'],
  ];
  test.each(rows)('%s', (input, e164, country, autoWrite, autoSearch, local, localStd) => {
    const base = { ok: true, e164, country, valid: true };
    expect(formatPhone(input, 'automatic', 'write')).toEqual({ ...base, value: autoWrite });
    expect(formatPhone(input, 'international', 'search')).toEqual({ ...base, value: autoWrite });
    expect(formatPhone(input, 'automatic', 'search')).toEqual({ ...base, value: autoSearch });
    expect(formatPhone(input, 'e164', 'search')).toEqual({ ...base, value: e164 });
    expect(formatPhone(input, 'us_local', 'write')).toEqual({ ...base, value: local });
    expect(formatPhone(input, 'us_local_standard', 'write')).toEqual({ ...base, value: localStd });
  });
});

describe('formatPhone — default region', () => {
  const rows: [string, string | undefined, string][] = [
    ['0207 946 0958', 'GB', '+442079460958'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['06 1234 5678', 'IT', '+390612345678'],
    ['030 123456', 'DE', '+4930123456'],
    ['03-1234-5678', 'JP', '+81312345678'],
    ['011 44 20 7946 0958', 'US', '+442079460958'], // US international dialling prefix
    ['0044 20 7946 0958', 'US', '+442079460958'], // "00" is understood even where the IDD differs
    ['0011 44 20 7946 0958', 'AU', '+442079460958'],
  ];
  test.each(rows)('%j in %s → %s', (input, region, e164) => {
    expect(formatPhone(input, 'e164', 'write', region as never)).toMatchObject({ ok: true, value: e164 });
  });
});

describe('formatPhone — extensions', () => {
  const rows: [string, PhoneFormat, PhonePurpose, string][] = [
    ['+1 222 333 4444 ext. 12', 'automatic', 'write', '+1 222 333 4444 ext. 12'],
    ['+1 222 333 4444 ext. 12', 'international', 'write', '+1 222 333 4444 ext. 12'],
    ['222-333-4444 x 12', 'us_local_standard', 'write', '(222) 333-4444 ext. 12'],
    ['tel:+1-222-333-4444;ext=12', 'e164', 'write', '+12223334444'],
    ['+1 222 333 4444 extension 12', 'us_local', 'write', '2223334444'],
    ['+1 222 333 4444 ext. 12', 'automatic', 'search', '*222*333*4444'],
    ['+1 222 333 4444 ext. 12', 'international', 'search', '+1 222 333 4444'],
    ['+44 20 7946 0958 ext 123', 'international', 'write', '+44 20 7946 0958 ext. 123'],
  ];
  test.each(rows)('%j as %s/%s → %j', (input, format, purpose, expected) => {
    const r = formatPhone(input, format, purpose, 'US');
    expect(r).toMatchObject({ ok: true, value: expected });
    expect(r.ok && r.ext).toBe(input.match(/(\d+)$/)![1]);
  });
});

describe('formatPhone — failures quote the input', () => {
  const rows: [string, string | undefined, string][] = [
    ['', undefined, 'phone number is empty'],
    ['   ', 'US', 'phone number is empty'],
    ['abc', undefined, '"abc" is not a phone number'],
    ['abc', 'US', '"abc" is not a phone number'],
    ['12', undefined, '"12" is too short to be a phone number'],
    ['12', 'US', '"12" is too short to be a phone number'],
    ['555-1234', 'US', '"555-1234" is too short to be a phone number'],
    ['+1 800 FLOWERS', undefined, '"+1 800 FLOWERS" is too short to be a phone number'],
    ['+1 222 333 44445', undefined, '"+1 222 333 44445" is too long to be a phone number'],
    ['12345678901234567890', undefined, '"12345678901234567890" is too long to be a phone number'],
    ['0207 946 0958', undefined, '"0207 946 0958" has no country code and no default region is set'],
    ['+999 1234', undefined, '"+999 1234" has an unknown country calling code'],
    ['++1 222 333 4444', undefined, '"++1 222 333 4444" is not a phone number'],
    ['+1 222', 'XX', 'default region "XX" is not a supported country'],
  ];
  test.each(rows)('%j (region %s)', (input, region, reason) => {
    for (const format of PHONE_FORMATS) {
      expect(formatPhone(input, format, 'write', region as never)).toEqual({ ok: false, reason });
    }
  });

  it('copes with non-string input at runtime (YAML/JSON numbers) without throwing', () => {
    const loose = (x: unknown) => x as string;
    expect(formatPhone(loose(undefined), 'e164', 'write')).toEqual({ ok: false, reason: 'phone number is empty' });
    expect(formatPhone(loose(null), 'e164', 'write')).toEqual({ ok: false, reason: 'phone number is empty' });
    expect(formatPhone(loose({}), 'e164', 'write')).toEqual({ ok: false, reason: 'expected a phone number as text, got object' });
    expect(formatPhone(loose(12), 'e164', 'write')).toEqual({ ok: false, reason: '"12" is too short to be a phone number' });
    expect(formatPhone(loose(2223334444), 'e164', 'write', 'US')).toMatchObject({ ok: true, value: '+12223334444' });
  });

  it('truncates very long inputs in the reason', () => {
    const r = formatPhone('x'.repeat(500), 'e164', 'write');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason.length).toBeLessThan(120);
  });

  it('rejects an unknown format', () => {
    expect(formatPhone('+12223334444', 'nope' as PhoneFormat, 'write')).toEqual({ ok: false, reason: 'unknown phone format "nope"' });
  });
});

describe('isPhoneFormat', () => {
  test.each([...PHONE_FORMATS])('%s is a format', (f) => expect(isPhoneFormat(f)).toBe(true));
  test.each([['E164'], [''], [undefined], [1], ['toString']])('%j is not', (x) => expect(isPhoneFormat(x)).toBe(false));
});
