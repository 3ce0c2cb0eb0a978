/**
 * The README (and the texts shipped with the code) make sense to someone who has only this
 * repository: every curl to the gateway carries the API key, no text points at files that are
 * not here or at outside documents by number, and the default comment texts are listed where
 * people read them, exactly as the code has them.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { matchRoute } from '../../src/api/routes';
import { DEFAULT_FLOW_TEMPLATES } from '../../src/config/default-texts';

const ROOT = path.join(__dirname, '../..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const KEY_HEADER = '-H "Authorization: Bearer $KEY"';
const GATEWAY_PORT = '3000';

/** Code blocks of a language, dedented (blocks inside list items are indented). */
function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`^( *)\`\`\`${lang}\\n([\\s\\S]*?)^\\1\`\`\``, 'gm'))].map(([, indent, body]) =>
    body
      .split('\n')
      .map((l) => l.slice(indent.length))
      .join('\n'),
  );
}

/** Shell commands of the README's code blocks (whatever their language), continuation lines joined. */
function curlCommands(text: string): string[] {
  return codeBlocks(text, '[a-z]*')
    .flatMap((block) => block.replace(/\\\n/g, ' ').split('\n'))
    .map((l) => l.trim())
    .filter((l) => /^curl\s/.test(l));
}

/** Where a curl goes: the port it names (none: a shell variable set to a gateway URL). */
function target(cmd: string): { port?: string; path?: string } {
  const m = /['"]?(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):(\d+)(\/[^\s'"?]*)?/.exec(cmd);
  return m ? { port: m[1], path: m[2] } : {};
}

/** Routes anyone may call (health, a platform's signed webhook): they take no key. */
function isPublicRoute(cmd: string, p: string | undefined): boolean {
  if (!p) return false;
  const method = /-X\s+(\w+)/.exec(cmd)?.[1] ?? (/\s-d\s/.test(cmd) ? 'POST' : 'GET');
  return matchRoute(method, p)?.spec.access.kind === 'public';
}

function gatewayCurlsWithoutKey(text: string): string[] {
  return curlCommands(text).filter((cmd) => {
    const t = target(cmd);
    if (t.port !== undefined && t.port !== GATEWAY_PORT) return false; // a sample CRM or platform
    return !cmd.includes(KEY_HEADER) && !isPublicRoute(cmd, t.path);
  });
}

describe('curl examples', () => {
  test('every curl to the gateway sends the API key', () => {
    expect(curlCommands(readme).length).toBeGreaterThan(20);
    expect(gatewayCurlsWithoutKey(readme)).toEqual([]);
  });

  test('the README says where KEY comes from before the first example uses it', () => {
    const explained = readme.indexOf('export KEY=');
    expect(explained).toBeGreaterThan(0);
    expect(explained).toBeLessThan(readme.indexOf(KEY_HEADER, explained + 1));
    expect(readme.slice(0, explained)).toMatch(/npm start.*prints[^\n]*\n?[^\n]*key/);
  });

  test.each([
    ['a session event without the key', "```sh\ncurl -s -X POST localhost:3000/v1/connectors/z/sessions/s/events -d '{}'\n```\n", 1],
    [
      'a continued command without the key',
      "```sh\ncurl -s -X POST 'localhost:3000/v1/connectors/z/operations/find_account' \\\n  -H 'Content-Type: application/json' -d '{}'\n```\n",
      1,
    ],
    ['a gateway URL in a variable', '```sh\ncurl -s $CHAT\n```\n', 1],
    ['an indented block in a list', '- step\n\n  ```sh\n  curl -s localhost:3000/v1/deliveries\n  ```\n', 1],
    ['a block of another language', '```bash\ncurl -s localhost:3000/v1/deliveries\n```\n', 1],
    ['with the key', `\`\`\`sh\ncurl -s ${KEY_HEADER} localhost:3000/v1/deliveries\n\`\`\`\n`, 0],
    ['the sample CRM', '```sh\ncurl -s localhost:4010/__control/state\n```\n', 0],
    ['a public route (health)', '```sh\ncurl -s localhost:3000/healthz\n```\n', 0],
    ['a signed platform webhook', "```sh\ncurl -s -X POST localhost:3000/v1/connectors/z/webhooks/zoom -d '{}'\n```\n", 0],
  ])('the check catches: %s', (_what, text, count) => {
    expect(gatewayCurlsWithoutKey(text)).toHaveLength(count);
  });
});

/**
 * Files that are not in the repository, and outside documents named by number ("004", "(002)",
 * "per 002"): such references mean nothing to a reader of this repository.
 */
const OUTSIDE_REFERENCE =
  /SPEC\.md|DESIGN\.md|\.\.\/shared\b|\bshared\/seeds\b|\bseeds?\/\d|\bseed (?:doc|document|file)s?\b|(?<![\w'"$.:/+*,#-])(?<!\d )00\d(?![\w'"])(?! \d)/;
/** Legitimate numbers that look alike, by file: why each is allowed. */
const ALLOWED: Record<string, RegExp> = {
  // Salesforce id key prefixes (003 Contact, 500 Case) are Salesforce's, not a document number.
  'src/sample-crm/salesforce/ids.ts': /\(003 Contact/,
};

function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(rel, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(rel);
  }
  return out;
}

function outsideReferences(file: string, lines: string[]): string[] {
  return lines.flatMap((line, i) => (OUTSIDE_REFERENCE.test(line) && !ALLOWED[file]?.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

/** The title line of every test, describe and it (what a reader sees in the test output). */
const TEST_TITLE = /(?:^|[\s;])(?:test|it|describe)(?:\.each)?\s*\(\s*['"`]|\]\s*\)\s*\(\s*['"`]/;

describe('no references to what is not in the repository', () => {
  test.each([
    ['README.md', ['README.md']],
    ['openapi.yaml', ['openapi.yaml']],
    ['schemas/', filesUnder('schemas', ['.json'])],
    ['src/ (comments and messages)', filesUnder('src', ['.ts'])],
  ])('%s', (_what, files) => {
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => outsideReferences(f, fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n')))).toEqual([]);
  });

  test('test names', () => {
    const found = filesUnder('test', ['.ts']).flatMap((f) =>
      outsideReferences(
        f,
        fs
          .readFileSync(path.join(ROOT, f), 'utf8')
          .split('\n')
          .map((l) => (TEST_TITLE.test(l) ? l : '')),
      ),
    );
    expect(found).toEqual([]);
  });

  test.each([
    ['// 004 sends ids as strings', true],
    ["test('comments with 002 default contents', () => {", true],
    ['see ../shared/SPEC.md', true],
    ['the rule (see DESIGN.md)', true],
    ['(004)', true],
    ['at 6,000 pending', false],
    ["agent_custom_id: '007'", false],
    ['"+1 555 000 0001"', false],
    ['2024-05-01T10:00:00.000+0000', false],
    ['seed helpers write the same records', false],
  ])('the check on %j finds a reference: %s', (line, found) => {
    expect(OUTSIDE_REFERENCE.test(line)).toBe(found);
  });
});

test('the default comment texts are listed in the README exactly as the code has them', () => {
  const block = codeBlocks(readme, 'yaml').find((b) => /^flows:\n\s+templates:\s+# the defaults/m.test(b));
  expect(block).toBeDefined();
  expect((YAML.parse(block!) as { flows: { templates: unknown } }).flows.templates).toEqual(DEFAULT_FLOW_TEMPLATES);
  expect(readme).not.toMatch(/see `src\//);
});
