/**
 * A phone number as one connector sends it: formatted once, from the raw value the platform
 * gave, never from an already formatted string. Pure.
 *
 * The national formats (us_local, us_local_standard) drop the country code, so they can only
 * express numbers of the connector's home country: the default_region's calling code, or +1
 * (NANP) when no region is set. A number from elsewhere written that way would be read back
 * as another number ("+44 20 7946 0958" as "2079460958" is +1 207 946 0958), so it is either
 * refused with a clear reason (the default) or, where the connector allows it
 * (`phone.foreign_numbers`), sent in full as E.164 or in international format.
 */
import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { formatPhone, type PhoneFormat, type PhonePurpose, type PhoneResult } from './phoneFormat';

export const FOREIGN_NUMBER_MODES = ['error', 'e164', 'international'] as const;
export type ForeignNumbers = (typeof FOREIGN_NUMBER_MODES)[number];

export interface PhoneSettings {
  readonly format: PhoneFormat;
  readonly defaultRegion?: string;
  /** What a national format does with a number of another country; default error. */
  readonly foreignNumbers?: ForeignNumbers;
}

const NATIONAL_FORMATS: ReadonlySet<PhoneFormat> = new Set(['us_local', 'us_local_standard']);

export function formatForConnector(raw: string, p: PhoneSettings, purpose: PhonePurpose): PhoneResult {
  const region = p.defaultRegion as CountryCode | undefined;
  const r = formatPhone(raw, p.format, purpose, region);
  if (!r.ok || !NATIONAL_FORMATS.has(p.format)) return r;
  const home = region && isSupportedCountry(region) ? getCountryCallingCode(region) : '1';
  const code = parsePhoneNumberFromString(r.e164)?.countryCallingCode;
  if (code === home) return r;
  switch (p.foreignNumbers ?? 'error') {
    case 'e164':
      return { ...r, value: r.e164 };
    case 'international':
      return formatPhone(raw, 'international', purpose, region);
    default: {
      const where = region ? `${region} (+${home})` : `+${home}`;
      return {
        ok: false,
        reason: `${JSON.stringify(raw)} is a +${code} number; phone.format ${p.format} writes national numbers of ${where} only, so it would become a different number; set phone.foreign_numbers to e164 or international to send such numbers in full`,
      };
    }
  }
}
