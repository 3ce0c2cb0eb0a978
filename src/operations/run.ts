/**
 * Runs one operation now: variables → request → CRM → classification → extracted object
 * and ids. Implements the platform's find-by-ID fallback, the upload options (file kinds, link-only
 * when files stay in external storage, attachment by ID or URL, comment after upload), and
 * turns CRM failures into problem details that say what happened and why.
 */
import { OPERATIONS, type CompiledEndpoint, type OperationName, type RetryPolicy } from '../config/types';
import { GatewayError } from '../errors';
import { extract, type Extracted, type GuardContext } from '../http/extract';
import { renderLongText } from '../template/long-text';
import { renderText } from '../template/render';
import { readPath } from '../util/json-path';
import { isEmptyValue } from '../template/variables';
import { deriveVariables } from '../template/derived';
import type { Logger } from '../util/logger';
import type { Redaction } from '../util/redact';
import { callEndpoint, previewRequest, type AttemptRecord, type CallResult } from './call';
import { buildRequest, type FileInput } from './request';
import type { ConnectorRuntime } from './runtime';
import { checkVariables, prepareCall } from './variables';

export interface OperationInput {
  variables?: unknown;
  file?: FileInput;
}

export interface OperationOptions {
  dryRun?: boolean;
  logger: Logger;
  requestId?: string;
  now?: () => number;
  attempt?: { attempt: number; elapsedMs: number };
  policy?: RetryPolicy;
  observe?: (connector: string, operation: string, outcome: string, ms: number) => void;
  /**
   * After an upload with "add comment": run the comment now ('inline', the synchronous API)
   * or hand its variables to the caller ('defer', durable delivery enqueues it as its own write).
   */
  followUp?: 'inline' | ((variables: Record<string, unknown>) => Promise<void>);
}

export type Outcome = 'ok' | 'not_found' | 'dry_run' | 'link_only';

export interface OperationResult {
  connector: string;
  operation: OperationName;
  outcome: Outcome;
  /** The object at the response data location (finds: the chosen match). */
  data?: unknown;
  /** Ids produced, named as the variables that carry them into later calls. */
  ids: Record<string, string | number>;
  custom_id?: string | number;
  matches?: number;
  /** find_account_by_id answered 404 and find_account was used instead. */
  fallback?: OperationName;
  /** Finds with fallback searches: the search that found the match. */
  matched_by?: string;
  /** Finds with fallback searches that found nothing: the searches that ran. */
  searched_by?: string[];
  /** Matches the find guard dropped because they are not the caller (the CRM ignored a filter). */
  dropped_matches?: number;
  /** Params left out because their variables were missing or empty. */
  dropped_params_for?: string[];
  requests?: Array<Record<string, unknown>>;
  attempts: AttemptRecord[];
  follow_up?: OperationResult;
}

/** The variable that carries the id an operation produces into later calls. */
export const ID_VARIABLE: Partial<Record<OperationName, string>> = {
  find_account: 'ACCOUNT_ID',
  find_account_by_id: 'ACCOUNT_ID',
  create_account: 'ACCOUNT_ID',
  find_record: 'RECORD_ID',
  create_record: 'RECORD_ID',
  add_comment: 'COMMENT_ID',
  upload_file: 'ATTACHMENT_ID',
};

export function isOperationName(x: string): x is OperationName {
  return (OPERATIONS as readonly string[]).includes(x);
}

