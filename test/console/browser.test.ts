/**
 * The console in a real browser (Debian's headless Chromium driven by playwright-core) against a
 * real gateway and sample CRM started here with a temporary config folder: the console's main
 * journeys, each leaving a screenshot (in docs/console/ for the README with UPDATE_SCREENSHOTS=1).
 *
 * Every request the browser makes is watched: one for a non-loopback host fails the suite (and
 * is aborted), as does any Content-Security-Policy report or script error on the page.
 *
 * Without /usr/bin/chromium the suite is skipped on a workstation and fails in CI (CI=true):
 * .ci/run installs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ApiKeys, hashKey, parseKeyEntries } from '../../src/access/api-keys';
import { ensureConsoleBuilt } from '../helpers/console-build';
import { bundled, type Harness, OAUTH_YAML, ROOT, startHarness } from '../helpers/harness';

/** Debian's package path; CHROMIUM_PATH points elsewhere (e.g. to check the missing-browser rule). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The README's screenshots are refreshed on request only (UPDATE_SCREENSHOTS=1): a test run leaves tracked files alone. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, 'docs/console') : fs.mkdtempSync(path.join(os.tmpdir(), 'console-shots-'));
const ADMIN = 'console-admin-key-0123456789';
const SCOPED = 'console-scoped-key-0123456789';
const haveBrowser = fs.existsSync(CHROMIUM);
const run = haveBrowser || process.env.CI ? describe : describe.skip;

jest.setTimeout(60_000);

/** A second connector whose file has one broken line (the editor journey fixes it). */
const BROKEN_LINE = 'timeout_seconds: lots';
const broken = () =>
  bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: helpdesk')
    .replace(/^name: .*$/m, 'name: Helpdesk (broken line)')
    .replace(/^timeout_seconds: 5$/m, BROKEN_LINE);

/** A connector whose create_account reads its id from the wrong place: its contract check fails and points at a YAML line. */
const badIds = () => {
  const text = bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: badids')
    .replace(/^name: .*$/m, 'name: Bad ids');
  const at = text.indexOf('\n  create_account:');
  const key = text.indexOf('response_data_location: user', at);
  return `${text.slice(0, key)}response_data_location: person${text.slice(key + 'response_data_location: user'.length)}`;
};
const BAD_IDS_LINE = badIds().split('\n').indexOf('    response_data_location: person') + 1;
/** The bundled connector retrying after half a second (the unknown-outcome journey waits for its second try). */
const quick = () =>
  bundled('zendesk.yaml')
    .replace(/^id: zendesk$/m, 'id: quick')
    .replace(/^name: .*$/m, 'name: Quick retries')
    .replace(/^timeout_seconds: 5$/m, 'timeout_seconds: 1\nretry:\n  initial_delay_seconds: 0.5\n  max_delay_seconds: 1');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

