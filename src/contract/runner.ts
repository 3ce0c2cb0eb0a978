/**
 * Contract test of one connector against a CRM (a sample CRM, or a real one by URL): every
 * configured operation in dependency order with generated variables, the checks that prove
 * the configuration right (ids extracted, a search finds what was just created, find-by-ID
 * falls back), then the negative cases a sample CRM can provoke (injected 400 → retry
 * scheduled, expired token → refresh) and the idempotency of durable writes. Every failure
 * says what to fix and where in the YAML.
 */
import fs from 'node:fs';
import { compileConnector } from '../config/compile';
import type { CompiledEndpoint, CompiledSearch, Connector, OperationName } from '../config/types';
import { formatIssue } from '../config/yaml-source';
import { SqliteStore } from '../delivery/sqlite-store';
import { DeliveryService } from '../delivery/service';
import { DeliveryWorker } from '../delivery/worker';
import { isGatewayError } from '../errors';
import { Gateway } from '../gateway';
import type { ListenAddresses } from '../http/ssrf';
import { buildRequest } from '../operations/request';
import { runOperation, type OperationResult } from '../operations/run';
import { prepareCall } from '../operations/variables';
import { silentLogger } from '../util/logger';
import type { Redaction } from '../util/redact';
import type { OpenApiChecker } from './openapi-check';
import type { CheckResult } from './report';
import { generatedVariables } from './variables';

export interface SampleControl {
  injectFault(spec: { method?: string; path?: string; status?: number; times?: number; body?: unknown }): unknown;
  expireAllTokens?(): void;
}

export interface ContractOptions {
  file: string;
  env: NodeJS.ProcessEnv;
  /** Present when running against a sample CRM: enables the negative cases. */
  sample?: SampleControl;
  vars?: Record<string, unknown>;
  openapi?: OpenApiChecker;
  onResult?: (r: CheckResult) => void;
  /** Run inside a serving gateway: its addresses, which the checks must never call. */
  listen?: ListenAddresses;
  /** Aborted: no further check starts (the one in flight finishes); the gateway is stopping. */
  signal?: AbortSignal;
}

export interface ContractReport {
  connector: string;
  results: CheckResult[];
  ok: boolean;
}

