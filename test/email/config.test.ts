/** `outcome_email:` in a connector file: defaults, errors that name the line and path, secrets masked. */
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { formatIssue } from '../../src/config/yaml-source';
import { bundled } from '../helpers/harness';

const base = bundled('zendesk.yaml');
const compile = (block: string, env: Record<string, string> = {}) =>
  compileConnector(`${base}\n${block}`, 'zendesk.yaml', { ZENDESK_URL: 'http://127.0.0.1:4010', ...env });

test('defaults: off, 15 minutes, port 587 with STARTTLS required, the default subject', () => {
  const r = compile(`outcome_email:
  queues: [{ queue: Billing, enabled: true, address: billing@example.com }]
  smtp: { host: smtp.example.com, from: no-reply@example.com }
`);
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect(r.connector!.outcomeEmail).toMatchObject({
    enabled: false,
    address: '',
    delayMs: 15 * 60_000,
    queues: [{ queue: 'Billing', enabled: true, address: 'billing@example.com' }],
    smtp: { host: 'smtp.example.com', port: 587, secure: false, starttls: true, from: 'no-reply@example.com' },
  });
  expect(compile('outcome_email: { enabled: true, address: a@b.c, smtp: { host: h, secure: true, from: a@b.c } }').connector!.outcomeEmail!.smtp).toMatchObject(
    { port: 465, secure: true, starttls: false },
  );
  expect(compileConnector(base, 'zendesk.yaml', {}).connector!.outcomeEmail).toBeUndefined();
});

test('the SMTP password is a secret (inline or from the environment); addresses and host are not', () => {
  const inline = compile('outcome_email: { enabled: true, address: a@b.c, smtp: { host: h, user: mailer, password: inline-pass-123, from: a@b.c } }');
  expect(inline.connector!.secrets).toContain('inline-pass-123');
  expect(JSON.stringify(inline.connector!.source)).not.toContain('inline-pass-123');
  const env = compile(
    'outcome_email: { enabled: true, address: "${env:TO}", smtp: { host: "${env:SMTP_HOST}", user: "${env:SMTP_USER}", password: "${env:SMTP_PASSWORD}", from: a@b.c } }',
    { TO: 'crm-inbox@example.com', SMTP_HOST: 'smtp.example.com', SMTP_USER: 'mailer-user', SMTP_PASSWORD: 'env-pass-456789' },
  );
  expect(env.issues.map(formatIssue)).toEqual([]);
  expect(env.connector!.secrets).toEqual(expect.arrayContaining(['env-pass-456789', 'mailer-user']));
  expect(env.connector!.secrets).not.toContain('crm-inbox@example.com');
  expect(env.connector!.secrets).not.toContain('smtp.example.com');
});

test('errors name the file, line and path', () => {
  const r = compile(`outcome_email:
  enabled: true
  address: not-an-address
  subject: "{{SESSION_LABEL}} {{NO_SUCH_VARIABLE}}"
  queues:
    - { enabled: true, address: x@example.com }
  smtp:
    host: smtp.example.com
    user: mailer
    from: no-reply@example.com
`);
  const lines = r.issues.filter((i) => i.severity === 'error').map(formatIssue);
  expect(r.connector).toBeUndefined();
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^zendesk\.yaml:\d+:\d+ .*outcome_email\.address.*not an e-mail address/),
      expect.stringMatching(/outcome_email\.subject.*unknown variable \{\{NO_SUCH_VARIABLE\}\}/),
      expect.stringMatching(/outcome_email\.queues\[0\].*name the queue/),
      expect.stringMatching(/outcome_email\.smtp\.user.*give smtp\.password too/),
    ]),
  );
  const line = (path: string) => r.issues.find((i) => i.path === path)?.line;
  const text = `${base}\n`.split('\n').length;
  expect(line('outcome_email.address')).toBe(text + 2);
  // The schema: smtp and its host are required, unknown keys refused.
  const schema = compile('outcome_email: { enabled: true, address: a@b.c, smtp: { from: a@b.c }, cc: x@y.z }');
  expect(schema.issues.map(formatIssue).join('\n')).toMatch(/outcome_email\.smtp.*host/);
  expect(schema.issues.map(formatIssue).join('\n')).toMatch(/outcome_email.*cc/);
});

test('a subject with single braces is a warning (they are sent as written)', () => {
  const r = compile('outcome_email: { enabled: true, address: a@b.c, subject: "Call {Call_ID} with {{NAME}}", smtp: { host: h, from: a@b.c } }');
  expect(r.connector).toBeDefined();
  expect(r.issues.map(formatIssue).join('\n')).toMatch(/outcome_email\.subject: warning: \{Call_ID\} is sent as written.*\{\{Call_ID\}\}/);
  expect(
    compile('outcome_email: { enabled: true, address: a@b.c, subject: "Call {{Call_ID}}", smtp: { host: h, from: a@b.c } }').issues.map(formatIssue),
  ).toEqual([]);
});

test('a setting that can never send is a warning', () => {
  const r = compile('outcome_email: { enabled: false, queues: [{ queue: Billing, enabled: false, address: b@c.d }], smtp: { host: h, from: a@b.c } }');
  expect(r.connector).toBeDefined();
  expect(r.issues.map(formatIssue).join('\n')).toMatch(/warning.*outcome_email sends nothing/);
});

test('the README example compiles', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const section = /## Session outcome e-mail\n([\s\S]*?)\n## /.exec(readme)![1];
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
  const r = compile(yaml, { SMTP_USER: 'mailer-user', SMTP_PASSWORD: 'readme-pass-123' });
  expect(r.issues.map(formatIssue)).toEqual([]);
  expect(r.connector!.outcomeEmail).toMatchObject({
    enabled: true,
    address: 'crm-inbox@example.com',
    queues: [
      { queue: 'Support / Billing', enabled: true },
      { queueId: '8469', enabled: false },
    ],
  });
});
