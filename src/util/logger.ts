/**
 * pino, asynchronous, with every written line passed through the secrets redactor so no
 * credential reaches the log whatever field it hides in.
 */
import pino, { type Logger } from 'pino';
import type { Redaction } from './redact';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stdout, asynchronously (no synchronous logging on the hot path). */
  destination?: pino.DestinationStream;
  /** The gateway's secrets masking, applied to every line written. */
  redactor: Redaction;
}

export function createLogger(opts: LoggerOptions): Logger {
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'crm-gateway' },
      hooks: { streamWrite: (line: string) => opts.redactor.redact(line) },
      redact: { paths: ['*.headers.authorization', '*.headers.Authorization', '*.headers.cookie'], censor: '****' },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