export async function runContract(o: ContractOptions): Promise<ContractReport> {
  const results: CheckResult[] = [];
  const push = (r: CheckResult) => {
    results.push(r);
    o.onResult?.(r);
  };
  const text = fs.readFileSync(o.file, 'utf8');
  const compiled = compileConnector(text, o.file, o.env);
  if (!compiled.connector) {
    push({
      name: 'configuration loads',
      operation: 'config',
      request: '-',
      status: '-',
      outcome: 'fail',
      ms: 0,
      message: compiled.issues.map(formatIssue).join('\n      '),
    });
    return { connector: compiled.id, results, ok: false };
  }
  const c = compiled.connector;
  push({
    name: 'configuration loads',
    operation: 'config',
    request: '-',
    status: '-',
    outcome: 'pass',
    ms: 0,
    message: c.warnings.map(formatIssue).join('; ') || undefined,
  });

  const gateway = new Gateway({ configFiles: [o.file], env: o.env, logger: silentLogger, listen: o.listen });
  gateway.load();
  const rt = gateway.runtime(c.id);
  const authLine = lineOf(text, /^auth:/m);
  const ctx = new Ctx(o, c, push, authLine, results, gateway.redactor);
  const vars: Record<string, unknown> = { ...generatedVariables(), ...(o.vars ?? {}) };

  if (c.auth.type === 'oauth2' && c.auth.grant === 'authorization_code') {
    const ok = await ctx.check('OAuth authorization (authorize → callback)', 'auth', '-', async () => {
      const start = await fetch(gateway.beginAuthorization(c.id), { redirect: 'manual' });
      const location = start.headers.get('location');
      if (!location) throw new Error(`the authorization URL answered ${start.status} without a redirect: check auth.authorization_url (line ${authLine})`);
      const back = new URL(location);
      await gateway.completeAuthorization(back.searchParams.get('state') ?? undefined, back.searchParams.get('code') ?? undefined);
      return { status: String(start.status) };
    });
    if (!ok) return ctx.report();
  }

  const run = (op: OperationName, v: Record<string, unknown>, file = false) =>
    runOperation(rt, op, { variables: v, file: file ? fileOf(v) : undefined }, { logger: silentLogger, followUp: 'inline' });
  const has = (op: OperationName) => c.endpoints.get(op)?.usable === true;
  const ids: Record<string, string | number> = {};

  if (has('find_account')) {
    await ctx.op(
      'find_account: no match for a caller the CRM has never seen',
      'find_account',
      () => run('find_account', vars),
      (r) => {
        if (r.outcome !== 'not_found')
          return `expected not_found, got ${r.outcome} with ${JSON.stringify(r.ids)}: the search matches callers it should not; check endpoints.find_account.params${at(c, 'find_account')}`;
        // The find guard saved the day: the runtime is safe, but the search itself is wrong.
        if (r.dropped_matches)
          return `the CRM returned ${r.dropped_matches} result(s) that are not the caller (it ignores the search filter, or the filter is wrong); the find guard (match:) dropped them, but check endpoints.find_account.${c.endpoints.get('find_account')!.searches.length ? 'searches' : 'params'}${at(c, 'find_account')}`;
        return true;
      },
    );
  }
  if (has('create_account')) {
    await ctx.op(
      'create_account: creates the caller and returns ACCOUNT_ID',
      'create_account',
      () => run('create_account', vars),
      (r) => {
        if (r.ids.ACCOUNT_ID === undefined) return `no ACCOUNT_ID extracted; check id_location${at(c, 'create_account')}`;
        ids.ACCOUNT_ID = r.ids.ACCOUNT_ID;
        return true;
      },
    );
  }
  if (has('find_account') && ids.ACCOUNT_ID !== undefined) {
    const searches = c.endpoints.get('find_account')!.searches;
    if (searches.length === 0) {
      await ctx.op(
        'find_account: finds the caller just created',
        'find_account',
        () => run('find_account', vars),
        (r) =>
          (r.outcome === 'ok' && String(r.ids.ACCOUNT_ID) === String(ids.ACCOUNT_ID)) ||
          `expected ACCOUNT_ID ${ids.ACCOUNT_ID}, got ${r.outcome === 'ok' ? r.ids.ACCOUNT_ID : 'not_found'}: the search syntax or the phone format does not match what create_account stored; check endpoints.find_account.params and phone.format${at(c, 'find_account')}`,
      );
    }
    // Fallback searches: each one must find the caller on its own, or it is dead weight.
    for (const [i, search] of searches.entries()) {
      await ctx.op(
        `find_account: finds the caller just created (search ${search.name})`,
        'find_account',
        () => run('find_account', onlyFor(searches, i, vars)),
        (r) =>
          (r.outcome === 'ok' && r.matched_by === search.name && String(r.ids.ACCOUNT_ID) === String(ids.ACCOUNT_ID)) ||
          `expected ACCOUNT_ID ${ids.ACCOUNT_ID} from search ${search.name}, got ${r.outcome === 'ok' ? `${r.ids.ACCOUNT_ID} from ${r.matched_by}` : r.searched_by?.includes(search.name) ? 'not_found' : 'the search skipped (none of its variables has a value)'}: the search syntax or the phone format does not match what create_account stored; check endpoints.find_account.searches[${i}] and phone.format${at(c, 'find_account')}`,
      );
    }
  }
  if (has('find_account_by_id') && ids.ACCOUNT_ID !== undefined) {
    await ctx.op(
      'find_account_by_id: finds the caller by id',
      'find_account_by_id',
      () => run('find_account_by_id', { ...vars, ACCOUNT_ID: ids.ACCOUNT_ID }),
      (r) =>
        (r.outcome === 'ok' && !r.fallback && String(r.ids.ACCOUNT_ID) === String(ids.ACCOUNT_ID)) ||
        `expected ACCOUNT_ID ${ids.ACCOUNT_ID} without fallback, got ${r.outcome}${r.fallback ? ' via fallback' : ''}${at(c, 'find_account_by_id')}`,
    );
    await ctx.op(
      'find_account_by_id: an unknown id falls back to find_account',
      'find_account_by_id',
      () => run('find_account_by_id', { ...vars, ACCOUNT_ID: unknownIdLike(ids.ACCOUNT_ID) }),
      (r) =>
        (r.fallback === 'find_account' && String(r.ids.ACCOUNT_ID) === String(ids.ACCOUNT_ID)) ||
        `expected the fallback to find the caller, got ${r.outcome}${r.fallback ? '' : ' without fallback'}: the CRM's answer for an unknown id must be one of not_found_statuses${at(c, 'find_account_by_id')}`,
    );
  }
  const withAccount = { ...vars, ...ids };
  if (has('create_record')) {
    await ctx.op(
      'create_record: creates a record linked to the account',
      'create_record',
      () => run('create_record', withAccount),
      (r) => {
        if (r.ids.RECORD_ID === undefined) return `no RECORD_ID extracted; check id_location${at(c, 'create_record')}`;
        ids.RECORD_ID = r.ids.RECORD_ID;
        return true;
      },
    );
  }
  if (has('find_record') && ids.RECORD_ID !== undefined) {
    await ctx.op(
      'find_record: finds the open record of the account',
      'find_record',
      () => run('find_record', { ...withAccount, ...ids }),
      (r) =>
        (r.outcome === 'ok' && String(r.ids.RECORD_ID) === String(ids.RECORD_ID)) ||
        `expected RECORD_ID ${ids.RECORD_ID}, got ${r.outcome === 'ok' ? r.ids.RECORD_ID : 'not_found'}; check endpoints.find_record.params${at(c, 'find_record')}`,
    );
  }
  const withRecord = { ...vars, ...ids };
  if (has('update_record') && ids.RECORD_ID !== undefined) {
    await ctx.op(
      'update_record: updates the record',
      'update_record',
      () => run('update_record', { ...withRecord, TICKET_SUBJECT: `${vars.TICKET_SUBJECT} (updated)` }),
      (r) => r.outcome === 'ok' || `got ${r.outcome}`,
    );
  }
  if (has('add_comment') && ids.RECORD_ID !== undefined) {
    await ctx.op(
      'add_comment: comments on the record',
      'add_comment',
      () => run('add_comment', withRecord),
      (r) => r.outcome === 'ok' || `got ${r.outcome}`,
    );
  }
  if (has('upload_file') && ids.RECORD_ID !== undefined) {
    const ep = c.endpoints.get('upload_file')!;
    await ctx.op(
      'upload_file: uploads a file and extracts the attachment',
      'upload_file',
      () => run('upload_file', withRecord, true),
      (r) => {
        if (r.outcome === 'link_only') return true;
        if (ep.upload?.attachment?.by === 'id' && r.ids.ATTACHMENT_ID === undefined)
          return `no ATTACHMENT_ID; check upload.attachment.id_location${at(c, 'upload_file')}`;
        if (ep.upload?.attachment && r.ids.ATTACHMENT_URL === undefined && ep.upload.attachment.by === 'url')
          return `no ATTACHMENT_URL; check upload.attachment.url_location${at(c, 'upload_file')}`;
        return true;
      },
    );
  }

  await idempotencyCheck(ctx, gateway, c, vars);
  if (o.sample) await negativeCases(ctx, o.sample, c, run, { ...vars, ...ids });
  if (o.openapi) openapiChecks(ctx, c, { ...vars, ...ids }, o.openapi);
  return ctx.report();
}