export async function runOperation(rt: ConnectorRuntime, op: OperationName, input: OperationInput, opts: OperationOptions): Promise<OperationResult> {
  const c = rt.connector;
  const ep = endpointFor(rt, op);
  const vars = { ...checkVariables(input.variables, c) };
  const file = input.file;
  // A multipart file sent to a base64 endpoint: the endpoint reads it from {FILE_DATA}.
  if (ep.upload?.encoding === 'base64' && file && vars.FILE_DATA === undefined) vars.FILE_DATA = file.data.toString('base64');
  if (op === 'upload_file') {
    const kind = file?.kind ?? (vars.FILE_KIND as string | undefined);
    if (kind && !ep.upload!.fileKinds.has(kind as never)) {
      throw new GatewayError(
        'file_kind_not_accepted',
        `connector ${c.id} does not send ${kind} files to the CRM (upload.file_kinds: ${[...ep.upload!.fileKinds].join(', ')})`,
        { field: 'variables.FILE_KIND' },
      );
    }
    if (!c.settings.sendFilesToCrm) return linkOnly(rt, vars, opts);
  }
  if (ep.searches.length) return runSearches(rt, op, ep, vars, opts);
  const prepared = prepareCall(vars, c, ep, opts.now?.() ?? Date.now());

  if (opts.dryRun)
    return { connector: c.id, operation: op, outcome: 'dry_run', ids: {}, attempts: [], requests: [await dryRunRequest(rt, ep, prepared, file)] };

  const attempts: AttemptRecord[] = [];
  const call = await callEndpoint(rt, ep, prepared, file, { ...opts, attempts });
  const base = { connector: c.id, operation: op, attempts, ...(call.request.dropped.length ? { dropped_params_for: call.request.dropped } : {}) };

  if (call.classification.kind === 'not_found' || call.classification.kind === 'ok') {
    const found = call.classification.kind === 'ok' ? extract(ep, call.response.body, guardContext(c, vars, prepared)) : ({ found: false } as Extracted);
    if (!found.found) {
      if (op === 'find_account_by_id' && c.endpoints.has('find_account')) {
        // An id that the CRM no longer knows falls back to find by query.
        const fallback = await runOperation(rt, 'find_account', { variables: vars }, opts);
        return { ...fallback, operation: op, fallback: 'find_account', attempts: [...attempts, ...fallback.attempts] };
      }
      if (!ep.isFind) throw failure(ep, call, attempts, 'the CRM answered that the target does not exist');
      warnDropped(opts, c.id, op, found.dropped);
      return { ...base, outcome: 'not_found', ids: {}, ...(found.dropped ? { dropped_matches: found.dropped } : {}) };
    }
    warnDropped(opts, c.id, op, found.dropped);
    const result = foundResult(rt, op, ep, base, found);
    if (op === 'upload_file') return afterUpload(rt, ep, prepared, vars, result, found.data, opts);
    return result;
  }
  throw failure(ep, call, attempts);
}

function foundResult(
  rt: ConnectorRuntime,
  op: OperationName,
  ep: CompiledEndpoint,
  base: Pick<OperationResult, 'connector' | 'operation' | 'attempts' | 'dropped_params_for'>,
  found: Extract<Extracted, { found: true }>,
): OperationResult {
  const c = rt.connector;
  const ids: Record<string, string | number> = {};
  const idVar = ID_VARIABLE[op];
  if (idVar && found.id !== undefined) ids[idVar] = found.id;
  const result: OperationResult = {
    ...base,
    outcome: 'ok',
    data: rt.redactor.redactDeep(found.data),
    ids,
    ...(ep.isFind ? { matches: found.matches } : {}),
    ...(found.dropped ? { dropped_matches: found.dropped } : {}),
  };
  if (c.settings.customIdLocation && ID_VARIABLE[op] === 'ACCOUNT_ID') {
    const r = readPath(found.data, c.settings.customIdLocation);
    if (r.found && (typeof r.value === 'string' || typeof r.value === 'number')) result.custom_id = r.value;
  }
  return result;
}

/**
 * The find guard compares the CRM's fields with the values the caller gave, not with the
 * values formatted for the search (a search pattern such as *222*333*4444 is not a number).
 */
function guardContext(c: ConnectorRuntime['connector'], vars: Record<string, unknown>, prepared: Record<string, unknown>): GuardContext {
  return { values: { ...prepared, ...vars }, region: c.phone.defaultRegion };
}

/**
 * A find with fallback searches: each in order, skipping those whose variables are all
 * empty, until one finds a match (the find guard applies to each). Several matches that
 * cannot be told apart stop the find there (ambiguous_match): a later search would only
 * hide the ambiguity.
 */
