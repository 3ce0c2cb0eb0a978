/**
 * QA's view: every bundled connector passes its contract against its sample CRM, and a
 * deliberately broken copy fails with a message that points at the YAML line to fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { SAMPLE_CRM_FLAVORS } from '../../src/sample-crm';
import { ROOT } from '../helpers/harness';

jest.setTimeout(60_000);

async function contract(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  const code = await main(
    ['contract-test', ...args],
    {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        out += s;
      },
    },
    env,
  );
  return { code, out };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function brokenCopy(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const flavours = SAMPLE_CRM_FLAVORS.filter((f) => fs.existsSync(path.join(ROOT, 'config', `${f}.yaml`)));

test.each(flavours)('config/%s.yaml passes its contract against the sample CRM', async (flavour) => {
  const junitFile = path.join(dir, `${flavour}.xml`);
  const r = await contract([path.join(ROOT, 'config', `${flavour}.yaml`), '--sample', flavour, '--junit', junitFile]);
  expect(r.out).toMatch(/ 0 failed\n/);
  expect(r.code).toBe(0);
  const xml = fs.readFileSync(junitFile, 'utf8');
  expect(xml).toMatch(/<testsuite name="contract\.[a-z]+" tests="\d+" failures="0"/);
  // Every operation the connector configures was exercised.
  for (const op of ['find_account', 'create_account', 'create_record', 'add_comment']) expect(r.out).toContain(`PASS  ${op}`);
});

describe('broken copies of config/zendesk.yaml fail where the YAML is wrong', () => {
  const original = fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8');
  const lineOf = (needle: string) => original.slice(0, original.indexOf(needle)).split('\n').length;

  test('wrong response location', async () => {
    const file = brokenCopy(
      'zd-location.yaml',
      original.replace('    response_data_location: user\n\n  # Open', '    response_data_location: person\n\n  # Open'),
    );
    const r = await contract([file, '--sample', 'zendesk']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /FAIL {2}create_account[^\n]*\n\s+create_account: response_data_location "person" not found in the response \(failed at "person"; keys there: user\)\. Fix endpoints\.create_account\.response_data_location near line \d+/,
    );
  });

  test('wrong auth', async () => {
    const r = await contract([path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'zendesk'], { ZENDESK_TOKEN: 'not-the-token' });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the CRM refused the credentials (HTTP 401): check auth: at ${path.join(ROOT, 'config/zendesk.yaml')}:${lineOf('auth:\n')}`);
    expect(r.out).not.toContain('not-the-token');
  });

  test('wrong search syntax', async () => {
    const file = brokenCopy('zd-search.yaml', original.replace('type:user phone:{PHONE_NUMBER}', 'type:user name:{PHONE_NUMBER}'));
    const r = await contract([file, '--sample', 'zendesk']);
    expect(r.code).toBe(1);
    // find_account has fallback searches: the broken one (by phone) fails on its own.
    expect(r.out).toMatch(
      new RegExp(
        `FAIL  find_account: finds the caller just created \\(search phone\\)\\n\\s+expected ACCOUNT_ID \\d+ from search phone, got not_found: the search syntax or the phone format does not match what create_account stored; check endpoints\\.find_account\\.searches\\[0\\] and phone\\.format \\(endpoints\\.find_account at ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+\\)`,
      ),
    );
  });
});

describe('--openapi: rendered requests are checked against the CRM API description', () => {
  const spec = path.join(ROOT, 'test/fixtures/zendesk-openapi.yaml');

  test('the bundled connector matches', async () => {
    const r = await contract([path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'zendesk', '--openapi', spec]);
    expect(r.out).toMatch(/PASS {2}openapi: create_account matches the CRM's API description/);
    expect(r.code).toBe(0);
  });

  test('a field the API does not have is reported with the operation and line', async () => {
    const original = fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8');
    const file = brokenCopy(
      'zd-openapi.yaml',
      original.replace('      external_id: "{SDK_IDENTIFIER}"\n', '      external_id: "{SDK_IDENTIFIER}"\n      nickname: "{NAME}"\n'),
    );
    const r = await contract([file, '--sample', 'zendesk', '--openapi', spec]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /FAIL {2}openapi: create_account matches the CRM's API description\n\s+body\.user must NOT have additional properties "nickname" \(POST \/api\/v2\/users\.json\) \(endpoints\.create_account at .*zd-openapi\.yaml:\d+\)/,
    );
  });
});

test('usage errors', async () => {
  expect((await contract([])).code).toBe(2);
  expect((await contract([path.join(ROOT, 'config/zendesk.yaml'), '--sample', 'nope'])).code).toBe(2);
});

describe.each(flavours)('broken copies of config/%s.yaml point at the line to fix', (flavour) => {
  const { parseDocument } = require('yaml') as typeof import('yaml');
  const original = fs.readFileSync(path.join(ROOT, 'config', `${flavour}.yaml`), 'utf8');
  const mutate = (name: string, edit: (doc: ReturnType<typeof parseDocument>) => void) => {
    const doc = parseDocument(original);
    edit(doc);
    return brokenCopy(`${flavour}-${name}.yaml`, doc.toString());
  };
  const lineIn = (file: string, re: RegExp) => {
    const t = fs.readFileSync(file, 'utf8');
    const m = re.exec(t)!;
    return t.slice(0, m.index).split('\n').length;
  };

  test('wrong response location', async () => {
    const file = mutate('location', (doc) => doc.setIn(['endpoints', 'create_account', 'response_data_location'], 'nope.nothing'));
    const r = await contract([file, '--sample', flavour]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /create_account: response_data_location "nope\.nothing" not found in the response \(failed at "nope"; keys there: [^)]*\)\. Fix endpoints\.create_account\.response_data_location near line \d+/,
    );
    const line = Number(/create_account\.response_data_location near line (\d+)/.exec(r.out)![1]);
    // The setting's own line (not the endpoint's first): the line to change.
    expect(line).toBe(lineIn(file, /^ {4}response_data_location: nope\.nothing$/m));
  });

  test('wrong auth', async () => {
    const file = mutate('auth', (doc) => {
      const auth = doc.get('auth') as { get(k: string): unknown };
      const type = auth.get('type');
      if (type === 'basic') doc.setIn(['auth', 'password'], 'wrong-password');
      else if (type === 'headers') {
        const headers = doc.getIn(['auth', 'headers']) as { items: Array<{ key: { value: string } }> };
        doc.setIn(['auth', 'headers', headers.items[0].key.value], 'Bearer wrong-token');
      } else doc.setIn(['auth', 'client_secret'], 'wrong-secret');
    });
    const r = await contract([file, '--sample', flavour]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`check auth: at ${file}:${lineIn(file, /^auth:/m)}`);
    expect(r.out).not.toMatch(/wrong-(password|token|secret)/);
  });

  test('wrong search syntax', async () => {
    const file = mutate('search', (doc) => {
      const find = (doc.toJS() as any).endpoints.find_account;
      const broken = (params: unknown) =>
        doc.createNode(
          JSON.parse(
            JSON.stringify(params ?? {})
              .replace(/hone/g, 'hxne')
              .replace(/mail/g, 'mxil'),
          ),
        );
      doc.setIn(['endpoints', 'find_account', 'params'], broken(find.params));
      // Fallback searches carry their own params.
      (find.searches ?? []).forEach((s: { params?: unknown }, i: number) =>
        doc.setIn(['endpoints', 'find_account', 'searches', i, 'params'], broken(s.params)),
      );
    });
    const r = await contract([file, '--sample', flavour]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      new RegExp(
        `FAIL  find_account: finds the caller just created( \\(search \\w+\\))?\\n[^\\n]*\\(endpoints\\.find_account at ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${lineIn(file, /^ {2}find_account:/m) + 1}\\)`,
      ),
    );
  });
});

test('a CRM that ignores the search filter still fails the contract, even though the find guard keeps the runtime safe', async () => {
  const { startSampleCrm } = await import('../../src/sample-crm');
  const { runContract } = await import('../../src/contract/runner');
  const sample = await startSampleCrm({ flavor: 'zendesk', port: 0 });
  try {
    sample.crm.seedUser({ name: 'Someone Else', phone: '+1 555 010 0099', email: 'else@example.com' });
    sample.crm.injectFault({ method: 'GET', path: '/api/v2/search', ignoreFilter: true, always: true });
    const report = await runContract({ file: path.join(ROOT, 'config/zendesk.yaml'), env: { ZENDESK_URL: sample.url }, sample: sample.crm });
    const first = report.results.find((r) => r.name === 'find_account: no match for a caller the CRM has never seen')!;
    expect(first).toMatchObject({ outcome: 'fail' });
    expect(first.message).toMatch(
      /the CRM returned \d+ result\(s\) that are not the caller .*the find guard \(match:\) dropped them, but check endpoints\.find_account\.searches \(endpoints\.find_account at .*zendesk\.yaml:\d+\)/,
    );
    // The caller it creates is still found, by the search that should find it.
    expect(report.results.find((r) => r.name === 'find_account: finds the caller just created (search phone)')).toMatchObject({ outcome: 'pass' });
    expect(report.ok).toBe(false);
  } finally {
    await sample.close();
  }
});
