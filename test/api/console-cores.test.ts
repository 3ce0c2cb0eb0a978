/**
 * The pure cores behind the console routes: restoring masked lines of a connector text, the
 * contract-test request and the sample flavour of a connector.
 */
import { unmaskText } from '../../src/api/config-edit';
import { sampleFlavorOf, startRequest } from '../../src/api/contract-runs';
import { isGatewayError } from '../../src/errors';

const RAW = ['id: zd', 'auth:', '  password: ${env:T:-s3cret-value}', '  username: agent', 'name: x'].join('\n');
const MASKED = RAW.replace('s3cret-value', '****');

describe('unmaskText: a line still masked as shown gets its value back; any other mask is refused', () => {
  test.each([
    ['no mask at all: as sent', 'id: zd\nname: y', 'id: zd\nname: y'],
    ['the masked line unchanged: restored', MASKED.replace('name: x', 'name: y'), RAW.replace('name: x', 'name: y')],
    [
      'the masked line moved elsewhere: restored',
      `${MASKED.split('\n').slice(0, 2).join('\n')}\nextra: 1\n${MASKED.split('\n').slice(2).join('\n')}`,
      `${RAW.split('\n').slice(0, 2).join('\n')}\nextra: 1\n${RAW.split('\n').slice(2).join('\n')}`,
    ],
    ['the masked line replaced by a placeholder: as sent', MASKED.replace('${env:T:-****}', '${env:T}'), RAW.replace('${env:T:-s3cret-value}', '${env:T}')],
  ])('%s', (_name, submitted, expected) => {
    expect(unmaskText(RAW, MASKED, submitted)).toBe(expected);
  });

  test.each([
    ['a mask on a line the file does not have', MASKED.replace('name: x', 'name: "****"'), 5],
    ['the masked line edited around the mask', MASKED.replace('${env:T:-****}', '${env:U:-****}'), 3],
  ])('%s: 422 naming the line', (_name, submitted, line) => {
    try {
      unmaskText(RAW, MASKED, submitted);
      throw new Error('not refused');
    } catch (e) {
      expect(isGatewayError(e) && e.code).toBe('validation_failed');
      expect((e as { extensions: { errors: unknown[] } }).extensions.errors).toEqual([expect.objectContaining({ field: 'yaml', line })]);
    }
  });

  test('a line that holds **** in the file itself is kept', () => {
    const raw = 'id: zd\nname: "****"';
    expect(unmaskText(raw, raw, 'id: zd\nname: "****"\n')).toBe('id: zd\nname: "****"\n');
  });

  test('one masked line standing for two different lines cannot be restored', () => {
    const raw = 'a: s3cret-one1\na: s3cret-two2';
    const masked = 'a: ****\na: ****';
    expect(() => unmaskText(raw, masked, masked)).toThrow(/masked secret/);
  });
});

describe('startRequest: the body of POST …/contract-tests', () => {
  test.each([
    [{ target: 'sample' }, { target: 'sample' }],
    [
      { target: 'sample', flavor: 'hubspot' },
      { target: 'sample', flavor: 'hubspot' },
    ],
    [{ target: 'config' }, { target: 'config' }],
    [
      { target: 'config', base_url: 'https://crm.example.com/api' },
      { target: 'config', baseUrl: 'https://crm.example.com/api' },
    ],
  ])('%j is accepted', (body, expected) => {
    expect(startRequest(body)).toEqual(expect.objectContaining(expected));
  });

  test.each([
    [undefined, 'target'],
    [[], '(body)'],
    [{ target: 'prod' }, 'target'],
    [{ target: 'sample', extra: 1 }, 'extra'],
    [{ target: 'sample', base_url: 'https://x.example' }, 'base_url'],
    [{ target: 'config', base_url: 'file:///etc/passwd' }, 'base_url'],
    [{ target: 'config', base_url: 'https://user:pw@x.example' }, 'base_url'],
    [{ target: 'config', base_url: `https://x.example/${'a'.repeat(2048)}` }, 'base_url'],
    [{ target: 'config', flavor: 'zendesk' }, 'flavor'],
    [{ target: 'sample', flavor: 'nope' }, 'flavor'],
  ])('%j is 422 naming %s', (body, field) => {
    try {
      startRequest(body);
      throw new Error('not refused');
    } catch (e) {
      expect(isGatewayError(e) && e.code).toBe('validation_failed');
      expect((e as { extensions: { errors: Array<{ field: string }> } }).extensions.errors[0].field).toBe(field);
    }
  });
});

test.each([
  ['zendesk', '/c/zendesk.yaml', 'zendesk'],
  ['crm-a', '/c/hubspot.yml', 'hubspot'],
  ['acme', '/c/acme.yaml', undefined],
])('sampleFlavorOf(%s, %s) = %s', (id, file, flavor) => {
  expect(sampleFlavorOf(id, file)).toBe(flavor);
});