async function runSearches(
  rt: ConnectorRuntime,
  op: OperationName,
  ep: CompiledEndpoint,
  vars: Record<string, unknown>,
  opts: OperationOptions,
): Promise<OperationResult> {
  const c = rt.connector;
  const attempts: AttemptRecord[] = [];
  const tried: string[] = [];
  const requests: Array<Record<string, unknown>> = [];
  let dropped = 0;
  const given = deriveVariables(vars);
  for (const search of ep.searches) {
    const sep = search.endpoint;
    if (searchHasNoValues(sep, given)) continue;
    const prepared = prepareCall(vars, c, sep, opts.now?.() ?? Date.now());
    if (opts.dryRun) {
      requests.push({ search: search.name, ...(await dryRunRequest(rt, sep, prepared)) });
      continue;
    }
    tried.push(search.name);
    const call = await callEndpoint(rt, sep, prepared, undefined, { ...opts, attempts });
    if (call.classification.kind === 'not_found') continue;
    if (call.classification.kind !== 'ok') throw failure(sep, call, attempts);
    const found = extract(sep, call.response.body, guardContext(c, vars, prepared));
    dropped += found.dropped ?? 0;
    if (!found.found) continue;
    warnDropped(opts, c.id, op, dropped);
    const result = foundResult(rt, op, sep, { connector: c.id, operation: op, attempts }, found);
    return { ...result, matched_by: search.name, ...(dropped ? { dropped_matches: dropped } : {}) };
  }
  if (opts.dryRun) return { connector: c.id, operation: op, outcome: 'dry_run', ids: {}, attempts: [], requests };
  warnDropped(opts, c.id, op, dropped);
  return { connector: c.id, operation: op, outcome: 'not_found', ids: {}, attempts, searched_by: tried, ...(dropped ? { dropped_matches: dropped } : {}) };
}

/** A fallback search whose variables are all empty has nothing to search by: it is skipped. */
export function searchHasNoValues(search: CompiledEndpoint, given: Record<string, unknown>): boolean {
  const used = [...search.variables].filter((v) => v !== 'NOW' && v !== 'NOW_MS');
  return used.length > 0 && used.every((v) => isEmptyValue(given[v]));
}

/** The guard saved a find from a stranger: the search itself is wrong or ignored, and someone should know. */
function warnDropped(opts: OperationOptions, connector: string, operation: OperationName, dropped: number | undefined): void {
  if (dropped)
    opts.logger.warn(
      { connector, operation, dropped_matches: dropped, request_id: opts.requestId },
      'find guard dropped CRM results that are not the caller: the CRM may ignore the search filter',
    );
}

function endpointFor(rt: ConnectorRuntime, op: OperationName): CompiledEndpoint {
  const ep = rt.connector.endpoints.get(op);
  if (!ep) throw new GatewayError('operation_not_configured', `connector ${rt.connector.id} has no ${op} endpoint`, { operation: op });
  if (!ep.usable)
    throw new GatewayError(
      'operation_not_configured',
      `${op} of connector ${rt.connector.id} is never used: its URL has no {ACCOUNT_ID}; fix endpoints.${op}.url${ep.line ? ` near line ${ep.line}` : ''}`,
      { operation: op, yaml_line: ep.line },
    );
  return ep;
}

