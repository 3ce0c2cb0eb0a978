/**
 * The editor schema accepts what we tell people to write. Editors (yaml-language-server) check
 * the file as written, before `${env:…}` is resolved, so every bundled example, the README's
 * connector and the `init` starter are validated raw, with a standard draft 2020-12 validator.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import schema from '../../schemas/connector.schema.json';
import { STARTER_CONNECTOR } from '../../src/cli/init';
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';

const root = path.join(__dirname, '../..');
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

function errorsOf(text: string): string[] {
  return validate(YAML.parse(text)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const configDir = path.join(root, 'config');
const examples = fs
  .readdirSync(configDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('there are bundled examples to check', () => {
  expect(examples.length).toBeGreaterThanOrEqual(4);
});

test.each(examples)('config/%s validates raw against the schema', (file) => {
  expect(errorsOf(fs.readFileSync(path.join(configDir, file), 'utf8'))).toEqual([]);
});

test('the init starter connector validates raw against the schema', () => {
  expect(errorsOf(STARTER_CONNECTOR)).toEqual([]);
});

test("the README's example connector validates raw against the schema", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)![1];
  expect(errorsOf(yaml)).toEqual([]);
});

const base = 'id: t\nauth: { type: none }\nendpoints: {}\nbase_url: ';
describe('URL fields: an http(s) URL or an ${env:…} reference, nothing else', () => {
  test.each([
    ['https://crm.example.com', true],
    ['http://127.0.0.1:4010', true],
    ['${env:CRM_URL}', true],
    ['${env:CRM_URL}/api/v2', true],
    ['${env:CRM_URL:-https://crm.example.com}', true],
    ['${env:CRM_URL:-http://127.0.0.1:4010}/api?x=1', true],
    ['crm.example.com', false],
    ['ftp://crm.example.com', false],
    ['${env:CRM_URL:-crm.example.com}', false],
    ['${env:CRM URL}', false],
    ['${env:CRM_URL}.example.com', false],
    ['${CRM_URL}', false],
    ['$env:CRM_URL', false],
  ])('base_url %s → accepted: %s', (value, ok) => {
    const errors = errorsOf(`${base}${JSON.stringify(value)}\n`).filter((e) => e.startsWith('/base_url'));
    expect(errors.length === 0).toBe(ok);
  });

  test.each([
    ['US', true],
    ['${env:REGION}', true],
    ['${env:REGION:-GB}', true],
    ['us', false],
    ['${env:REGION:-usa}', false],
  ])('phone.default_region %s → accepted: %s', (value, ok) => {
    const errors = errorsOf(`id: t\nbase_url: https://x.example\nphone: { default_region: ${JSON.stringify(value)} }\n`).filter((e) => e.startsWith('/phone'));
    expect(errors.length === 0).toBe(ok);
  });
});

test('validate explains a bad URL in words, not as a regular expression', () => {
  const yaml = fs.readFileSync(path.join(configDir, 'zendesk.yaml'), 'utf8').replace(/^base_url: .*$/m, 'base_url: crm.example.com');
  const messages = compileConnector(yaml, 'zendesk.yaml', {}).issues.map(formatIssue);
  expect(messages).toContainEqual(expect.stringMatching(/zendesk\.yaml:\d+:\d+ base_url: must be an http:\/\/ or https:\/\/ URL/));
  expect(messages.join('\n')).not.toContain('^(https?');
});
