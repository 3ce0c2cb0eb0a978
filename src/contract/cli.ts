/**
 * `crm-gateway contract-test <connector.yaml> (--sample <flavor> | --base-url <url> | --use-config-url)
 *   [--junit out.xml] [--vars vars.json] [--openapi crm-openapi.yaml] [--env NAME=VALUE …]`
 *
 * With --sample, a sample CRM of that flavour is started in this process and the connector's
 * base URL variable (the NAME in `base_url: ${env:NAME…}`) is pointed at it; --base-url does
 * the same for a real CRM.
 */
import fs from 'node:fs';
import { parse } from 'yaml';
import { SAMPLE_CRM_FLAVORS, startSampleCrm, type SampleCrmFlavor } from '../sample-crm';
import { parseVars } from '../util/vars-input';
import { OpenApiChecker } from './openapi-check';
import { junit, progressLine, table } from './report';
import { runContract } from './runner';

export interface ContractTestOptions {
  sample?: string;
  baseUrl?: string;
  /** Run against the base_url the file itself configures: never implied, because that may be a production CRM. */
  useConfigUrl?: boolean;
  junit?: string;
  vars?: string;
  openapi?: string;
  env?: string[];
}

type Io = { out: (s: string) => void; err: (s: string) => void };

/** Runs the contract checks; resolves to the exit code (0 all passed, 1 a check failed, 2 usage). */
export async function runContractTest(file: string, opts: ContractTestOptions, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const targets = [opts.sample !== undefined, opts.baseUrl !== undefined, opts.useConfigUrl === true].filter(Boolean).length;
  if (targets !== 1) {
    // A contract test creates users and tickets: it must never write to a CRM nobody pointed it at.
    io.err('contract-test: say where to run, exactly one of --sample <flavor>, --base-url <url> or --use-config-url\n');
    return 2;
  }
  if (opts.sample !== undefined && !(SAMPLE_CRM_FLAVORS as string[]).includes(opts.sample)) {
    io.err(`contract-test: unknown sample flavor "${opts.sample}"; known: ${SAMPLE_CRM_FLAVORS.join(', ')}\n`);
    return 2;
  }
  if (!fs.existsSync(file)) {
    io.err(`contract-test: ${file}: no such file\n`);
    return 2;
  }
  const runEnv: NodeJS.ProcessEnv = { ...env, ...(parseVars(opts.env) as Record<string, string>) };
  const target = opts.baseUrl;
  const sample = opts.sample ? await startSampleCrm({ flavor: opts.sample as SampleCrmFlavor, port: 0 }) : undefined;
  try {
    if (sample || target) {
      const name = baseUrlVariable(file);
      if (!name) {
        io.err(`${file}: base_url is not written as \${env:NAME…}, so contract-test cannot point it at ${sample ? 'the sample CRM' : target}\n`);
        return 2;
      }
      // A sample CRM also plays the CRM's OAuth server (which real CRMs may host elsewhere).
      const names = sample ? [...new Set([name, ...oauthUrlVariables(file)])] : [name];
      for (const n of names) runEnv[n] = sample?.url ?? target;
      io.out(`contract-test ${file} against ${sample ? `sample ${opts.sample} CRM at ${sample.url}` : target} (${names.join(', ')})\n`);
    } else {
      io.out(`contract-test ${file} against the base_url it configures (--use-config-url)\n`);
    }
    const report = await runContract({
      file,
      env: runEnv,
      sample: sample?.crm as never,
      vars: opts.vars ? parseVars([], opts.vars) : undefined,
      openapi: opts.openapi ? OpenApiChecker.fromFile(opts.openapi) : undefined,
      onResult: (r) => io.out(`${progressLine(r)}\n`),
    });
    io.out(`\n${table(report.results)}\n\n`);
    const failed = report.results.filter((r) => r.outcome === 'fail').length;
    io.out(`${report.connector}: ${report.results.length - failed} passed, ${failed} failed\n`);
    if (opts.junit) fs.writeFileSync(opts.junit, junit(`contract.${report.connector}`, report.results));
    return report.ok ? 0 : 1;
  } finally {
    await sample?.close();
  }
}

/** NAMEs in `auth.authorization_url` / `auth.token_url` written as `${env:NAME…}`. */
export function oauthUrlVariables(file: string): string[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { auth?: Record<string, unknown> } | null;
  return ['authorization_url', 'token_url'].flatMap((k) => {
    const v = doc?.auth?.[k];
    const m = typeof v === 'string' ? /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)/.exec(v) : null;
    return m ? [m[1]] : [];
  });
}

/** NAME in `base_url: ${env:NAME}` or `${env:NAME:-default}`. */
export function baseUrlVariable(file: string): string | undefined {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { base_url?: unknown } | null;
  const m = typeof doc?.base_url === 'string' ? /\$\{env:([A-Za-z_][A-Za-z0-9_]*)/.exec(doc.base_url) : null;
  return m?.[1];
}
