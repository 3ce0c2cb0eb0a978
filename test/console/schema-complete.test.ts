/** The console editor's schema completion core: cursor context by indentation, and what the connector schema allows there. */
import schema from '../../schemas/connector.schema.json';
import { contextAt, optionsAt, type Json } from '../../console/src/schema-complete';

const root = schema as unknown as { [key: string]: Json };
/** The text with "|" marking the cursor. */
function at(marked: string) {
  const pos = marked.indexOf('|');
  return contextAt(marked.replace('|', ''), pos);
}
const labels = (marked: string) => optionsAt(root, at(marked)!).map((o) => o.label);

test.each([
  ['top level key', 'id: x\nba|', { kind: 'key', path: [], word: 'ba' }],
  ['nested key', 'auth:\n  type: basic\n  us|', { kind: 'key', path: ['auth'], word: 'us' }],
  ['value', 'phone:\n  format: au|', { kind: 'value', path: ['phone'], key: 'format', word: 'au' }],
  [
    'deep key in a list item',
    'endpoints:\n  find_account:\n    search:\n      - name: a\n        pa|',
    { kind: 'key', path: ['endpoints', 'find_account', 'search', '[]'] },
  ],
  [
    'key right after a dash',
    'endpoints:\n  find_account:\n    search:\n      - |',
    { kind: 'key', path: ['endpoints', 'find_account', 'search', '[]'], word: '' },
  ],
  ['blank lines and comments are skipped', 'auth:\n\n  # who\n  |', { kind: 'key', path: ['auth'] }],
])('context: %s', (_name, marked, expected) => {
  expect(at(marked)).toMatchObject(expected);
});

test.each([
  ['inside a comment', 'id: x # co|'],
  ['inside a flow list', 'allow_private_network: [12|'],
])('no context %s', (_name, marked) => {
  expect(at(marked)).toBeUndefined();
});

test('top-level keys come from the schema, with descriptions and required marks', () => {
  const options = optionsAt(root, at('|')!);
  expect(options.map((o) => o.label)).toEqual(expect.arrayContaining(['id', 'base_url', 'auth', 'endpoints', 'retry']));
  expect(options.find((o) => o.label === 'auth')!.detail).toMatch(/required/);
  expect(options.find((o) => o.label === 'id')!.info).toMatch(/Connector id/);
  expect(options.map((o) => o.label)).not.toContain('$schema');
});

test('auth keys follow $ref and the if/then branches of every auth type', () => {
  expect(labels('auth:\n  |')).toEqual(expect.arrayContaining(['type', 'username', 'password']));
});

test('enum values and booleans are offered as values', () => {
  expect(labels('auth:\n  type: |')).toEqual(['basic', 'headers', 'oauth2', 'none']);
  expect(labels('phone:\n  format: |')).toContain('automatic');
  expect(labels('settings:\n  reuse_records: |')).toEqual(['true', 'false']);
});

test('endpoint names under endpoints, endpoint keys under one of them', () => {
  expect(labels('endpoints:\n  |')).toEqual(expect.arrayContaining(['find_account', 'create_record']));
  expect(labels('endpoints:\n  create_account:\n    |')).toEqual(expect.arrayContaining(['method', 'url', 'id_location']));
});

test('an unknown key has no options (and does not throw)', () => {
  expect(labels('nonsense:\n  |')).toEqual([]);
});
