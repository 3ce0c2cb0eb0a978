/**
 * The service's settings from the environment, all checked in one place before anything is
 * opened. Every problem is one line naming the variable, what it accepts and what it got, and
 * all problems are reported at once: a gateway never starts "ready" with a setting it could
 * not read (DELIVERY_WORKERS=lots used to start a gateway that never delivered).
 *
 * API_KEYS/API_KEYS_FILE and GATEWAY_ENCRYPTION_KEY are checked where they are read
 * (ops/api-keys, auth/token-cipher): their messages must never quote the value.
 */
import bytes from 'bytes';
import { z } from 'zod';

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A setting read from text: blank = the default; otherwise `parse` returns the value or undefined with `accepts` as the message. */
function setting<T>(accepts: string, parse: (v: string) => T | undefined, fallback: T) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = parse(raw.trim());
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be ${accepts}, got "${raw.length > 80 ? `${raw.slice(0, 80)}…` : raw}"` });
        return z.NEVER;
      }
      return value;
    });
}

const wholeNumber = (min: number, max: number) => (v: string) => (/^\d{1,9}$/.test(v) && Number(v) >= min && Number(v) <= max ? Number(v) : undefined);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: string) =>
    (values as readonly string[]).includes(v.toLowerCase()) ? (v.toLowerCase() as T) : undefined;
/** Sizes as the README writes them: `70MB`, `512kb`, or a plain number of bytes. */
const size = (v: string) => {
  const n = /^\d+$/.test(v) ? Number(v) : /^\d+(\.\d+)?\s*(b|kb|mb|gb)$/i.test(v) ? bytes.parse(v) : null;
  return n !== null && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
};
const httpUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? v.replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
};
const postgresUrl = (v: string) => (/^postgres(ql)?:\/\//.test(v) ? v : undefined);
const text = (v: string) => v;

const PORT = 'a port number from 0 to 65535 (0 picks a free one)';

const schema = z.object({
  PORT: setting(PORT, wholeNumber(0, 65535), 3000),
  HOST: setting('a host name or address', text, '127.0.0.1'),
  CONFIG_DIR: setting('a folder', text, 'config'),
  CONFIG_WATCH: setting('"on" or "off"', oneOf(['on', 'off'] as const), 'on'),
  DATA_DIR: setting('a folder', text, 'data'),
  DATABASE_URL: setting('a postgres:// or postgresql:// URL', postgresUrl, undefined as string | undefined),
  DATABASE_SCHEMA: setting(
    'a schema name (letters, digits, _)',
    (v) => (/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(v) ? v : undefined),
    undefined as string | undefined,
  ),
  DELIVERY_WORKERS: setting('a whole number from 0 (accept only) to 1000', wholeNumber(0, 1000), 8),
  DELIVERY_LEASE_MS: setting('a whole number of milliseconds, at least 1000', wholeNumber(1000, 86_400_000), undefined as number | undefined),
  DELIVERY_POLL_MS: setting('a whole number of milliseconds from 1 to 600000', wholeNumber(1, 600_000), undefined as number | undefined),
  SHUTDOWN_GRACE_MS: setting('a whole number of milliseconds', wholeNumber(0, 3_600_000), 10_000),
  GATEWAY_AUTH: setting('"on" or "off"', oneOf(['on', 'off'] as const), 'on'),
  METRICS_AUTH: setting('"on" or "off"', oneOf(['on', 'off'] as const), 'off'),
  MAX_BODY_BYTES: setting('a size such as 70MB, 512kb or a number of bytes', size, undefined as number | undefined),
  MAX_UPLOAD_BYTES: setting('a size such as 50MB, 512kb or a number of bytes', size, undefined as number | undefined),
  PUBLIC_URL: setting('an http(s) URL', httpUrl, undefined as string | undefined),
  LOG_LEVEL: setting(`one of ${LOG_LEVELS.join(', ')}`, oneOf(LOG_LEVELS), 'info'),
  LOG_FORMAT: setting('"json" or "pretty"', oneOf(['json', 'pretty'] as const), 'json'),
  ACCESS_LOG: setting('"on" or "off"', oneOf(['on', 'off'] as const), 'on'),
  RETENTION_DAYS: setting('a whole number of days (0 = keep forever)', wholeNumber(0, 36_500), 30),
  SAMPLE_CRM_PORT: setting(PORT, wholeNumber(0, 65535), 4010),
});

export type Settings = z.output<typeof schema>;

/** The settings, or a SettingsError listing every variable that could not be read. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new SettingsError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
}

/** The settings table of the README, as data (a test keeps the two in step). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape);
