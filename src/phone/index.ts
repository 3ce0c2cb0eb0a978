export { PHONE_FORMATS, formatPhone, isPhoneFormat } from './phoneFormat';
export type { PhoneFormat, PhonePurpose, PhoneResult } from './phoneFormat';
export type { CountryCode } from 'libphonenumber-js/max';
