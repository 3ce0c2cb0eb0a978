import { SAMPLE_CRM_FLAVORS, startSampleCrm, type RunningSampleCrm, type SampleCrmFlavor } from './index';

export const SAMPLE_CRM_USAGE = `Usage: sample-crm [--flavor ${SAMPLE_CRM_FLAVORS.join('|')}] [--port 4010] [--host 127.0.0.1]`;

export interface CliOptions {
  flavor: SampleCrmFlavor;
  port: number;
  host: string;
}

export function parseSampleCrmArgs(argv: string[]): CliOptions {
  const opts: CliOptions = { flavor: 'zendesk', port: 4010, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value\n${SAMPLE_CRM_USAGE}`);
      return v;
    };
    switch (name) {
      case '--flavor': {
        const v = takeValue();
        if (!(SAMPLE_CRM_FLAVORS as string[]).includes(v)) {
          throw new Error(`unknown flavor "${v}" (known: ${SAMPLE_CRM_FLAVORS.join(', ')})`);
        }
        opts.flavor = v as SampleCrmFlavor;
        break;
      }
      case '--port': {
        const v = takeValue();
        const port = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(port >= 0 && port <= 65535)) throw new Error(`invalid --port "${v}"`);
        opts.port = port;
        break;
      }
      case '--host':
        opts.host = takeValue();
        break;
      default:
        throw new Error(`unknown argument "${arg}"\n${SAMPLE_CRM_USAGE}`);
    }
  }
  return opts;
}

/**
 * Starts a sample CRM with the default credentials and prints how to reach it. Resolves once
 * listening; the returned handle's close() stops it.
 */
export async function runSampleCrmCli(argv: string[], print: (line: string) => void = console.log): Promise<RunningSampleCrm<SampleCrmFlavor>> {
  return startSampleCrmFor(parseSampleCrmArgs(argv), print);
}

/** The same, with options already parsed (the crm-gateway CLI parses them with its other commands). */
export async function startSampleCrmFor(opts: CliOptions, print: (line: string) => void = console.log): Promise<RunningSampleCrm<SampleCrmFlavor>> {
  const running = await startSampleCrm<SampleCrmFlavor>({ flavor: opts.flavor, port: opts.port, host: opts.host });
  const { url } = running;
  // The flavour's own default credentials, whatever they are.
  const auth = running.crm.authOptions;
  const lines = [`Sample CRM (${opts.flavor}) listening on ${url}`];
  for (const b of auth.basic ?? []) lines.push(`  Basic auth:   ${b.username} : ${b.password}`);
  for (const k of auth.apiKeys ?? []) lines.push(`  Header:       ${k.header}: ${k.value}`);
  if (auth.oauth)
    lines.push(
      `  OAuth client: ${auth.oauth.clientId} / ${auth.oauth.clientSecret}  (${url}${running.crm.oauthPaths.authorize}, ${url}${running.crm.oauthPaths.token})`,
    );
  lines.push(`  Control API:  ${url}/__control  (faults, requests, state, reset)`);
  lines.forEach((l) => print(l));
  return running;
}

if (require.main === module) {
  runSampleCrmCli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