run('console in a browser', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const foreign: string[] = [];
  const cspReports: string[] = [];
  const pageErrors: string[] = [];

  const auth = { Authorization: `Bearer ${ADMIN}` };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const goto = async (hash: string) => {
    await page.goto(`${origin}/console${hash}`);
  };

  beforeAll(async () => {
    if (!haveBrowser) throw new Error(`no Chromium at ${CHROMIUM} (CI=${process.env.CI}): .ci/run installs it with apt-get install chromium`);
    ensureConsoleBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    h = await startHarness({
      connectors: {
        'zendesk.yaml': bundled('zendesk.yaml'),
        'helpdesk.yaml': broken(),
        'oauthy.yaml': OAUTH_YAML,
        'badids.yaml': badIds(),
        'quick.yaml': quick(),
      },
      apiKeys: new ApiKeys(parseKeyEntries(`${hashKey(ADMIN)}:admin\n${hashKey(SCOPED)}:connectors=zendesk`, 'test')),
    });
    origin = h.gw.url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    // Nothing may leave this machine: a request for a non-loopback host is recorded (the suite
    // fails) and aborted. (The OAuth journey visits the sample CRM, on loopback too.)
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname) || url.protocol === 'blob:' || url.protocol === 'data:') return route.continue();
      foreign.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspReports.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    if (!process.env.UPDATE_SCREENSHOTS) fs.rmSync(SHOTS, { recursive: true, force: true });
  });

  test('sign in with a key: a wrong key is refused, the admin key shows every connector', async () => {
    await goto('');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/not valid/)
      .waitFor();
    await page.getByLabel('API key').fill(ADMIN);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connectors' }).waitFor();
    // The key is kept for the tab only.
    expect(await page.evaluate('[Object.keys(localStorage).length, document.cookie]')).toEqual([0, '']);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([ADMIN]);
  });

  test('connectors: status, the broken line of the invalid one, auth and operations', async () => {
    const zendesk = page.getByRole('article', { name: 'Zendesk (sample CRM)' });
    // An invalid file has no name yet: the card is named by its id.
    const helpdesk = page.getByRole('article', { name: 'helpdesk' });
    await zendesk.getByText('valid', { exact: true }).waitFor();
    await helpdesk.getByText('invalid', { exact: true }).waitFor();
    await helpdesk
      .getByText(/timeout_seconds/)
      .first()
      .waitFor();
    expect(await zendesk.getByText(/create_account/).count()).toBeGreaterThan(0);
    await shot('connectors');
  });

  test('OAuth: "Connect" runs the authorization-code flow in a new tab; the card then says connected', async () => {
    const card = page.getByRole('article', { name: 'Zendesk via OAuth' });
    await card.getByText('not connected').waitFor();
    const [popup] = await Promise.all([context.waitForEvent('page'), card.getByRole('button', { name: 'Connect' }).click()]);
    // The sample CRM consents at once and sends the browser back to the gateway's callback.
    await popup.waitForURL(/\/v1\/oauth\/callback\?/);
    expect(await popup.textContent('body')).toContain('"authorized":true');
    await popup.close();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await card.locator('.badge', { hasText: /^connected$/ }).waitFor();
  });

  test('editor: fix the broken line until it validates, see the diff, save; the hot reload runs it', async () => {
    await page.getByRole('article', { name: 'helpdesk' }).getByRole('link', { name: 'Edit YAML' }).click();
    const problems = page.getByRole('list', { name: 'Problems' });
    await problems
      .getByRole('button', { name: /timeout_seconds/ })
      .first()
      .click();
    // The problem's button put the cursor on its line: replace the line from the keyboard.
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await page.keyboard.type('timeout_seconds: 5');
    await page.locator('.editor-status').getByText('valid', { exact: true }).last().waitFor();
    await expect(problems.count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Diff with running version' }).click();
    await page.locator('.cm-deletedChunk, .cm-changedLine').first().waitFor();
    await shot('editor');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved and reloaded: the running version is valid.').waitFor({ timeout: 15_000 });
    expect(fs.readFileSync(path.join(h.dir, 'config/helpdesk.yaml'), 'utf8')).toMatch(/^timeout_seconds: 5$/m);
    await goto('#/connectors');
    await page.getByRole('article', { name: 'Helpdesk (broken line)' }).getByText('valid', { exact: true }).waitFor();
  });

  test('a change the hot reload rejects is shown with its lines; the running version stays', async () => {
    const file = path.join(h.dir, 'config/zendesk.yaml');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace(/^timeout_seconds: 5$/m, 'timeout_seconds: soon'));
    const card = page.getByRole('article', { name: 'Zendesk (sample CRM)' });
    for (let i = 0; i < 50 && !(await card.getByText(/Rejected change/).count()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    await card.getByText(/zendesk\.yaml:\d+:\d+ timeout_seconds/).waitFor();
    await card.getByText('valid', { exact: true }).waitFor();
    await shot('connectors-rejected');
    fs.writeFileSync(file, good);
    for (let i = 0; i < 50 && (await card.getByText(/Rejected change/).count()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    expect(await card.getByText(/Rejected change/).count()).toBe(0);
  });

  test("editor completion offers the schema's keys", async () => {
    await goto('#/connectors/zendesk/edit');
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('retr');
    await page.locator('.cm-tooltip-autocomplete .cm-completionLabel', { hasText: /^retry$/ }).waitFor();
    await page.keyboard.press('Escape');
  });

  test('try it: the form comes from the operation, the dry run masks secrets, send shows ids and attempts', async () => {
    await goto('#/connectors/zendesk/try');
    await page.getByLabel('Operation').selectOption('create_account');
    await page.getByLabel(/^NAME/).fill('Kim Lee');
    await page.getByLabel(/^PHONE_NUMBER/).fill('(222) 333-4444');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByText('Request the gateway would send (secrets masked)').waitFor();
    const dry = (await page.locator('.result').textContent()) ?? '';
    expect(dry).toContain('/api/v2/users');
    expect(dry).not.toContain('sample-token');
    expect(dry).not.toContain(Buffer.from('agent@example.com/token:sample-token').toString('base64'));
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('table', { name: 'Extracted ids' }).getByText('ACCOUNT_ID').waitFor();
    await page.getByRole('table', { name: 'Attempts' }).waitFor();
    await shot('try-it');
  });

  test('contract test: checks appear, the run goes green, JUnit downloads', async () => {
    await goto('#/connectors/zendesk/contract');
    // The checks arrive by the event stream (polling is only the fallback).
    const stream = page.waitForResponse((r) => /\/v1\/contract-tests\/[^/]+\/events$/.test(r.url()));
    await page.getByRole('button', { name: 'Run contract test' }).click();
    const events = await stream;
    expect([events.status(), events.headers()['content-type']]).toEqual([200, expect.stringMatching(/^text\/event-stream/)]);
    await page.locator('.result .badge', { hasText: 'passed' }).first().waitFor({ timeout: 30_000 });
    expect(await page.locator('table.checks tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('table.checks tr.failed').count()).toBe(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JUnit' }).click()]);
    expect(fs.readFileSync((await download.path())!, 'utf8')).toMatch(/<testsuite/);
    await shot('contract-test');
  });

  test('contract test: a failing check links to its YAML line, which opens in the editor', async () => {
    await goto('#/connectors/badids/contract');
    await page.getByLabel('the base_url in the file').check();
    await page.getByRole('button', { name: 'Run contract test' }).click();
    await page.locator('.result .badge', { hasText: 'failed' }).first().waitFor({ timeout: 30_000 });
    const row = page.locator('table.checks tr.failed', { hasText: 'create_account: creates' });
    await row.getByText(/response_data_location "person" not found/).waitFor();
    const link = row.getByRole('link', { name: `line ${BAD_IDS_LINE}` });
    await link.click();
    await page.locator('.cm-activeLine', { hasText: 'response_data_location: person' }).waitFor();
    expect(page.url()).toMatch(/#\/connectors\/badids\/edit\?line=\d+$/);
  });

  test('deliveries: find the dead one by filter, open its history, retry it', async () => {
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', status: 422, body: { error: 'RecordInvalid' } });
    const accepted = await h.op('create_account', { NAME: 'Dies Once' }, { query: '?async=true', headers: auth });
    const id = accepted.body.id as string;
    const status = async () => ((await (await fetch(`${origin}/v1/deliveries/${id}`, { headers: auth })).json()) as { status: string }).status;
    for (let i = 0; i < 100 && (await status()) !== 'dead'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await status()).toBe('dead');
    await goto('#/deliveries');
    await page.getByLabel('Status').selectOption('dead');
    await page.getByRole('button', { name: 'Filter' }).click();
    // The filtered list: every row dead (the unfiltered one stays on screen until it arrives).
    // (Functions, not strings: the page's CSP forbids eval, which string predicates need.)
    await page.waitForFunction(() => {
      const s = Array.from((globalThis as any).document.querySelectorAll('table.deliveries tbody .badge'), (e: any) => String(e.textContent));
      return s.length > 0 && s.every((x) => x === 'dead');
    });
    await page.getByRole('link', { name: id }).waitFor();
    await shot('deliveries');
    await page.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: `Delivery ${id}` }).waitFor();
    await page
      .locator('dl.facts')
      .getByText(/CRM 422/)
      .waitFor();
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('dl.facts .badge', { hasText: /pending|running|delivered/ }).waitFor();
    await shot('delivery');
  });

  test('deliveries: an unknown outcome is resolved by attaching the id the CRM made', async () => {
    // The CRM creates the user and the answer is lost; with only a name there is nothing to
    // search for it by, so the gateway cannot know and says so.
    h.crm.crm.injectFault({ method: 'POST', path: '/api/v2/users.json', drop: true, commit: true });
    const accepted = await h.op('create_account', { NAME: 'Maybe Made' }, { connector: 'quick', query: '?async=true', headers: auth });
    const id = accepted.body.id as string;
    const delivery = async () => (await (await fetch(`${origin}/v1/deliveries/${id}`, { headers: auth })).json()) as { status: string; result?: any };
    for (let i = 0; i < 200 && (await delivery()).status !== 'unknown_outcome'; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await delivery()).status).toBe('unknown_outcome');
    const made = h.crm.crm.state.users.find((u) => u.name === 'Maybe Made')!.id;
    await goto('#/deliveries');
    await page.getByLabel('Status').selectOption('unknown_outcome');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: `Delivery ${id}` }).waitFor();
    await page.getByLabel('Ids of what it made (JSON)').fill(JSON.stringify({ ACCOUNT_ID: made }));
    await page.getByRole('button', { name: 'Made: attach ids' }).click();
    await page.locator('dl.facts .badge', { hasText: 'delivered' }).waitFor();
    expect(await delivery()).toMatchObject({ status: 'delivered' });
    expect(JSON.stringify((await delivery()).result)).toContain(String(made));
  });

  test('deliveries: the time filters narrow the list and reach the API as since / until', async () => {
    await goto('#/deliveries');
    await page.locator('table.deliveries tbody tr').first().waitFor();
    const future = page.waitForResponse((r) => /\/v1\/deliveries\?.*since=2099-01-01T/.test(r.url()));
    await page.getByLabel('Since').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect((await future).status()).toBe(200);
    await page.getByText('No deliveries match.').waitFor();
    const past = page.waitForResponse((r) => /\/v1\/deliveries\?.*since=2000-01-0[12]T.*until=2099-01-0[12]T/.test(r.url()));
    await page.getByLabel('Since').fill('2000-01-02T00:00');
    await page.getByLabel('Until').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect((await past).status()).toBe(200);
    await page.locator('table.deliveries tbody tr').first().waitFor();
  });

  test("sessions: a session's timeline and screen-pop links", async () => {
    const events = [
      {
        type: 'Session_Started',
        event_id: 'e1',
        data: { call_id: 1001, session_type: 'IVR_Call', channel: 'voice_call', end_user: { name: 'Ada', phone: '+1 222 333 7001' } },
      },
      { type: 'New_Call', data: { call_id: 1001, agent_email: 'kim@example.com' } },
    ];
    for (const e of events) {
      const res = await fetch(`${origin}/v1/connectors/zendesk/sessions/call-1001/events`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(e),
      });
      expect(res.status).toBeLessThan(300);
    }
    await goto('#/sessions?connector=zendesk');
    // Recent sessions are listed; one opens by its link (or by typing its id).
    await page.getByRole('link', { name: 'call-1001' }).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.locator('.timeline li', { hasText: 'Session_Started' }).waitFor();
    await page.getByRole('heading', { name: 'Screen-pop links' }).waitFor();
    await shot('sessions');
    // The session's writes, by the deliveries filter.
    await goto('#/deliveries');
    await page.getByLabel('Connector').selectOption('zendesk');
    await page.getByLabel('Session').fill('call-1001');
    await page.getByRole('button', { name: 'Filter' }).click();
    // Only the session's steps: not the create_account sent on its own earlier (waited for: the
    // unfiltered list is on screen until the filtered one arrives).
    await page.waitForFunction(() => {
      const ops = Array.from((globalThis as any).document.querySelectorAll('table.deliveries tbody td:nth-child(3)'), (e: any) => String(e.textContent));
      return ops.some((o) => o.startsWith('resolve_account')) && !ops.includes('create_account');
    });
  });

  test('a narrow window: no horizontal scrolling, everything reachable', async () => {
    await page.setViewportSize({ width: 400, height: 860 });
    await goto('#/connectors');
    await page.getByRole('article', { name: 'Zendesk (sample CRM)' }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shot('connectors-narrow');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('keyboard: sign out, sign in with a scoped key by keyboard alone; admin actions are hidden', async () => {
    await goto('#/connectors');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').focus();
    await page.keyboard.type(SCOPED);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Connectors' }).waitFor();
    await page.getByRole('article', { name: 'Zendesk (sample CRM)' }).waitFor();
    expect(await page.getByRole('article').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Edit YAML' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Contract test' }).count()).toBe(0);
    // Focus is visible: the first link reached by Tab has an outline.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    // A key the gateway stops accepting (revoked) sends the page back to the sign-in form.
    await page.evaluate(`sessionStorage.setItem('crm-gateway.console.key', 'revoked-key')`);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  test('no request left for another host, no CSP violation, no script error', () => {
    expect(foreign).toEqual([]);
    expect(cspReports).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
