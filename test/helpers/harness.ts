/**
 * Real parts over loopback: a sample CRM and a gateway server, both on random ports, with
 * a connector YAML written to a temp dir. Tests talk HTTP to the gateway and assert on the
 * CRM's state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { serve, type RunningGateway } from '../../src/cli/serve';
import { startSampleCrm, type RunningSampleCrm, type SampleCrmOptions } from '../../src/sample-crm';
import { Redactor } from '../../src/util/redact';

export const ROOT = path.join(__dirname, '../..');

export interface Harness {
  crm: RunningSampleCrm;
  gw: RunningGateway;
  dir: string;
  /** Every log line the gateway wrote. */
  logs: string[];
  op(
    operation: string,
    variables?: Record<string, unknown>,
    opts?: { query?: string; connector?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  get(pathAndQuery: string): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Connector YAML texts by file name; `{{CRM}}` is replaced by the sample CRM's URL. */
  connectors?: Record<string, string>;
  /** Sample CRM options, e.g. `{ flavor: 'hubspot' }`. */
  crm?: SampleCrmOptions;
  /** Environment for the gateway; `{{CRM}}` in a value is replaced by the sample CRM's URL. */
  env?: Record<string, string>;
  /** API keys to require; default none (the API's auth has its own tests). */
  apiKeys?: import('../../src/access/api-keys').ApiKeys;
}

/**
 * An OAuth 2 authorization-code connector on the Zendesk sample CRM (its consent page answers at
 * once): what an admin must "Connect" before it can call the CRM.
 */
export const OAUTH_YAML = `id: oauthy
name: Zendesk via OAuth
base_url: \${env:ZENDESK_URL}
allow_private_network: [127.0.0.1]
auth:
  type: oauth2
  grant: authorization_code
  authorization_url: \${env:ZENDESK_URL}/oauth/authorizations/new
  token_url: \${env:ZENDESK_URL}/oauth/tokens
  client_id: sample-client
  client_secret: sample-secret
settings: { skip_account_creation: true }
endpoints:
  find_account:
    method: GET
    url: /api/v2/search.json
    params: { query: "type:user phone:{PHONE_NUMBER}" }
    response_data_location: results
`;

export function bundled(name: string): string {
  return fs.readFileSync(path.join(ROOT, 'config', name), 'utf8');
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const crm = (await startSampleCrm({ port: 0, ...opts.crm } as never)) as RunningSampleCrm;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-gw-'));
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  for (const [file, text] of Object.entries(opts.connectors ?? { 'zendesk.yaml': bundled('zendesk.yaml') })) {
    fs.writeFileSync(path.join(configDir, file), text.split('{{CRM}}').join(crm.url));
  }
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const redactor = new Redactor();
  const logger = pino({ level: 'debug', hooks: { streamWrite: (s: string) => redactor.redact(s) } }, sink);
  const env = Object.fromEntries(Object.entries(opts.env ?? {}).map(([k, v]) => [k, v.split('{{CRM}}').join(crm.url)]));
  const gw = await serve({
    port: 0,
    configDir,
    dataDir: path.join(dir, 'data'),
    env: { ...process.env, ZENDESK_URL: crm.url, ...env },
    logger,
    redactor,
    apiKeys: opts.apiKeys ?? null,
  });
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(gw.url + url, {
      method,
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  return {
    crm,
    gw,
    dir,
    logs,
    op: (operation, variables = {}, o = {}) =>
      call('POST', `/v1/connectors/${o.connector ?? 'zendesk'}/operations/${operation}${o.query ?? ''}`, { variables }, o.headers),
    get: (p) => call('GET', p),
    async close() {
      await gw.close();
      await crm.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
