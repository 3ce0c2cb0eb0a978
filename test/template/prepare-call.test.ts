/** prepareCall: the one place a call's variables are checked, derived, timed and phone-formatted. */
import { compileConnector } from '../../src/config/compile';
import { isGatewayError } from '../../src/errors';
import { prepareCall } from '../../src/operations/variables';

const yaml = (format: string, extra = '') => `auth: {type: none}
phone: {format: ${format}, default_region: US${extra}}
endpoints:
  find_account: {method: GET, url: "https://crm.test/f", params: {phone: "{PHONE_NUMBER}"}}
  create_account: {method: POST, url: "https://crm.test/c", params: {phone: "{PHONE_NUMBER}", at: "{NOW}", name: "{LAST_NAME}"}, required_variables: [PHONE_NUMBER]}
`;
const connector = (format: string, extra = '') => compileConnector(yaml(format, extra), 'x.yaml', {}).connector!;
const NOW = Date.parse('2026-01-02T03:04:05.000Z');

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

test.each<[string, string, 'find_account' | 'create_account', string]>([
  ['automatic', '+1 222 333 4444', 'create_account', '+1 222 333 4444'],
  ['automatic', '(222) 333-4444', 'find_account', '*222*333*4444'],
  ['us_local_standard', '+1 222 333 4444', 'create_account', '(222) 333-4444'],
  ['e164', '+44 20 7946 0958', 'create_account', '+442079460958'],
])('%s: %s for %s → %s', (format, raw, op, out) => {
  const c = connector(format);
  expect(prepareCall({ PHONE_NUMBER: raw }, c, c.endpoints.get(op)!, NOW).PHONE_NUMBER).toBe(out);
});

test('{NOW} and {NOW_MS} come from the injected clock, not the wall clock', () => {
  const c = connector('e164');
  const v = prepareCall({ PHONE_NUMBER: '+12223334444' }, c, c.endpoints.get('create_account')!, NOW);
  expect(v).toMatchObject({ NOW: '2026-01-02T03:04:05.000Z', NOW_MS: NOW, LAST_NAME: '--' });
});

test('unknown names, objects, missing required variables and numbers the format cannot express are clear errors', () => {
  const c = connector('us_local');
  const ep = c.endpoints.get('create_account')!;
  expect(errorOf(() => prepareCall({ PHONE_NUMBR: '1' }, c, ep, NOW))).toMatchObject({
    code: 'validation_failed',
    message: expect.stringContaining('did you mean PHONE_NUMBER'),
  });
  expect(errorOf(() => prepareCall({ NAME: { a: 1 } }, c, ep, NOW))).toMatchObject({ code: 'validation_failed' });
  expect(errorOf(() => prepareCall({}, c, ep, NOW))).toMatchObject({ code: 'missing_variable' });
  const e = errorOf(() => prepareCall({ PHONE_NUMBER: '+44 20 7946 0958' }, c, ep, NOW));
  expect(isGatewayError(e) && e.code).toBe('invalid_phone_number');
  expect((e as Error).message).toMatch(/^PHONE_NUMBER: "\+44 20 7946 0958" is a \+44 number/);
});

test('foreign_numbers: e164 sends a foreign number in full, for writes and searches alike', () => {
  const c = connector('us_local', ', foreign_numbers: e164');
  expect(prepareCall({ PHONE_NUMBER: '+44 20 7946 0958' }, c, c.endpoints.get('create_account')!, NOW).PHONE_NUMBER).toBe('+442079460958');
  expect(prepareCall({ PHONE_NUMBER: '+44 20 7946 0958' }, c, c.endpoints.get('find_account')!, NOW).PHONE_NUMBER).toBe('+442079460958');
});

test('an unknown foreign_numbers mode is a load error naming the line', () => {
  const r = compileConnector(yaml('us_local', ', foreign_numbers: drop'), 'x.yaml', {});
  expect(r.connector).toBeUndefined();
  expect(r.issues.find((i) => /foreign_numbers/.test(i.path))).toMatchObject({ file: 'x.yaml', line: 2 });
});
