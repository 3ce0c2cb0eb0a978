#!/usr/bin/env node
/** Executable entry: runs the CLI and maps its outcome to the process exit code. */
import { isGatewayError } from '../errors';
import { cliRedactor, main } from './main';

// A reader that went away (`… | head`) is not a reason to crash or hang: output is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${cliRedactor.redact(isGatewayError(e) ? `${e.code}: ${e.message}` : ((e as Error)?.stack ?? String(e)))}\n`);
    process.exitCode = 1;
  },
);
