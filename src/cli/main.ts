/**
 * crm-gateway CLI:
 *   serve                                   run the gateway (env: PORT, HOST, CONFIG_DIR, DATA_DIR, PUBLIC_URL, LOG_LEVEL)
 *   demo                                    sample Zendesk-like CRM + gateway with config/zendesk.yaml
 *   validate <file.yaml…>                   check connector files; exit 1 on any error
 *   dry-run <file.yaml> <operation> [--var K=V …] [--vars vars.json]
 *                                           print the exact request, secrets masked; sends nothing
 *   sample-crm [--flavor zendesk] [--port 4010]
 *   contract-test <file.yaml> [--sample <flavor> | --base-url <url>] [--junit out.xml] [--vars f] [--openapi spec]
 */
import { parseArgs } from 'node:util';
import { loadConnectorFile, errorsOf } from '../config/load';
import { formatIssue } from '../config/yaml-source';
import { isGatewayError } from '../errors';
import { createRuntime } from '../operations/runtime';
import { isOperationName, runOperation } from '../operations/run';
import { MemoryTokenStore } from '../auth/token-store';
import { silentLogger } from '../util/logger';
import { Redactor } from '../util/redact';
import { parseVars } from './args';
import { serve } from './serve';
import { runDemo } from './demo';
import { runSampleCrmCli } from '../sample-crm/main';
import { contractTestCli } from '../contract/cli';

const USAGE = `usage: crm-gateway <serve | demo | validate <files…> | dry-run <file> <operation> [--var K=V …] [--vars file.json] | sample-crm [--flavor zendesk] [--port N] | contract-test <file> [--sample <flavor> | --base-url <url>] [--junit out.xml]>`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The CLI's own commands (dry-run) mask with this; bin.ts masks an uncaught error with it too. */
export const cliRedactor = new Redactor();

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Runs a command; resolves to the exit code, or -1 for servers that keep running. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const running = await serve();
      if (running.generatedKey) io.out(`No API_KEYS configured: generated an admin API key for this run:\n  ${running.generatedKey}\n`);
      shutdownOnSignal(running.close);
      return -1;
    }
    case 'demo': {
      const close = await runDemo();
      shutdownOnSignal(close);
      return -1;
    }
    case 'validate': return validate(rest, io);
    case 'dry-run': return dryRun(rest, io);
    case 'sample-crm': await runSampleCrmCli(rest); return -1;
    case 'contract-test': return contractTestCli(rest, io);
    default:
      io.err(`${USAGE}\n`);
      return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
}

function validate(files: string[], io: Io): number {
  if (files.length === 0) { io.err('validate: name at least one connector file\n'); return 2; }
  let failed = 0;
  for (const f of files) {
    const l = loadConnectorFile(f);
    for (const i of l.issues) io.out(`${formatIssue(i)}\n`);
    const errors = errorsOf(l).length;
    if (errors) failed++;
    io.out(`${f}: ${errors ? `${errors} error${errors === 1 ? '' : 's'}` : 'ok'}\n`);
  }
  return failed ? 1 : 0;
}

async function dryRun(args: string[], io: Io): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { var: { type: 'string', multiple: true }, vars: { type: 'string' } } });
  const [file, op] = positionals;
  if (!file || !op || !isOperationName(op)) { io.err(`${USAGE}\n`); return 2; }
  const l = loadConnectorFile(file);
  if (!l.connector) { l.issues.forEach((i) => io.err(`${formatIssue(i)}\n`)); return 1; }
  const rt = createRuntime(l.connector, { tokenStore: new MemoryTokenStore(), oauthRedirectUrl: 'http://127.0.0.1:3000/v1/oauth/callback', redactor: cliRedactor });
  const result = await runOperation(rt, op, { variables: parseVars(values.var, values.vars) }, { dryRun: true, logger: silentLogger });
  io.out(`${cliRedactor.redact(JSON.stringify(result.requests, null, 2))}\n`);
  return 0;
}

function shutdownOnSignal(close: () => Promise<void>): void {
  const stop = () => { void close().finally(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

