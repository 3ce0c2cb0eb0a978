/**
 * `crm-gateway contract-test <connector.yaml> [--sample <flavor> | --base-url <url>]
 *   [--junit out.xml] [--vars vars.json] [--openapi crm-openapi.yaml] [--env NAME=VALUE …]`
 *
 * With --sample, a sample CRM of that flavour is started in this process and the connector's
 * base URL variable (the NAME in `base_url: ${env:NAME…}`) is pointed at it; --base-url does
 * the same for a real CRM.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { SAMPLE_CRM_FLAVORS, startSampleCrm, type SampleCrmFlavor } from '../sample-crm';
import { parseVars } from '../cli/args';
import { OpenApiChecker } from './openapi-check';
import { junit, progressLine, table } from './report';
import { runContract } from './runner';

export const CONTRACT_USAGE = 'usage: crm-gateway contract-test <connector.yaml> [--sample <flavor> | --base-url <url>] [--junit out.xml] [--vars vars.json] [--openapi crm-openapi.yaml] [--env NAME=VALUE]';

export async function contractTestCli(args: string[], io: { out: (s: string) => void; err: (s: string) => void }, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { sample: { type: 'string' }, 'base-url': { type: 'string' }, junit: { type: 'string' }, vars: { type: 'string' }, openapi: { type: 'string' }, env: { type: 'string', multiple: true } },
  });
  const file = positionals[0];
  if (!file || (values.sample && values['base-url'])) { io.err(`${CONTRACT_USAGE}\n`); return 2; }
  if (values.sample && !(SAMPLE_CRM_FLAVORS as string[]).includes(values.sample)) {
    io.err(`unknown sample flavour "${values.sample}"; known: ${SAMPLE_CRM_FLAVORS.join(', ')}\n`);
    return 2;
  }
  const runEnv: NodeJS.ProcessEnv = { ...env, ...parseVars(values.env) as Record<string, string> };
  const target = values['base-url'];
  const sample = values.sample ? await startSampleCrm({ flavor: values.sample as SampleCrmFlavor, port: 0 }) : undefined;
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
      io.out(`contract-test ${file} against ${sample ? `sample ${values.sample} CRM at ${sample.url}` : target} (${names.join(', ')})\n`);
    }
    const report = await runContract({
      file,
      env: runEnv,
      sample: sample?.crm as never,
      vars: values.vars ? parseVars([], values.vars) : undefined,
      openapi: values.openapi ? OpenApiChecker.fromFile(values.openapi) : undefined,
      onResult: (r) => io.out(`${progressLine(r)}\n`),
    });
    io.out(`\n${table(report.results)}\n\n`);
    const failed = report.results.filter((r) => r.outcome === 'fail').length;
    io.out(`${report.connector}: ${report.results.length - failed} passed, ${failed} failed\n`);
    if (values.junit) fs.writeFileSync(values.junit, junit(`contract.${report.connector}`, report.results));
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