/** Attachment by ID (+ builder URL) or by URL, then the optional comment with the link. */
// `vars` (prepared, phones formatted) render the texts; `raw` is what the comment call gets,
// so its own preparation formats the numbers once, from the caller's values.
async function afterUpload(
  rt: ConnectorRuntime,
  ep: CompiledEndpoint,
  vars: Record<string, unknown>,
  raw: Record<string, unknown>,
  result: OperationResult,
  data: unknown,
  opts: OperationOptions,
): Promise<OperationResult> {
  const att = ep.upload!.attachment;
  if (att?.by === 'id' && att.idLocation) {
    const r = readPath(data, att.idLocation);
    if (!r.found) throw attachmentPathMissing(ep, 'id_location', r.failedAt);
    result.ids.ATTACHMENT_ID = r.value as string | number;
    if (att.builderUrl) {
      const url = renderText(att.builderUrl, { vars: { ...vars, ATTACHMENT_ID: r.value }, html: false, missing: new Set() }, encodeURIComponent);
      if (url) result.ids.ATTACHMENT_URL = url;
    }
  } else if (att?.by === 'url' && att.urlLocation) {
    const r = readPath(data, att.urlLocation);
    if (!r.found) throw attachmentPathMissing(ep, 'url_location', r.failedAt);
    result.ids.ATTACHMENT_URL = String(r.value);
  }
  if (ep.upload!.addComment) {
    const link = { ...vars, ATTACHMENT_ID: result.ids.ATTACHMENT_ID, ATTACHMENT_URL: result.ids.ATTACHMENT_URL ?? vars.FILE_URL };
    const body = renderLongText(ep.upload!.commentTemplate, link, rt.connector.settings.convertTextToHtml);
    const commentVars = { ...pickRequest(raw), ATTACHMENT_ID: link.ATTACHMENT_ID, ATTACHMENT_URL: link.ATTACHMENT_URL, COMMENT_BODY: body };
    if (typeof opts.followUp === 'function') await opts.followUp(commentVars);
    else result.follow_up = await runOperation(rt, 'add_comment', { variables: commentVars }, opts);
  }
  return result;
}

function attachmentPathMissing(ep: CompiledEndpoint, setting: 'id_location' | 'url_location', failedAt: string): GatewayError {
  return new GatewayError(
    'crm_response_invalid',
    `upload_file: upload.attachment.${setting} not found in the response (failed at "${failedAt}")${ep.line ? `; fix endpoints.upload_file near line ${ep.line}` : ''}`,
    { operation: 'upload_file', yaml_line: ep.line },
  );
}

/** With "send session files to the CRM" off, the CRM only gets a comment with the file's link. */
async function linkOnly(rt: ConnectorRuntime, vars: Record<string, unknown>, opts: OperationOptions): Promise<OperationResult> {
  if (!vars.FILE_URL)
    throw new GatewayError('missing_variable', 'send_files_to_crm is off, so upload_file posts the link: FILE_URL is required', { variables: ['FILE_URL'] });
  const template = rt.connector.endpoints.get('upload_file')!.upload!.commentTemplate;
  const body = renderLongText(template, { ...vars, ATTACHMENT_URL: vars.FILE_URL }, rt.connector.settings.convertTextToHtml);
  const comment = await runOperation(rt, 'add_comment', { variables: { ...pickRequest(vars), COMMENT_BODY: body } }, opts);
  return {
    ...comment,
    operation: 'upload_file',
    outcome: opts.dryRun ? 'dry_run' : 'link_only',
    ids: { ...comment.ids, ATTACHMENT_URL: String(vars.FILE_URL) },
  };
}

/** Variables to carry into a follow-up call: everything but the file itself. */
function pickRequest(vars: Record<string, unknown>): Record<string, unknown> {
  const { FILE_DATA: _file, ...rest } = vars;
  return rest;
}

/** The request a dry run would send, with its auth headers, as the caller sees it (masked). */
async function dryRunRequest(rt: ConnectorRuntime, ep: CompiledEndpoint, vars: Record<string, unknown>, file?: FileInput): Promise<Record<string, unknown>> {
  const req = buildRequest(rt.connector, ep, vars, file);
  const headers = { ...req.headers };
  await rt.auth.apply(headers, { dryRun: true });
  return preview(rt, { ...req, headers }, vars);
}

/** A dry run's request as the caller sees it: masked here, so no caller of it can forget to. */
function preview(rt: ConnectorRuntime, req: Parameters<typeof previewRequest>[0], vars: Record<string, unknown>): Record<string, unknown> {
  let p = previewRequest(req);
  // A base64 file is the one value nobody wants to read in a preview.
  if (typeof vars.FILE_DATA === 'string' && vars.FILE_DATA.length > 64) {
    p = JSON.parse(JSON.stringify(p).split(vars.FILE_DATA).join(`<base64, ${vars.FILE_DATA.length} characters>`));
  }
  return rt.redactor.redactDeep(p);
}

