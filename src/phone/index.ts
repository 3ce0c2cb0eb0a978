export { PHONE_FORMATS, formatPhone, isPhoneFormat } from './phoneFormat';
export type { PhoneFormat, PhonePurpose, PhoneResult } from './phoneFormat';
export type { CountryCode } from 'libphonenumber-js/max';
export { FOREIGN_NUMBER_MODES, formatForConnector } from './forConnector';
export type { ForeignNumbers, PhoneSettings } from './forConnector';
