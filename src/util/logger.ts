/**
 * pino, asynchronous, with every written line passed through the secrets redactor so no
 * credential reaches the log whatever field it hides in.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Redaction } from './redact';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** json (default): one JSON object per line, for machines; pretty: coloured text for people (pino-pretty). */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout, asynchronously (no synchronous logging on the hot path). */
  destination?: pino.DestinationStream;
  /** The gateway's secrets masking, applied to every line written. */
  redactor: Redaction;
}

export function createLogger(opts: LoggerOptions): Logger {
  // Asynchronous, but without a minimum buffer: a line appears when it happens (a 4 KiB buffer
  // kept a quiet demo's lines back for minutes); writes still coalesce while one is in flight.
  const destination = opts.destination ?? (opts.format === 'pretty' ? prettyDestination() : stdoutDestination());
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

function stdoutDestination(): pino.DestinationStream {
  const d = pino.destination({ dest: 1, sync: false });
  // stdout closed under us (a pipe whose reader exited): stop writing instead of retrying forever,
  // which kept the process from exiting on SIGTERM.
  d.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') d.destroy();
  });
  return d;
}

function prettyDestination(): pino.DestinationStream {
  return pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', destination: 1, sync: false });
}

export const silentLogger: Logger = pino({ level: 'silent' });
