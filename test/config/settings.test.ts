import fs from 'node:fs';
import path from 'node:path';
import { readSettings, SettingsError, SETTING_NAMES } from '../../src/config/settings';
import { main } from '../../src/cli/main';

const ROOT = path.join(__dirname, '../..');

test('defaults when nothing is set', () => {
  expect(readSettings({})).toMatchObject({
    PORT: 3000,
    HOST: '127.0.0.1',
    CONFIG_DIR: 'config',
    DATA_DIR: 'data',
    DELIVERY_WORKERS: 8,
    GATEWAY_AUTH: 'on',
    METRICS_AUTH: 'off',
    LOG_LEVEL: 'info',
    RETENTION_DAYS: 30,
    SHUTDOWN_GRACE_MS: 10_000,
    SAMPLE_CRM_PORT: 4010,
  });
});

test.each([
  ['PORT', '0', 0],
  ['PORT', ' 8080 ', 8080],
  ['DELIVERY_WORKERS', '0', 0],
  ['RETENTION_DAYS', '0', 0],
  ['RETENTION_DAYS', ' 90 ', 90],
  ['RETENTION_DAYS', '', 30],
  ['MAX_BODY_BYTES', '10MB', 10 * 1024 * 1024],
  ['MAX_UPLOAD_BYTES', '512kb', 512 * 1024],
  ['MAX_BODY_BYTES', '1048576', 1048576],
  ['MAX_BODY_BYTES', '1.5mb', 1572864],
  ['LOG_LEVEL', 'DEBUG', 'debug'],
  ['METRICS_AUTH', 'on', 'on'],
  ['PUBLIC_URL', 'https://gw.example.com/', 'https://gw.example.com'],
  ['DATABASE_URL', 'postgresql://u:p@db/x', 'postgresql://u:p@db/x'],
])('%s=%p is read as %p', (name, value, expected) => {
  expect(readSettings({ [name]: value })[name as keyof ReturnType<typeof readSettings>]).toEqual(expected);
});

test.each([
  ['PORT', 'abc', 'PORT must be a port number from 0 to 65535 (0 picks a free one), got "abc"'],
  ['PORT', '70000', 'PORT must be a port number from 0 to 65535 (0 picks a free one), got "70000"'],
  ['DELIVERY_WORKERS', 'lots', 'DELIVERY_WORKERS must be a whole number from 0 (accept only) to 1000, got "lots"'],
  ['DELIVERY_WORKERS', '-1', 'DELIVERY_WORKERS must be a whole number from 0 (accept only) to 1000, got "-1"'],
  ['LOG_LEVEL', 'verbose', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
  ['METRICS_AUTH', 'yes', 'METRICS_AUTH must be "on" or "off", got "yes"'],
  ['MAX_BODY_BYTES', 'huge', 'MAX_BODY_BYTES must be a size such as 70MB, 512kb or a number of bytes, got "huge"'],
  ['MAX_BODY_BYTES', '0', 'MAX_BODY_BYTES must be a size such as 70MB, 512kb or a number of bytes, got "0"'],
  ['RETENTION_DAYS', 'a week', 'RETENTION_DAYS must be a whole number of days (0 = keep forever), got "a week"'],
  ['RETENTION_DAYS', '-1', 'RETENTION_DAYS must be a whole number of days (0 = keep forever), got "-1"'],
  ['PUBLIC_URL', 'gw.example.com', 'PUBLIC_URL must be an http(s) URL, got "gw.example.com"'],
  ['DATABASE_URL', 'mysql://db/x', 'DATABASE_URL must be a postgres:// or postgresql:// URL, got "mysql://db/x"'],
  ['DELIVERY_LEASE_MS', '10', 'DELIVERY_LEASE_MS must be a whole number of milliseconds, at least 1000, got "10"'],
  ['GATEWAY_AUTH', 'disabled', 'GATEWAY_AUTH must be "on" or "off", got "disabled"'],
])('%s=%p: one line naming the variable and what it accepts', (name, value, message) => {
  try {
    readSettings({ [name]: value });
    throw new Error('accepted');
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    expect((e as SettingsError).problems).toEqual([message]);
  }
});

test('every problem at once', () => {
  expect(() => readSettings({ PORT: 'abc', LOG_LEVEL: 'verbose', DELIVERY_WORKERS: 'lots' })).toThrow(
    expect.objectContaining({
      problems: expect.arrayContaining([expect.stringMatching(/^PORT /), expect.stringMatching(/^LOG_LEVEL /), expect.stringMatching(/^DELIVERY_WORKERS /)]),
    }),
  );
});

test('serve with bad settings: the lines, exit 1, no stack trace, nothing started', async () => {
  let err = '';
  const code = await main(
    ['serve'],
    {
      out: () => undefined,
      err: (s) => {
        err += s;
      },
    },
    { PORT: 'abc', LOG_LEVEL: 'verbose' },
  );
  expect(code).toBe(1);
  expect(err).toBe(
    'cannot start: settings are invalid\n  PORT must be a port number from 0 to 65535 (0 picks a free one), got "abc"\n  LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n',
  );
});

test('the README settings table lists every setting', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Service configuration'));
  for (const name of SETTING_NAMES) expect(table).toContain(`\`${name}\``);
});
