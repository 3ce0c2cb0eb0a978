/**
 * Kill -9 and the outcome e-mail: a real gateway child process is SIGKILLed (1) while sessions'
 * e-mails wait out their delay, and (2) in the middle of an SMTP conversation (the server holds
 * the login), then restarted on the same data directory. Every session gets its e-mail exactly
 * once: a conversation cut before the message was handed over leaves nothing at the server, and
 * the step, taken over when its lease expires, sends it again — with the same Message-ID.
 * Against SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSampleCrm, type RunningSampleCrm } from '../../src/sample-crm';
import { startChild, type Child } from '../helpers/child';
import { bundled } from '../helpers/harness';
import { selfSignedCert, startSmtp, type TestSmtp } from './smtp';
import { PG_URL, dropSchema, newSchemaName, postgresAvailable } from '../helpers/postgres';

jest.setTimeout(120_000);

const SMTP_USER = 'gateway-mailer';
const SMTP_PASSWORD = 'smtp-pass-crash-91c3';

let crm: RunningSampleCrm;
let smtp: TestSmtp;
let child: Child | undefined;
const cert = selfSignedCert();

beforeAll(async () => {
  crm = await startSampleCrm({ port: 0 });
  smtp = await startSmtp({ ...cert, user: SMTP_USER, password: SMTP_PASSWORD });
});
afterAll(async () => {
  await child?.kill('SIGKILL');
  await smtp.close();
  await crm.close();
});

/** A data and config directory for one run, and the child's environment. */
function setUp(storeEnv: Record<string, string>): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-crash-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(
    path.join(dir, 'config/zendesk.yaml'),
    `${bundled('zendesk.yaml')}
retry: { initial_delay_seconds: 0.2, max_delay_seconds: 0.5 }
outcome_email:
  enabled: true
  address: crm-inbox@example.com
  delay_minutes: 0.02
  smtp: { host: 127.0.0.1, port: ${smtp.port}, user: "\${env:SMTP_USER}", password: "\${env:SMTP_PASSWORD}", from: "no-reply@cc.example.com", ca: "\${env:SMTP_CA}", servername: localhost }
`,
  );
  return {
    dir,
    env: {
      ...storeEnv,
      CONFIG_DIR: path.join(dir, 'config'),
      DATA_DIR: path.join(dir, 'data'),
      ZENDESK_URL: crm.url,
      DELIVERY_WORKERS: '4',
      DELIVERY_LEASE_MS: '1500',
      SMTP_USER,
      SMTP_PASSWORD,
      SMTP_CA: cert.cert,
    },
  };
}

async function endSession(url: string, sessionId: string, n: number): Promise<void> {
  const events = [
    {
      type: 'New_Call',
      event_id: `${sessionId}-1`,
      data: { call_id: n, agent_id: 1, queue_path: 'Support', end_user: { name: `Caller ${n}`, phone: `+1 222 333 ${String(7600 + n).slice(-4)}` } },
    },
    { type: 'End_Call', event_id: `${sessionId}-2`, data: { call_id: n } },
  ];
  for (const e of events) {
    const res = await fetch(`${url}/v1/connectors/zendesk/sessions/${sessionId}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(e),
    });
    expect(res.status).toBe(202);
  }
}

const mailsOf = (sessionId: string) => smtp.received.filter((m) => m.parsed.text?.includes(`"session_id": "${sessionId}"`));

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function crashRun(label: string, storeEnv: Record<string, string>): Promise<void> {
  const { dir, env } = setUp(storeEnv);
  try {
    child = await startChild(env);
    // (1) Three sessions end; the gateway dies before their e-mails are due.
    const waiting = [1, 2, 3].map((n) => `${label}-wait-${n}`);
    const mine = () => smtp.received.filter((m) => waiting.some((s) => m.parsed.text?.includes(`"session_id": "${s}"`)));
    for (const [i, s] of waiting.entries()) await endSession(child.url, s, 101 + i);
    await child.kill('SIGKILL');
    expect(mine()).toHaveLength(0);

    // (2) The next process starts sending; the server holds the first login, and the process dies then.
    let release!: () => void;
    smtp.holdLogin = new Promise<void>((r) => {
      release = r;
    });
    let logins = 0;
    smtp.onLogin = () => {
      logins++;
    };
    child = await startChild(env);
    await until('a login in progress', () => logins > 0);
    await child.kill('SIGKILL');
    smtp.holdLogin = undefined;
    release();
    await new Promise((r) => setTimeout(r, 200));
    expect(mine()).toHaveLength(0); // the cut conversation handed nothing over

    // A third process takes over (leases expire) and sends everything, once.
    child = await startChild(env);
    await until('three e-mails', () => waiting.every((s) => mailsOf(s).length >= 1));
    await new Promise((r) => setTimeout(r, 2000)); // a resend would have come by now
    for (const s of waiting) expect({ s, n: mailsOf(s).length }).toEqual({ s, n: 1 });
    expect(mine()).toHaveLength(3);
    const ids = new Set(mine().map((m) => m.parsed.messageId));
    expect(ids.size).toBe(3);

    // The steps are delivered; the interrupted one shows more than one attempt.
    const deliveries = [];
    for (const s of waiting) {
      const view = (await (await fetch(`${child.url}/v1/connectors/zendesk/sessions/${s}`)).json()) as {
        steps: Array<{ name: string; delivery_id: string; status: string }>;
      };
      const step = view.steps.find((x) => x.name === 'outcome_email')!;
      expect(step.status).toBe('delivered');
      deliveries.push((await (await fetch(`${child.url}/v1/deliveries/${step.delivery_id}`)).json()) as { attempts: number; result: { message_id: string } });
    }
    expect(deliveries.some((d) => d.attempts > 1)).toBe(true);
    for (const d of deliveries) expect(ids.has(d.result.message_id)).toBe(true);

    // (3) Killed after everything was sent: a restart sends nothing again.
    await child.kill('SIGKILL');
    child = await startChild(env);
    await new Promise((r) => setTimeout(r, 1500));
    expect(mine()).toHaveLength(3);
  } finally {
    await child?.kill('SIGKILL');
    child = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('SQLite: killed while e-mails wait out their delay, and mid-conversation: each session gets exactly one e-mail', async () => {
  await crashRun('sqlite', {});
});

test('PostgreSQL: the same', async () => {
  if (!(await postgresAvailable())) return;
  const schema = newSchemaName();
  try {
    await crashRun('postgres', { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema });
  } finally {
    await dropSchema(schema);
  }
});
