/**
 * The crm-gateway command line. Every command answers --help with its own usage and never
 * starts a server or reads a file to do so; usage mistakes (an unknown command, option or
 * flavor, a missing argument) are one line on stderr and exit code 2.
 *
 *   serve            run the gateway (settings from the environment: PORT, HOST, CONFIG_DIR, …)
 *   demo             the bundled Zendesk-like sample CRM + the gateway pointed at it (npm start)
 *   validate         check connector files; exit 1 on any error
 *   dry-run          print the exact request an operation would send, secrets masked
 *   sample-crm       run a sample CRM
 *   contract-test    run a connector's contract checks against a sample CRM or a given URL
 *   init             write a starter connector and an example .env
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConnectorFile, errorsOf } from '../config/load';
import { formatIssue } from '../config/yaml-source';
import { OPERATIONS, type OperationName } from '../config/types';
import { createRuntime } from '../operations/runtime';
import { runOperation } from '../operations/run';
import { MemoryTokenStore } from '../auth/token-store';
import { silentLogger } from '../util/logger';
import { Redactor } from '../util/redact';
import { packageVersion } from '../util/package-root';
import { parseVars } from '../util/vars-input';
import { SAMPLE_CRM_FLAVORS, type SampleCrmFlavor } from '../sample-crm';
import { startSampleCrmFor } from '../sample-crm/main';
import { runContractTest } from '../contract/cli';
import { serve } from './serve';
import { runDemo } from './demo';
import { writeStarter } from './init';
import { ListenError } from './listen-error';
import { SettingsError } from '../config/settings';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The CLI's own commands (dry-run) mask with this; bin.ts masks an uncaught error with it too. */
export const cliRedactor = new Redactor();

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Usage mistakes, as most command-line tools do (1 is "the command ran and found errors"). */
const USAGE_EXIT = 2;

/**
 * Commander's own messages, with the accepted values added: an unknown option names the ones
 * the command takes, an unknown command the commands that exist.
 */
class Cli extends Command {
  override createCommand(name?: string): Cli {
    return new Cli(name);
  }

  unknownOption(flag: string): never {
    const accepted = this.options
      .map((o) => o.long)
      .filter(Boolean)
      .concat('--help');
    this.error(`error: unknown option '${flag}' for ${this.name()}; accepted: ${accepted.join(', ')}`, {
      code: 'commander.unknownOption',
      exitCode: USAGE_EXIT,
    });
  }

