/**
 * Screen-pop links, rendered on demand: only lookup variables, phone numbers in the connector's
 * write format, non-empty query parameters only, and no URL at all when the path lacks a value.
 */
import { compileConnector } from '../../src/config/compile';
import { renderLinks } from '../../src/operations/links';

const c = compileConnector(
  `auth: {type: none}
base_url: https://crm.test
phone: {format: e164, default_region: US}
lookup_urls:
  account: https://crm.test/agent/users/{ACCOUNT_ID}
  record: https://crm.test/agent/tickets/{RECORD_ID}/view
  custom_by_phone: https://crm.test/search?type=user&q={CUSTOMER_PHONE_NUMBER}
  custom_by_identity: https://crm.test/search?q={EMAIL}&external_id={CUID}
endpoints:
  find_account: {method: GET, url: /u, params: {phone: "{PHONE_NUMBER}"}}
  create_account: {method: POST, url: /u, params: {phone: "{PHONE_NUMBER}"}}
`,
  'links.yaml',
  {},
).connector!;

test.each<[string, Record<string, unknown>, Record<string, string | null>]>([
  [
    'nothing known: only the fixed parts of the query survive',
    {},
    {
      account: null,
      record: null,
      custom_by_phone: 'https://crm.test/search?type=user',
      custom_by_identity: 'https://crm.test/search',
    },
  ],
  [
    'ids in the path, encoded',
    { ACCOUNT_ID: 'a/b', RECORD_ID: 7 },
    {
      account: 'https://crm.test/agent/users/a%2Fb',
      record: 'https://crm.test/agent/tickets/7/view',
      custom_by_phone: 'https://crm.test/search?type=user',
      custom_by_identity: 'https://crm.test/search',
    },
  ],
  [
    "the phone in the connector's format; an empty value is no parameter",
    { CUSTOMER_PHONE_NUMBER: '(222) 333-4444', EMAIL: '', CUID: 'c 1' },
    {
      account: null,
      record: null,
      custom_by_phone: 'https://crm.test/search?type=user&q=%2B12223334444',
      custom_by_identity: 'https://crm.test/search?external_id=c%201',
    },
  ],
  [
    'every identity parameter',
    { EMAIL: 'a+b@example.com', CUID: 'c1' },
    {
      account: null,
      record: null,
      custom_by_phone: 'https://crm.test/search?type=user',
      custom_by_identity: 'https://crm.test/search?q=a%2Bb%40example.com&external_id=c1',
    },
  ],
])('%s', (_what, input, want) => {
  expect(renderLinks(c, input)).toEqual(want);
});

test.each<[string, Record<string, unknown>, string]>([
  ['an unknown variable is refused, naming it and the known ones', { TICKET_SUBJECT: 'x' }, 'validation_failed'],
  ['a number that is no phone number is refused', { CUSTOMER_PHONE_NUMBER: 'call me' }, 'invalid_phone_number'],
])('%s', (_what, input, code) => {
  expect(() => renderLinks(c, input)).toThrow(expect.objectContaining({ code }));
});
