/** `validate` names the key that was probably meant, at every level the schema describes. */
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { knownKeys, connectorSchema } from '../../src/config/schema';
import { formatIssue } from '../../src/config/yaml-source';

const zendesk = fs.readFileSync(path.join(__dirname, '../../config/zendesk.yaml'), 'utf8');

function errorsAfter(from: string | RegExp, to: string): string[] {
  const text = zendesk.replace(from, to);
  expect(text).not.toBe(zendesk);
  return compileConnector(text, 'zendesk.yaml', {})
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);
}

test.each([
  ['top level', /^lookup_urls:/m, 'lookup_url:', 'lookup_url', 'lookup_urls'],
  ['top level (singular)', /^endpoints:/m, 'endpoint:', 'endpoint', 'endpoints'],
  ['top level (misspelt)', /^timeout_seconds:/m, 'timeout_second:', 'timeout_second', 'timeout_seconds'],
  ['endpoint', '    id_location: id\n    searches:', '    id_locaton: id\n    searches:', 'id_locaton', 'id_location'],
  ['endpoint search', '      - name: phone\n', '      - nmae: phone\n', 'nmae', 'name'],
  ['auth (basic)', '  username: ${env:ZENDESK_USER', '  usrname: ${env:ZENDESK_USER', 'usrname', 'username'],
  ['phone', '  default_region: US', '  default_regoin: US', 'default_regoin', 'default_region'],
  ['lookup_urls', '  custom_by_phone:', '  custom_by_phon:', 'custom_by_phon', 'custom_by_phone'],
  ['settings', '  reuse_records: true', '  reuse_record: true', 'reuse_record', 'reuse_records'],
  ['flows', '  update_record_on: [end]', '  update_records_on: [end]', 'update_records_on', 'update_record_on'],
  ['flows.record_reuse', '    status_location: status', '    status_locaton: status', 'status_locaton', 'status_location'],
  ['events', '  unidentified_after_seconds: 3600', '  unidentified_after_second: 3600', 'unidentified_after_second', 'unidentified_after_seconds'],
  [
    'flow_posts',
    '    session_id: engagementId\n    event: New_Call',
    '    session_ids: engagementId\n    session_id: engagementId\n    event: New_Call',
    'session_ids',
    'session_id',
  ],
])('%s', (_level, from, to, typo, meant) => {
  const errors = errorsAfter(from, to);
  expect(errors).toContainEqual(expect.stringContaining(`unknown property "${typo}" (did you mean "${meant}"?)`));
});

test("an unknown key in a fallback search is reported (it used to be dropped as a duplicate of the endpoint's issues)", () => {
  const errors = errorsAfter('      - name: phone\n', '      - name: phone\n        methd: GET\n');
  expect(errors).toEqual([
    expect.stringMatching(/zendesk\.yaml:\d+:\d+ endpoints\.find_account\.searches\[0\]\.methd: unknown property "methd" \(did you mean "method"\?\)$/),
  ]);
});

test('a key near nothing gets no guess', () => {
  const errors = errorsAfter('  reuse_records: true', '  reuse_records: true\n  colour_scheme: dark');
  expect(errors).toContainEqual(expect.stringMatching(/settings\.colour_scheme: unknown property "colour_scheme"$/));
});

test('a very long unknown key is reported without a guess (the distance is bounded)', () => {
  const long = 'x'.repeat(1000);
  const errors = errorsAfter('  reuse_records: true', `  reuse_records: true\n  ${long}: 1`);
  expect(errors).toContainEqual(expect.stringMatching(new RegExp(`unknown property "${long}"$`)));
});

test("the endpoint's known keys include those it brings in by reference", () => {
  const endpoint = (connectorSchema.$defs as Record<string, unknown>).endpoint;
  const keys = knownKeys(endpoint);
  for (const k of ['method', 'url', 'id_location', 'response_data_location', 'searches']) expect(keys).toContain(k);
});