/** A durable create sent twice with one Idempotency-Key reaches the CRM once. */
async function idempotencyCheck(ctx: Ctx, gateway: Gateway, c: Connector, vars: Record<string, unknown>): Promise<void> {
  const op: OperationName | undefined = c.endpoints.get('create_account') ? 'create_account' : undefined;
  if (!op) return;
  const store = new SqliteStore(':memory:');
  await store.migrate();
  try {
    const service = new DeliveryService(store, gateway);
    const worker = new DeliveryWorker({ store, gateway, logger: silentLogger });
    // Another caller, so nothing unique in the CRM (email, external id) clashes with the first run.
    const again = {
      ...vars,
      NAME: `${vars.NAME} idem`,
      EMAIL: `idem-${vars.EMAIL}`,
      SDK_IDENTIFIER: `idem-${vars.SDK_IDENTIFIER}`,
      PHONE_NUMBER: String(vars.PHONE_NUMBER).replace(/555/, '556'),
    };
    await ctx.check('idempotency: the same key twice creates one account', op, `${c.endpoints.get(op)!.method} (durable, Idempotency-Key)`, async () => {
      const first = await service.accept(c.id, op, { variables: again }, { idempotencyKey: 'contract-test' });
      await worker.drain();
      const second = await service.accept(c.id, op, { variables: again }, { idempotencyKey: 'contract-test' });
      await worker.drain();
      const d = await store.get(first.delivery.id);
      if (second.created || second.delivery.id !== first.delivery.id) throw new Error('the second request made a new delivery');
      if (d?.status !== 'delivered') throw new Error(`the delivery is ${d?.status}: ${d?.lastError?.message ?? ''}`);
      const counts = await store.counts();
      if (counts.delivered !== 1 || d.attempts !== 1)
        throw new Error(`expected one delivery with one attempt, got ${JSON.stringify(counts)}, attempts ${d.attempts}`);
      return { status: 'delivered once' };
    });
  } finally {
    await store.close();
  }
}