  unknownCommand(): never {
    const name = this.args[0];
    this.error(`error: unknown command '${name}'; commands: ${this.commands.map((c) => c.name()).join(', ')} (crm-gateway --help)`, {
      code: 'commander.unknownCommand',
      exitCode: USAGE_EXIT,
    });
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function portNumber(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
  return Number(value);
}

function operationName(value: string): OperationName {
  if (!(OPERATIONS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${OPERATIONS.join(', ')}`);
  return value as OperationName;
}

/** Runs a command; resolves to the exit code, or -1 for servers that keep running. */
export async function main(argv: string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let code = 0;
  const program = new Cli('crm-gateway')
    .description('Config-driven connector gateway: a contact-center platform uses any CRM through its HTTP API, described in one YAML file.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(s) })
    .exitOverride()
    .showSuggestionAfterError(true);

  program
    .command('serve')
    .description(
      'run the gateway; settings come from the environment (PORT, HOST, CONFIG_DIR, DATA_DIR, DATABASE_URL, API_KEYS, PUBLIC_URL, LOG_LEVEL, …: see the README)',
    )
    .action(async () => {
      const running = await serve({ env }).catch((e: unknown) => {
        throw ListenError.wrap(e, 'PORT');
      });
      // Shown once, on its own on stderr (never in the JSON log on stdout, which may be shipped elsewhere).
      if (running.generatedKey) {
        io.err(
          `\nNo API_KEYS configured: generated an admin API key for this run (shown only now):\n\n    ${running.generatedKey}\n\nSend it as "Authorization: Bearer <key>". Set API_KEYS to choose your own keys (README, Security).\n\n`,
        );
      }
      shutdownOnSignal(running.close);
      code = -1;
    });

  program
    .command('demo')
    .description('start the bundled Zendesk-like sample CRM and the gateway with config/zendesk.yaml pointed at it (PORT, SAMPLE_CRM_PORT, DEMO_CONNECTOR)')
    .action(async () => {
      const close = await runDemo(env);
      shutdownOnSignal(close);
      code = -1;
    });

  program
    .command('validate')
    .description('check connector files: every error with file:line:column and YAML path; exit 1 on any error')
    .argument('<files...>', 'connector YAML files')
    .action((files: string[]) => {
      code = validate(files, io, env);
    });

  program
    .command('dry-run')
    .description('print the exact request(s) an operation would send, secrets masked; sends nothing')
    .argument('<file>', 'connector YAML file')
    .argument('<operation>', `one of ${OPERATIONS.join(', ')}`, operationName)
    .option('--var <NAME=value>', 'a variable (repeatable)', collect)
    .option('--vars <file.json>', 'variables from a JSON file')
    .option('--env <NAME=value>', 'an environment value for ${env:NAME} in the file (repeatable)', collect)
    .option('--file <path>', 'a file to preview an upload_file request with (multipart, base64 or binary, as the endpoint says)')
    .option('--file-type <type>', "the file's content type", 'application/octet-stream')
    .option('--file-kind <kind>', "the file's kind (call_recording, chat_transcript, …)")
    .action(
      async (file: string, op: OperationName, o: { var?: string[]; vars?: string; env?: string[]; file?: string; fileType: string; fileKind?: string }) => {
        code = await dryRun(file, op, o, io, env);
      },
    );

  program
    .command('sample-crm')
    .description('run a sample CRM (what it received: <url>/__control/requests)')
    .addOption(new Option('--flavor <name>', 'which CRM it imitates').choices(SAMPLE_CRM_FLAVORS).default('zendesk'))
    .option('--port <n>', 'port (0 picks a free one)', portNumber, 4010)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (o: { flavor: SampleCrmFlavor; port: number; host: string }) => {
      const running = await startSampleCrmFor(o, (l) => io.out(`${l}\n`)).catch((e: unknown) => {
        throw ListenError.wrap(e, '--port');
      });
      shutdownOnSignal(() => running.close());
      code = -1;
    });

  program
    .command('contract-test')
    .description(
      'run the contract checks of a connector (every operation, with cleanup) against a sample CRM, a base URL, or explicitly the base_url the file configures',
    )
    .argument('<file>', 'connector YAML file')
    .addOption(new Option('--sample <flavor>', 'start a sample CRM of this flavor and point the connector at it').choices(SAMPLE_CRM_FLAVORS))
    .option('--base-url <url>', "point the connector's base_url at this CRM")
    .option('--use-config-url', 'use the base_url the file configures (it may be a production CRM: test records are created there)')
    .option('--junit <out.xml>', 'also write a JUnit report')
    .option('--vars <file.json>', 'variables for the checks')
    .option('--openapi <spec.yaml>', "check every request and answer against the CRM's OpenAPI description")
    .option('--env <NAME=value>', 'an environment value for ${env:NAME} in the file (repeatable)', collect)
    .action(
      async (
        file: string,
        o: { sample?: string; baseUrl?: string; useConfigUrl?: boolean; junit?: string; vars?: string; openapi?: string; env?: string[] },
      ) => {
        code = await runContractTest(file, o, io, env);
      },
    );

  program
    .command('init')
    .description('write a starter connector (connector.yaml) and an example .env into a folder')
    .argument('[dir]', 'folder to write into', '.')
    .option('--force', 'overwrite files that exist')
    .action((dir: string, o: { force?: boolean }) => {
      code = writeStarter(dir, o.force === true, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else is a usage mistake.
      if (e.exitCode === 0) return 0;
      return USAGE_EXIT;
    }
    if (e instanceof ListenError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    if (e instanceof SettingsError) {
      io.err(`cannot start: ${e.problems.length === 1 ? 'a setting is' : 'settings are'} invalid\n${e.problems.map((p) => `  ${p}\n`).join('')}`);
      return 1;
    }
    throw e;
  }
}

function validate(files: string[], io: Io, env: NodeJS.ProcessEnv): number {
  let failed = 0;
  for (const f of files) {
    const l = loadConnectorFile(f, env);
    for (const i of l.issues) io.out(`${formatIssue(i)}\n`);
    const errors = errorsOf(l).length;
    if (errors) failed++;
    io.out(`${f}: ${errors ? `${errors} error${errors === 1 ? '' : 's'}` : 'ok'}\n`);
  }
  return failed ? 1 : 0;
}

async function dryRun(
  file: string,
  op: OperationName,
  o: { var?: string[]; vars?: string; env?: string[]; file?: string; fileType: string; fileKind?: string },
  io: Io,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const l = loadConnectorFile(file, { ...env, ...(parseVars(o.env) as Record<string, string>) });
  if (!l.connector) {
    l.issues.forEach((i) => io.err(`${formatIssue(i)}\n`));
    return 1;
  }
  let upload;
  if (o.file !== undefined) {
    if (!fs.existsSync(o.file)) {
      io.err(`dry-run: --file ${o.file}: no such file\n`);
      return USAGE_EXIT;
    }
    upload = { data: fs.readFileSync(o.file), name: path.basename(o.file), type: o.fileType, kind: o.fileKind as never };
  }
  const rt = createRuntime(l.connector, {
    tokenStore: new MemoryTokenStore(),
    oauthRedirectUrl: 'http://127.0.0.1:3000/v1/oauth/callback',
    redactor: cliRedactor,
  });
  const result = await runOperation(rt, op, { variables: parseVars(o.var, o.vars), file: upload }, { dryRun: true, logger: silentLogger });
  io.out(`${cliRedactor.redact(JSON.stringify(result.requests, null, 2))}\n`);
  return 0;
}

function shutdownOnSignal(close: () => Promise<void>): void {
  const stop = () => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