/**
 * Network errors raised before the request could leave: the CRM cannot have acted on it.
 * Every other failure without an answer (timeout, reset, socket closed) may have reached it.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The CRM's verdict on a failed call, typed: what the durable worker decides from (retry
 * when, or give up; whether the CRM may have acted), while the API shows it as a problem
 * through the GatewayError it also is (the extensions keep the problem+json members).
 */
export class CrmFailure extends GatewayError {
  readonly kind: 'retry' | 'fail' | 'not_found';
  readonly reason: string;
  /** retry: how long to wait (Retry-After or backoff). */
  readonly waitMs?: number;
  /** retry: the wait came from the CRM's Retry-After, so it does not count as a failed try. */
  readonly fromRetryAfter: boolean;
  /** retry: the CRM said "later" (429, or 503 with Retry-After): it never uses up an attempt. */
  readonly rateLimited: boolean;
  readonly crmStatus?: number;
  readonly attempts: AttemptRecord[];
  /** No answer came back to a request that may have been sent: the CRM may have done it. */
  readonly ambiguous: boolean;

  constructor(
    code: 'crm_unreachable' | 'crm_retry_later' | 'crm_request_failed',
    detail: string,
    extensions: Record<string, unknown>,
    verdict: {
      classification: CallResult['classification'];
      crmStatus?: number;
      attempts: AttemptRecord[];
      ambiguous: boolean;
      redactor: Redaction;
    },
  ) {
    super(code, detail, extensions);
    const c = verdict.classification;
    this.kind = c.kind === 'ok' ? 'fail' : c.kind;
    this.reason = c.kind === 'ok' ? detail : verdict.redactor.redact(c.reason);
    this.waitMs = c.kind === 'retry' ? c.waitMs : undefined;
    this.fromRetryAfter = c.kind === 'retry' && Boolean(c.fromRetryAfter);
    this.rateLimited = c.kind === 'retry' && Boolean(c.rateLimited);
    this.crmStatus = verdict.crmStatus;
    this.attempts = verdict.attempts;
    this.ambiguous = verdict.ambiguous;
  }
}

export function isCrmFailure(e: unknown): e is CrmFailure {
  return e instanceof CrmFailure;
}

/** A classified CRM answer that is not a success, as the problem the caller (or the durable worker) gets. */
export function failure(ep: CompiledEndpoint, call: CallResult, attempts: AttemptRecord[], extra?: string): CrmFailure {
  const { response, classification } = call;
  const verdict = {
    classification,
    crmStatus: response.status,
    attempts,
    // A search (even one sent as a POST) changes nothing in the CRM: only writes can be ambiguous.
    ambiguous: response.status === undefined && ep.method !== 'GET' && !ep.isFind && !NOT_SENT.has(response.networkError ?? ''),
    redactor: call.redactor,
  };
  const crmBody =
    response.body === undefined
      ? undefined
      : call.redactor.redact(typeof response.body === 'string' ? response.body : JSON.stringify(response.body)).slice(0, 2000);
  const ext = {
    operation: ep.operation,
    classification: classification.kind,
    reason: call.redactor.redact(classification.reason),
    crm_status: response.status,
    crm_body: crmBody,
    attempts,
  };
  if (response.status === undefined) {
    return new CrmFailure(
      'crm_unreachable',
      `${ep.operation}: ${classification.reason}`,
      { ...ext, ...(classification.kind === 'retry' ? { retry_after_ms: classification.waitMs } : {}) },
      verdict,
    );
  }
  if (classification.kind === 'retry') {
    return new CrmFailure(
      'crm_retry_later',
      `${ep.operation}: ${classification.reason}; retry in ${Math.ceil(classification.waitMs / 1000)} s`,
      {
        ...ext,
        retry_after_ms: classification.waitMs,
        ...(classification.fromRetryAfter ? { from_retry_after: true } : {}),
        ...(classification.rateLimited ? { rate_limited: true, retry_after: Math.ceil(classification.waitMs / 1000) } : {}),
      },
      verdict,
    );
  }
  return new CrmFailure('crm_request_failed', `${ep.operation}: ${extra ?? classification.reason}`, ext, verdict);
}