async function negativeCases(
  ctx: Ctx,
  sample: SampleControl,
  c: Connector,
  run: (op: OperationName, v: Record<string, unknown>) => Promise<OperationResult>,
  vars: Record<string, unknown>,
): Promise<void> {
  // create_record needs the account from earlier checks; without it, provoke the 400 on create_account.
  const target: OperationName | undefined =
    c.endpoints.get('create_record') && vars.ACCOUNT_ID !== undefined ? 'create_record' : c.endpoints.get('create_account') ? 'create_account' : undefined;
  if (target) {
    const ep = c.endpoints.get(target)!;
    const path = new URL(renderedUrl(c, ep, vars)).pathname;
    await ctx.check('negative: an injected HTTP 400 is classified retryable (spec policy)', target, `${ep.method} ${path}`, async () => {
      sample.injectFault({ method: ep.method, path, status: 400, times: 1, body: { error: 'injected by contract-test' } });
      try {
        await run(target, vars);
      } catch (e) {
        if (isGatewayError(e) && e.extensions.classification === (c.retry.retryableStatuses.includes(400) ? 'retry' : 'fail')) return { status: '400' };
        throw e;
      }
      throw new Error('the injected 400 was not seen: the request did not go where the fault was set');
    });
  }
  if (c.auth.type === 'oauth2' && sample.expireAllTokens && c.endpoints.get('find_account')) {
    await ctx.check('negative: an expired token is refreshed after a 401', 'find_account', 'GET/POST find_account', async () => {
      sample.expireAllTokens!();
      const r = await run('find_account', vars);
      const statuses = r.attempts.map((a) => a.status);
      if (!statuses.includes(401)) throw new Error(`expected a 401 then a retry, saw ${statuses.join(', ')}`);
      return { status: statuses.join('→') };
    });
  }
}

function openapiChecks(ctx: Ctx, c: Connector, vars: Record<string, unknown>, checker: OpenApiChecker): void {
  // A find with fallback searches sends only its searches' requests.
  const sent = [...c.endpoints.values()].flatMap((ep) => (ep.searches.length ? ep.searches.map((s) => s.endpoint) : [ep]));
  for (const ep of sent) {
    if (!ep.usable) continue;
    const started = performance.now();
    let request = '-';
    try {
      const prepared = prepareCall(vars, c, ep, Date.now());
      const req = buildRequest(c, ep, prepared, ep.upload ? fileOf(vars) : undefined);
      request = `${req.method} ${new URL(req.url).pathname}`;
      const problems = checker.check(req);
      ctx.record({
        name: `openapi: ${ep.operation} matches the CRM's API description`,
        operation: ep.operation,
        request,
        status: '-',
        outcome: problems.length ? 'fail' : 'pass',
        ms: performance.now() - started,
        message: problems.length ? `${problems.join('; ')}${at(c, ep.operation)}` : undefined,
      });
    } catch (e) {
      ctx.record({
        name: `openapi: ${ep.operation} matches the CRM's API description`,
        operation: ep.operation,
        request,
        status: '-',
        outcome: 'fail',
        ms: performance.now() - started,
        message: (e as Error).message,
      });
    }
  }
}

class Ctx {
  constructor(
    readonly _o: ContractOptions,
    private readonly c: Connector,
    private readonly push: (r: CheckResult) => void,
    private readonly authLine: number | undefined,
    private readonly results: CheckResult[],
    private readonly redactor: Redaction,
  ) {}

  record(r: CheckResult): void {
    r.message = r.message && this.redactor.redact(r.message);
    r.request = this.redactor.redact(r.request);
    this.push(r);
  }

  /** Runs one operation and judges the result; any error becomes a failure that says where to look. */
  async op(name: string, op: OperationName, fn: () => Promise<OperationResult>, judge: (r: OperationResult) => true | string): Promise<boolean> {
    if (this._o.signal?.aborted) return false;
    const started = performance.now();
    try {
      const r = await fn();
      const verdict = judge(r);
      const last = r.attempts.at(-1);
      this.record({
        name,
        operation: op,
        request: last?.request ?? '-',
        status: r.attempts.map((a) => a.status ?? a.network_error).join('→') || '-',
        outcome: verdict === true ? 'pass' : 'fail',
        ms: performance.now() - started,
        message: verdict === true ? undefined : verdict,
      });
      return verdict === true;
    } catch (e) {
      this.record({
        name,
        operation: op,
        request: requestOf(e),
        status: statusOf(e),
        outcome: 'fail',
        ms: performance.now() - started,
        message: explain(e, this.c, op, this.authLine),
      });
      return false;
    }
  }

  async check(name: string, op: string, request: string, fn: () => Promise<{ status: string }>): Promise<boolean> {
    if (this._o.signal?.aborted) return false;
    const started = performance.now();
    try {
      const { status } = await fn();
      this.record({ name, operation: op, request, status, outcome: 'pass', ms: performance.now() - started });
      return true;
    } catch (e) {
      this.record({
        name,
        operation: op,
        request: requestOf(e) === '-' ? request : requestOf(e),
        status: statusOf(e),
        outcome: 'fail',
        ms: performance.now() - started,
        message: explain(e, this.c, op as OperationName, this.authLine),
      });
      return false;
    }
  }

  report(): ContractReport {
    return { connector: this.c.id, results: this.results, ok: this.results.every((r) => r.outcome !== 'fail') };
  }
}

function explain(e: unknown, c: Connector, op: OperationName, authLine?: number): string {
  if (!isGatewayError(e)) return (e as Error)?.message ?? String(e);
  const status = e.extensions.crm_status;
  if (e.extensions.oauth_grant !== undefined || e.extensions.oauth_error !== undefined)
    return `${e.message}: check auth:${authLine ? ` at ${c.file}:${authLine}` : ''}`;
  if (status === 401 || status === 403) return `the CRM refused the credentials (HTTP ${status}): check auth:${authLine ? ` at ${c.file}:${authLine}` : ''}`;
  if (e.code === 'crm_response_invalid') return e.message;
  const body = typeof e.extensions.crm_body === 'string' ? ` — CRM said: ${e.extensions.crm_body.slice(0, 300)}` : '';
  return `${e.message}${body}${at(c, op)}`;
}

function at(c: Connector, op: OperationName): string {
  const line = c.endpoints.get(op)?.line;
  return line ? ` (endpoints.${op} at ${c.file}:${line})` : '';
}

function requestOf(e: unknown): string {
  const attempts = isGatewayError(e) ? (e.extensions.attempts as Array<{ request: string }> | undefined) : undefined;
  return attempts?.at(-1)?.request ?? '-';
}

function statusOf(e: unknown): string {
  if (!isGatewayError(e)) return 'error';
  const attempts = e.extensions.attempts as Array<{ status?: number; network_error?: string }> | undefined;
  return attempts?.map((a) => a.status ?? a.network_error).join('→') || e.code;
}

function lineOf(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  return m ? text.slice(0, m.index).split('\n').length : undefined;
}

function fileOf(v: Record<string, unknown>) {
  return { data: Buffer.from(String(v.FILE_DATA ?? ''), 'base64'), name: String(v.FILE_NAME), type: String(v.FILE_TYPE), kind: v.FILE_KIND as never };
}

function renderedUrl(c: Connector, ep: CompiledEndpoint, vars: Record<string, unknown>): string {
  return buildRequest(c, ep, prepareCall(vars, c, ep, Date.now()), ep.upload ? fileOf(vars) : undefined).url;
}

/**
 * The variables with which only search i of a find runs: the values only other searches use
 * are left out, so those searches are skipped (a search whose variables are all empty is).
 */
function onlyFor(searches: readonly CompiledSearch[], i: number, vars: Record<string, unknown>): Record<string, unknown> {
  const own = searches[i].endpoint.variables;
  const others = new Set(searches.flatMap((s, k) => (k === i ? [] : [...s.endpoint.variables])));
  return Object.fromEntries(Object.entries(vars).filter(([k]) => own.has(k) || !others.has(k)));
}

/** An id of the same shape the CRM would not know. */
function unknownIdLike(id: string | number): string | number {
  if (typeof id === 'number') return 990_000_000 + (id % 1000);
  return /^\d+$/.test(id) ? String(990_000_000 + (Number(id.slice(-3)) || 0)) : `${id.slice(0, -3)}ZZZ`;
}
