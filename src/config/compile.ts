/**
 * Connector file → immutable `Connector`. Runs every check and reports all problems at
 * once, each with file:line:column and path: YAML syntax, missing ${env:…}, schema,
 * unknown {VARIABLE}s, malformed functions, GET with a body, the dependency rules between endpoints.
 */
import path from 'node:path';
import { compileText, compileValue, collectVariables, type TemplateIssue, type TemplateNode, type TextPart } from '../template/compile';
import { REQUEST_VARIABLE_SET, LOOKUP_VARIABLE_SET, PHONE_VARIABLES, suggestVariable } from '../template/variables';
import type { MatchRule } from '../http/match-guard';
import { templateVariables, checkTextTemplate } from '../template/long-text';
import { parseJsonPath, type JsonPath } from '../util/json-path';
import { resolveEnv, shortCredentials, withReferences } from './env';
import { hasTemplatedHost } from '../http/ssrf';
import { validateSchema } from './schema';
import { compileSignedCustomData, signedCustomDataProblems } from './signed-data-key';
import { retryPolicyFrom } from './retry-policy';
import { compileRateLimit } from './rate-limit';
import { issueAt, parseYaml, type PathSegment, type YamlSource } from './yaml-source';
import {
  FIND_FOR_CREATE,
  FIND_OPERATIONS,
  FILE_KINDS,
  OPERATIONS,
  type Auth,
  type CompiledEndpoint,
  type CompiledSearch,
  type ConfigIssue,
  type Connector,
  type ConnectorFile,
  type EndpointFile,
  type OperationName,
  type Flows,
  type FlowsFile,
  type FlowTemplate,
  type EventsFile,
} from './types';
import { IDENTITY_FIELDS, parseIdentityPath, type IdentityField, type IdentityPath, type IdentityRule } from './identity-paths';
/** events.unidentified_after_seconds default: an hour, longer than almost any call or chat. */
export const DEFAULT_UNIDENTIFIED_AFTER_SECONDS = 3600;
import { DEFAULT_FLOW_TEMPLATES } from './default-texts';
import { GATEWAY_EVENTS, PLATFORM_EVENTS } from './event-types';
import { FIELD_MAPPING_MOMENTS, type CompiledFlowPost, type FieldMappings } from './types';
import { compileZoomWebhooks, zoomSecrets } from './zoom-webhooks';
import { compileOutcomeEmail } from './outcome-email';
import { compileMetadataFile, compileStorage, storageSecrets } from './storage';
import { compileBatch, type BatchCompiler } from './batch';

export interface CompileResult {
  connector?: Connector;
  /** Errors and warnings; `connector` is set only when there is no error. */
  issues: ConfigIssue[];
  id: string;
}

// `{NAME}` or `{NAME:cast}` (the cast itself is checked where the template is compiled).
const VAR_RE = /\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]\w*)?\}/g;
/** Limits that keep one connector from costing every request (or the loader) unbounded work. */
export const MAX_PARAMS_PER_ENDPOINT = 500;
export const MAX_TEMPLATE_CHARS = 65_536;
/** Set by the gateway for a session; a flow post may not set them. */
const GATEWAY_SET_VARIABLES: ReadonlySet<string> = new Set([
  'SESSION_ID',
  'CREATED_MARKER',
  'MAPPED_FIELDS',
  'MAPPED_FIELDS_NOTE',
  'FILE_DATA',
  'NOW',
  'NOW_MS',
  'EVENT_TYPE',
]);
/** A mapped field's longest text (a Zendesk multi-line text field holds 64 KiB). */
export const DEFAULT_FIELD_MAX_LENGTH = 65_535;
const DEFAULT_UPLOAD_COMMENT = 'File {{FILE_NAME}} ({{FILE_KIND}}): {{ATTACHMENT_URL}}';

export function compileConnector(text: string, file: string, env: NodeJS.ProcessEnv = process.env): CompileResult {
  const fallbackId = path.basename(file).replace(/\.ya?ml$/i, '');
  const src = parseYaml(text, file);
  if (src.errors.some((e) => e.severity === 'error')) return { issues: src.errors, id: fallbackId };
  if (src.value === null || typeof src.value !== 'object' || Array.isArray(src.value)) {
    return { issues: [issueAt(src, [], 'a connector file must be a YAML mapping (auth:, endpoints:, …)')], id: fallbackId };
  }
  const issues: ConfigIssue[] = [...src.errors];
  const envd = resolveEnv(src.value, env);
  for (const m of envd.missing) issues.push(issueAt(src, m.path, `environment variable ${m.name} is not set (referenced as \${env:${m.name}})`));
  issues.push(...validateSchema(src, envd.value));

  const cfg = envd.value as ConnectorFile;
  const id = typeof cfg.id === 'string' ? cfg.id : fallbackId;
  const ctx = new Checker(src, cfg, issues);
  const endpoints = ctx.endpoints();
  ctx.dependencyRules();
  const lookupUrls = ctx.lookupUrls();
  const settings = ctx.settings();
  const flows = ctx.flows(settings.reuseRecords);
  const events = ctx.events();
  const flowPosts = ctx.flowPosts();
  const fieldMappings = ctx.fieldMappings(endpoints);
  const rateLimit = compileRateLimit(cfg.rate_limit, endpoints, (p, m) => issues.push(issueAt(src, ['rate_limit', ...p], m)));
  const zoom = compileZoomWebhooks(cfg.webhooks?.zoom, (p, m) => issues.push(issueAt(src, ['webhooks', 'zoom', ...p], m)));
  const outcomeEmail = compileOutcomeEmail(cfg.outcome_email, ctx.known, (p, m, severity) => issues.push(issueAt(src, p, m, severity)));
  // External storage and the session metadata file (README "External storage", "Session metadata file").
  const storage = compileStorage(cfg.storage, cfg.allow_private_network ?? [], (p, m, sev) => issues.push(issueAt(src, ['storage', ...p], m, sev)));
  const metadataFile = compileMetadataFile(
    cfg.metadata_file,
    storage,
    endpoints.get('upload_file')?.upload?.fileKinds.has('session_metadata') ?? false,
    (p, m, sev) => issues.push(issueAt(src, ['metadata_file', ...p], m, sev)),
  );
  for (const s of shortCredentials(cfg.auth, envd)) issues.push(issueAt(src, s.path, s.message));
  issues.splice(0, issues.length, ...withReferences(issues, envd)); // messages name ${env:NAME}, never its value
  if (issues.some((i) => i.severity === 'error')) return { issues, id };

  const secrets = collectSecrets(cfg.auth, envd.secrets);
  // An HS256 key written inline (not through ${env:…}) is as secret as one that was.
  const signingSecret = cfg.events?.signed_custom_data?.secret;
  if (typeof signingSecret === 'string' && signingSecret.length >= 4) secrets.add(signingSecret);
  // Record pop headers authenticate the gateway to the receiver: secrets, like auth headers.
  for (const v of Object.values(events.recordPop?.headers ?? {})) if (v.length >= 4) secrets.add(v);
  for (const s of zoomSecrets(cfg.webhooks?.zoom)) secrets.add(s);
  // The SMTP password is a secret even when written inline.
  if (outcomeEmail?.smtp.password && outcomeEmail.smtp.password.length >= 4) secrets.add(outcomeEmail.smtp.password);
  for (const s of storageSecrets(cfg.storage)) secrets.add(s);
  const connector: Connector = deepFreeze({
    id,
    name: cfg.name ?? id,
    file,
    baseUrl: cfg.base_url?.replace(/\/+$/, ''),
    auth: compileAuth(cfg.auth),
    phone: { format: cfg.phone?.format ?? 'e164', defaultRegion: cfg.phone?.default_region, foreignNumbers: cfg.phone?.foreign_numbers ?? 'error' },
    timeoutMs: Math.round((cfg.timeout_seconds ?? 5) * 1000),
    lookupUrls,
    settings,
    extraVariables: cfg.variables ?? [],
    retry: retryPolicyFrom(cfg.retry),
    ...(rateLimit ? { rateLimit } : {}),
    flows,
    events,
    network: { allow: cfg.allow_private_network ?? [] },
    endpoints,
    flowPosts,
    ...(fieldMappings ? { fieldMappings } : {}),
    webhooks: zoom ? { zoom } : {},
    ...(outcomeEmail ? { outcomeEmail } : {}),
    ...(storage ? { storage } : {}),
    ...(metadataFile ? { metadataFile } : {}),
    secrets: [...secrets],
    warnings: issues.filter((i) => i.severity === 'warning'),
    source: maskSecrets(src.doc.toJS(), secrets),
  });
  return { connector, issues, id };
}

class Checker {
  readonly known: Set<string>;
  constructor(
    readonly src: YamlSource,
    readonly cfg: ConnectorFile,
    readonly issues: ConfigIssue[],
  ) {
    const extra = Array.isArray(cfg.variables) ? cfg.variables.filter((v) => typeof v === 'string') : [];
    this.known = new Set([...REQUEST_VARIABLE_SET, ...extra]);
  }

  /** events.signed_custom_data: the key (the schema checked the shape; the key itself is checked here). */
  signedCustomData(): Connector['events']['signedCustomData'] {
    const raw = this.cfg.events?.signed_custom_data;
    if (!raw || (raw.algorithm !== 'HS256' && raw.algorithm !== 'RS256')) return undefined; // the schema reported it
    const at = ['events', 'signed_custom_data'];
    const problems = signedCustomDataProblems(raw);
    for (const problem of problems) this.error([...at, ...problem.path], problem.message);
    return problems.length > 0 ? undefined : compileSignedCustomData(raw);
  }

  error(p: PathSegment[], message: string): void {
    this.issues.push(issueAt(this.src, p, message));
  }
  warn(p: PathSegment[], message: string): void {
    this.issues.push(issueAt(this.src, p, message, 'warning'));
  }

  /** Reports unknown variables in every string leaf under `value`. */
  checkVariables(value: unknown, p: PathSegment[], known: ReadonlySet<string> = this.known): void {
    if (typeof value === 'string') {
      let names: string[];
      if (value.includes('{{')) {
        const err = checkTextTemplate(value);
        if (err) {
          this.error(p, `handlebars template: ${err}`);
          return;
        }
        names = templateVariables(value);
      } else names = [...value.matchAll(VAR_RE)].map((m) => m[1]);
      for (const n of names) {
        if (known.has(n)) continue;
        const hint = suggestVariable(n, known);
        this.error(p, `unknown variable {${n}}${hint ? ` (did you mean {${hint}}?)` : ''}; declare custom names under "variables:"`);
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => this.checkVariables(v, [...p, i], known));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.checkVariables(v, [...p, k], known);
  }

  /** Counts leaves and checks string sizes; reports where the limit was passed. */
  checkSize(value: unknown, p: PathSegment[]): number {
    if (typeof value === 'string') {
      if (value.length > MAX_TEMPLATE_CHARS) this.error(p, `this text is ${value.length} characters; the limit is ${MAX_TEMPLATE_CHARS}`);
      return 1;
    }
    if (Array.isArray(value)) return value.reduce((n: number, v, i) => n + this.checkSize(v, [...p, i]), 0);
    if (value && typeof value === 'object') return Object.entries(value).reduce((n: number, [k, v]) => n + this.checkSize(v, [...p, k]), 0);
    return 1;
  }

  /** Text with `{VAR}` placeholders (URLs); a bad `{VAR:cast}` is reported at its path. */
  compileUrlText(value: string, p: PathSegment[]): TextPart[] {
    const issues: TemplateIssue[] = [];
    const parts = compileText(value, issues);
    for (const t of issues) this.error(p, t.message);
    return parts;
  }

  compileTemplate(value: unknown, p: PathSegment[]): TemplateNode {
    if (p.at(-1) === 'params') {
      const leaves = this.checkSize(value, p);
      if (leaves > MAX_PARAMS_PER_ENDPOINT) this.error(p, `${leaves} params; the limit is ${MAX_PARAMS_PER_ENDPOINT} per endpoint`);
    } else this.checkSize(value, p);
    const tIssues: TemplateIssue[] = [];
    const node = compileValue(value, tIssues);
    for (const t of tIssues) this.error([...p, ...t.path], t.message);
    this.checkVariables(value, p);
    return node;
  }

  path(src: unknown, p: PathSegment[], fallback: JsonPath = []): JsonPath {
    if (typeof src !== 'string') return fallback;
    try {
      return parseJsonPath(src);
    } catch (e) {
      this.error(p, (e as Error).message);
      return fallback;
    }
  }

  endpoints(): Map<OperationName, CompiledEndpoint> {
    const out = new Map<OperationName, CompiledEndpoint>();
    const eps = this.cfg.endpoints;
    if (!eps || typeof eps !== 'object') return out;
    for (const op of OPERATIONS) {
      const ep = eps[op];
      if (!ep || typeof ep !== 'object' || typeof ep.url !== 'string') continue;
      const compiled = this.endpoint(op, ep, ['endpoints', op]);
      if (compiled) out.set(op, compiled);
    }
    return out;
  }

  endpoint(op: OperationName, ep: EndpointFile, p: PathSegment[]): CompiledEndpoint | undefined {
    const isFind = FIND_OPERATIONS.has(op);
    let url = ep.url;
    if (url.startsWith('/')) {
      if (!this.cfg.base_url) this.error([...p, 'url'], `"${url}" is relative but the connector has no base_url`);
      else url = this.cfg.base_url.replace(/\/+$/, '') + url;
    } else if (!/^https?:\/\//.test(url) && !url.startsWith('{')) this.error([...p, 'url'], `"${url}" must start with http://, https:// or / (under base_url)`);
    this.checkVariables(ep.url, [...p, 'url']);
    if (hasTemplatedHost(url) && this.cfg.settings?.allow_templated_host !== true)
      this.error(
        [...p, 'url'],
        'a {VARIABLE} in the scheme, host or port would let a caller choose where the request (and its credentials) goes; write the host out, or set settings.allow_templated_host: true',
      );
    const urlParts = this.compileUrlText(url, [...p, 'url']);
    const urlVars = urlParts.filter((x): x is { v: string } => typeof x !== 'string').map((x) => x.v);

    if (ep.method === 'GET' && ep.body_format)
      this.error([...p, 'body_format'], 'a GET request has no body: its params become the query string; remove body_format');
    if (ep.method === 'GET' && ep.params && typeof ep.params === 'object') {
      for (const [k, v] of Object.entries(ep.params)) {
        if (v && typeof v === 'object' && !(Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'))) {
          this.error([...p, 'params', k], 'GET params become the query string, which cannot carry nested maps; use a scalar or a list of scalars');
        }
      }
    }
    if (ep.container_name && !(ep.body_format === 'container_map' || ep.body_format === 'container_array')) {
      this.warn([...p, 'container_name'], 'container_name is ignored unless body_format is container_map or container_array');
    }
    const params = ep.params && typeof ep.params === 'object' ? this.compileTemplate(ep.params, [...p, 'params']) : undefined;
    const headers = Object.entries(ep.headers ?? {}).map(([k, v]) => [k, this.compileTemplate(v, [...p, 'headers', k])] as const);
    const query = Object.entries(ep.query ?? {}).map(([k, v]) => [k, this.compileTemplate(v, [...p, 'query', k])] as const);

    const variables = new Set<string>(urlVars);
    if (params) collectVariables(params, variables);
    for (const [, n] of [...headers, ...query]) collectVariables(n, variables);
    this.collectLongTextVariables(ep.params, variables);

    const required = ep.required_variables ?? [];
    required.forEach((v, i) => {
      if (!this.known.has(v)) this.error([...p, 'required_variables', i], `unknown variable ${v}`);
    });

    let usable = true;
    if (op === 'find_account_by_id' && !urlVars.includes('ACCOUNT_ID')) {
      usable = false;
      this.warn([...p, 'url'], 'find_account_by_id is never used: its URL has no {ACCOUNT_ID}');
    }
    const upload = op === 'upload_file' ? this.upload(ep, p, variables) : undefined;
    let dedupe: CompiledEndpoint['dedupe'];
    if (ep.dedupe && typeof ep.dedupe === 'object' && typeof ep.dedupe.url === 'string') {
      if (op.startsWith('create_') || FIND_OPERATIONS.has(op))
        this.warn(
          [...p, 'dedupe'],
          `dedupe is for writes that are not creates; ${op} ${op.startsWith('create_') ? 'uses the find endpoint after an ambiguous failure' : 'is a find'}`,
        );
      const check = this.endpoint(
        op,
        { url: ep.dedupe.url, method: 'GET', params: ep.dedupe.params, response_data_location: ep.dedupe.response_data_location, not_found_statuses: [404] },
        [...p, 'dedupe'],
      );
      const match = Object.entries(ep.dedupe.match ?? {}).map(
        ([k, v]) => [this.path(k, [...p, 'dedupe', 'match', k]), this.compileTemplate(v, [...p, 'dedupe', 'match', k])] as const,
      );
      if (check) dedupe = { check: { ...check, isFind: true }, match };
    }
    const found = this.findGuard(op, ep, p);
    const createdMarker = ep.created_marker ? this.createdMarker(op, ep, p) : undefined;
    const batch =
      ep.batch && typeof ep.batch === 'object'
        ? compileBatch(this.batchCompiler(), op, ep.batch, [...p, 'batch'], this.cfg.flows?.batching?.window_seconds)
        : undefined;
    return {
      operation: op,
      method: ep.method,
      url: urlParts,
      urlSource: ep.url,
      headers,
      query,
      params,
      bodyFormat: ep.body_format ?? 'properties',
      containerName: ep.container_name,
      responseDataLocation: this.path(ep.response_data_location, [...p, 'response_data_location']),
      responseDataLocationSource: ep.response_data_location ?? '',
      idLocation: this.path(ep.id_location ?? 'id', [...p, 'id_location'], ['id']),
      idLocationSource: ep.id_location ?? 'id',
      notFoundStatuses: new Set(ep.not_found_statuses ?? (isFind ? [204, 404] : [])),
      sortBy: this.path(ep.sort_by ?? 'created_at', [...p, 'sort_by'], ['created_at']),
      requiredVariables: [...new Set([...urlVars, ...required])],
      variables,
      isFind,
      usable,
      upload,
      dedupe,
      ...found,
      expect: this.expectedAnswer(op, ep, p),
      ...(createdMarker ? { createdMarker } : {}),
      ...(batch ? { batch } : {}),
      line: issueAt(this.src, p, '').line,
      settingLines: Object.fromEntries(
        (['response_data_location', 'id_location'] as const).filter((k) => ep[k] !== undefined).map((k) => [k, issueAt(this.src, [...p, k], '').line]),
      ),
    };
  }

  /** What compileBatch needs from the checker (config/batch.ts). */
  batchCompiler(): BatchCompiler {
    return {
      issues: this.issues,
      error: (p, m) => this.error(p, m),
      compileUrlText: (v, p) => this.compileUrlText(v, p),
      compileTemplate: (v, p) => this.compileTemplate(v, p),
      path: (v, p, f) => this.path(v, p, f),
      line: (p) => issueAt(this.src, p, '').line,
      absoluteUrl: (url, p) => {
        if (!url.startsWith('/')) {
          if (!/^https?:\/\//.test(url)) this.error(p, `"${url}" must start with http://, https:// or / (under base_url)`);
          return url;
        }
        if (!this.cfg.base_url) this.error(p, `"${url}" is relative but the connector has no base_url`);
        return (this.cfg.base_url ?? '').replace(/\/+$/, '') + url;
      },
    };
  }

  /** match:, on_several_matches: and searches: of a find (each search a full endpoint). */
  findGuard(op: OperationName, ep: EndpointFile, p: PathSegment[]): Pick<CompiledEndpoint, 'match' | 'onSeveralMatches' | 'searches'> {
    const isFind = FIND_OPERATIONS.has(op);
    for (const key of ['match', 'on_several_matches', 'searches'] as const) {
      if (ep[key] !== undefined && !isFind) this.warn([...p, key], `${key} is for find endpoints; ${op} ignores it`);
    }
    const match = this.matchRules(ep.match, [...p, 'match']);
    if (op === 'find_record' && ep.searches !== undefined)
      this.warn(
        [...p, 'searches'],
        "session flows list records with find_record's own request (url, params), not its searches; searches apply to the operations API only",
      );
    const searches: CompiledSearch[] = [];
    if (isFind && Array.isArray(ep.searches)) {
      const { searches: _s, dedupe: _d, ...inherited } = ep;
      ep.searches.forEach((search, i) => {
        if (!search || typeof search !== 'object') return;
        const { name, ...own } = search;
        const before = new Set(this.issues.map((x) => x.message));
        const firstNew = this.issues.length;
        const compiled = this.endpoint(op, { ...inherited, ...own } as EndpointFile, [...p, 'searches', i]);
        // What a search inherits was checked with the endpoint already: report it once. Only the
        // issues this search's check just added: the schema's own issues about the search stay.
        for (let k = this.issues.length - 1; k >= firstNew; k--)
          if (before.has(this.issues[k].message) && this.issues[k].path.includes('.searches[')) this.issues.splice(k, 1);
        if (compiled) searches.push({ name: typeof name === 'string' && name ? name : `searches[${i}]`, endpoint: compiled });
      });
    }
    return { match, onSeveralMatches: ep.on_several_matches, searches };
  }

  matchRules(m: Record<string, string> | undefined, p: PathSegment[]): MatchRule[] {
    if (!m || typeof m !== 'object') return [];
    return Object.entries(m).flatMap(([field, v]): MatchRule[] => {
      // The value names a variable; {NAME} is accepted too, as people write it in params.
      const name = typeof v === 'string' ? v.trim().replace(/^\{(.*)\}$/, '$1') : '';
      if (!this.known.has(name)) {
        const hint = suggestVariable(name, this.known);
        this.error([...p, field], `match values name a variable (e.g. PHONE_NUMBER); unknown variable "${String(v)}"${hint ? ` (did you mean ${hint}?)` : ''}`);
        return [];
      }
      const kind = PHONE_VARIABLES.has(name) ? 'phone' : /EMAIL/.test(name) ? 'email' : 'text';
      return [{ path: this.path(field, [...p, field]), source: field, variable: name, kind }];
    });
  }

  /**
   * What success looks like. Creates need the new object's id (later steps attach to it);
   * updates, comments and uploads accept an answer without one (200 [], a list of messages,
   * an empty body, 204): many CRMs answer so, and nothing downstream needs their id.
   */
  expectedAnswer(op: OperationName, ep: EndpointFile, p: PathSegment[]): CompiledEndpoint['expect'] {
    const isCreate = op === 'create_account' || op === 'create_record';
    if (ep.expect !== undefined) {
      if (isCreate && ep.expect !== 'id')
        this.error([...p, 'expect'], `${op} must return the new object's id (later steps attach to it); expect: ${ep.expect} is not allowed here`);
      if (FIND_OPERATIONS.has(op)) this.warn([...p, 'expect'], 'expect is for writes; a find that matches always needs the id');
    }
    return ep.expect ?? (isCreate || FIND_OPERATIONS.has(op) ? 'id' : 'id_optional');
  }

  /** created_marker: the param must carry {CREATED_MARKER}; the search is a find endpoint with its own params. */
  createdMarker(op: OperationName, ep: EndpointFile, p: PathSegment[]): CompiledEndpoint['createdMarker'] {
    const m = ep.created_marker!;
    const mp = [...p, 'created_marker'];
    const findOp = FIND_FOR_CREATE[op];
    if (!findOp) {
      this.error(mp, `created_marker is for create_account and create_record; ${op} cannot carry one`);
      return undefined;
    }
    const segments = typeof m.param === 'string' ? m.param.split('.') : [];
    const carried = segments.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), ep.params);
    if (typeof carried !== 'string' || !carried.includes('{CREATED_MARKER}')) {
      this.error(
        [...mp, 'param'],
        `"${m.param}" must name the param of ${op} that carries the marker: add ${segments.at(-1) ?? 'external_id'}: "{CREATED_MARKER}" under params (at ${m.param})`,
      );
      return undefined;
    }
    const base = this.cfg.endpoints?.[findOp];
    const f = m.find ?? {};
    const url = f.url ?? base?.url;
    if (typeof url !== 'string') {
      this.error(mp, `created_marker needs a search: give created_marker.find.url, or define ${findOp}`);
      return undefined;
    }
    if (!f.params || !JSON.stringify(f.params).includes('{CREATED_MARKER}')) {
      this.error(
        [...mp, 'find', 'params'],
        'created_marker.find.params must search by "{CREATED_MARKER}" (otherwise the search cannot tell this write\'s object from any other)',
      );
      return undefined;
    }
    const method = f.method ?? (f.url ? 'GET' : base!.method);
    const find = this.endpoint(
      findOp,
      {
        method,
        url,
        params: f.params,
        ...(method === 'GET' ? {} : { body_format: f.body_format ?? (f.url ? undefined : base!.body_format) }),
        response_data_location: f.response_data_location ?? (f.url ? undefined : base!.response_data_location),
        id_location: f.id_location ?? (f.url ? ep.id_location : base!.id_location),
        not_found_statuses: f.url ? [404] : base!.not_found_statuses,
      },
      [...mp, 'find'],
    );
    if (!find) return undefined;
    const locationSource = m.location ?? m.param;
    return {
      param: m.param,
      location: this.path(locationSource, [...mp, 'location'], segments),
      locationSource,
      find: { ...find, isFind: true, requiredVariables: [...new Set([...find.requiredVariables, 'CREATED_MARKER'])] },
    };
  }

  collectLongTextVariables(value: unknown, into: Set<string>): void {
    if (typeof value === 'string' && value.includes('{{') && !checkTextTemplate(value)) templateVariables(value).forEach((v) => into.add(v));
    else if (Array.isArray(value)) value.forEach((v) => this.collectLongTextVariables(v, into));
    else if (value && typeof value === 'object') Object.values(value).forEach((v) => this.collectLongTextVariables(v, into));
  }

  upload(ep: EndpointFile, p: PathSegment[], variables: Set<string>): CompiledEndpoint['upload'] {
    const u = ep.upload ?? {};
    const encoding = u.encoding ?? 'multipart';
    if (ep.method === 'GET') this.error([...p, 'method'], 'upload_file must use POST, PUT or PATCH');
    if (encoding === 'base64' && !variables.has('FILE_DATA')) this.error([...p, 'params'], 'upload.encoding is base64 but no param carries {FILE_DATA}');
    if (encoding !== 'base64' && variables.has('FILE_DATA'))
      this.error(
        [...p, 'params'],
        `{FILE_DATA} is only for upload.encoding base64; with ${encoding} the file is sent as ${encoding === 'multipart' ? `the "${u.file_field ?? 'file'}" part` : 'the raw body'}`,
      );
    if (encoding === 'binary' && ep.params) this.error([...p, 'params'], 'upload.encoding binary sends the file as the whole body; move params to query:');
    const att = u.attachment;
    if (att?.builder_url) this.checkVariables(att.builder_url, [...p, 'upload', 'attachment', 'builder_url']);
    if (u.add_comment && !this.cfg.endpoints?.add_comment)
      this.error([...p, 'upload', 'add_comment'], 'add_comment after upload needs an add_comment endpoint');
    const commentTemplate = u.comment_template ?? DEFAULT_UPLOAD_COMMENT;
    if (u.comment_template) this.checkVariables(u.comment_template, [...p, 'upload', 'comment_template']);
    return {
      encoding,
      fileField: u.file_field ?? 'file',
      fileKinds: new Set(u.file_kinds ?? FILE_KINDS),
      attachment: att && {
        by: att.by,
        idLocation: att.id_location !== undefined ? this.path(att.id_location, [...p, 'upload', 'attachment', 'id_location']) : undefined,
        // A builder URL starting with / is under base_url, like endpoint URLs.
        builderUrl: att.builder_url
          ? compileText(att.builder_url.startsWith('/') && this.cfg.base_url ? this.cfg.base_url.replace(/\/+$/, '') + att.builder_url : att.builder_url)
          : undefined,
        urlLocation: att.url_location !== undefined ? this.path(att.url_location, [...p, 'upload', 'attachment', 'url_location']) : undefined,
      },
      addComment: u.add_comment ?? false,
      commentTemplate,
    };
  }

  /** Find + create account are required; record endpoints need them; update/upload/comment need the record config. */
  dependencyRules(): void {
    const eps = this.cfg.endpoints;
    if (!eps || typeof eps !== 'object') return;
    const has = (op: OperationName) => Boolean(eps[op]);
    const skipAccount = this.cfg.settings?.skip_account_creation === true;
    const skipRecord = this.cfg.settings?.skip_record_creation === true;
    if (!has('find_account')) this.error(['endpoints'], 'find_account is required (find and create account come first)');
    if (!has('create_account') && !skipAccount) this.error(['endpoints'], 'create_account is required unless settings.skip_account_creation is true');
    const accountOk = has('find_account') && (has('create_account') || skipAccount);
    for (const op of ['find_record', 'create_record'] as const) {
      if (has(op) && !accountOk) this.error(['endpoints', op], `${op} needs the account endpoints (find_account and create_account) configured first`);
    }
    const recordOk = has('create_record') || (skipRecord && has('find_record'));
    for (const op of ['update_record', 'upload_file', 'add_comment'] as const) {
      if (has(op) && !recordOk)
        this.error(['endpoints', op], `${op} needs the record endpoints configured (create_record, or find_record with skip_record_creation)`);
    }
  }

  lookupUrls(): Connector['lookupUrls'] {
    const out: Record<string, readonly TextPart[]> = {};
    const lu = this.cfg.lookup_urls;
    if (!lu || typeof lu !== 'object') return out;
    for (const [key, value] of Object.entries(lu)) {
      if (typeof value !== 'string') continue;
      this.checkVariables(value, ['lookup_urls', key], LOOKUP_VARIABLE_SET);
      out[key] = this.compileUrlText(value, ['lookup_urls', key]);
    }
    if (lu.account && !lu.account.includes('{ACCOUNT_ID}')) this.warn(['lookup_urls', 'account'], 'the account lookup URL has no {ACCOUNT_ID}');
    if (lu.record && !lu.record.includes('{RECORD_ID}')) this.warn(['lookup_urls', 'record'], 'the record lookup URL has no {RECORD_ID}');
    return out;
  }

  flows(reuseEnabled: boolean): Flows {
    const f: FlowsFile = this.cfg.flows && typeof this.cfg.flows === 'object' ? this.cfg.flows : {};
    const r = f.record_reuse ?? {};
    const p = (v: string | undefined, key: string, fallback?: string) =>
      v === undefined && fallback === undefined ? undefined : this.path(v ?? fallback, ['flows', 'record_reuse', key]);
    const templates = { ...DEFAULT_FLOW_TEMPLATES };
    const flowKnown = new Set([...this.known, 'COMMENT_ID']);
    for (const [name, text] of Object.entries(f.templates ?? {})) {
      if (typeof text !== 'string') continue;
      this.checkVariables(text.includes('{{') ? text : `{{!}}${text}`, ['flows', 'templates', name], flowKnown);
      templates[name as FlowTemplate] = text;
    }
    if (f.open_custom_url !== undefined) this.checkVariables(f.open_custom_url, ['flows', 'open_custom_url'], LOOKUP_VARIABLE_SET);
    if (f.update_record_on?.length && !this.cfg.endpoints?.update_record)
      this.warn(['flows', 'update_record_on'], 'flows.update_record_on has no effect without an update_record endpoint');
    if (f.batching && !this.cfg.endpoints?.add_comment && f.batching.operations?.includes('add_comment'))
      this.warn(['flows', 'batching'], 'batching add_comment needs an add_comment endpoint');
    return {
      reuse: {
        enabled: reuseEnabled,
        openStatuses: r.open_statuses ?? ['new', 'open', 'pending', 'hold'],
        dontAddToOpenRecord: r.dont_add_to_open_record ?? false,
        callbackWindowMs: (r.callback_window_seconds ?? 10) * 1000,
        statusLocation: p(r.status_location, 'status_location', 'status')!,
        queueLocation: p(r.queue_location, 'queue_location'),
        channelLocation: p(r.channel_location, 'channel_location'),
        createdAtLocation: p(r.created_at_location, 'created_at_location', 'created_at')!,
        reopenStatus: r.reopen_status ?? 'open',
      },
      recordsForAbandoned: f.records_for_abandoned_sessions ?? true,
      delayRecordUntilAgent: f.delay_record_until_agent ?? false,
      openCustomUrl: f.open_custom_url ? this.compileUrlText(f.open_custom_url, ['flows', 'open_custom_url']) : undefined,
      updateRecordOn: new Set(f.update_record_on ?? ['end']),
      commentOn: new Set(f.comment_on ?? ['record_created', 'end', 'csat', 'transfer', 'disposition', 'custom_data', 'survey', 'file', 'note']),
      templates,
      batching: f.batching ? { operations: new Set(f.batching.operations), windowMs: (f.batching.window_seconds ?? 10) * 1000 } : undefined,
    };
  }

  /** events: identity paths (each parsed now: a bad one names its YAML line), the unidentified time, the record pop. */
  events(): Connector['events'] {
    const e: EventsFile = this.cfg.events && typeof this.cfg.events === 'object' ? this.cfg.events : {};
    const identity: IdentityRule[] = [];
    for (const [field, list] of Object.entries(e.identity ?? {})) {
      if (!Object.hasOwn(IDENTITY_FIELDS, field) || !Array.isArray(list)) continue; // the schema reports these
      const paths: IdentityPath[] = [];
      list.forEach((src, i) => {
        try {
          paths.push(parseIdentityPath(src));
        } catch (err) {
          this.error(['events', 'identity', field, i], (err as Error).message);
        }
      });
      identity.push({ field: field as IdentityField, variable: IDENTITY_FIELDS[field as IdentityField], paths });
    }
    const pop = e.record_pop;
    let recordPop: Connector['events']['recordPop'];
    if (pop && typeof pop === 'object' && typeof pop.url === 'string') {
      try {
        new URL(pop.url);
        recordPop = { url: pop.url, headers: { ...(pop.headers ?? {}) } };
      } catch {
        this.error(['events', 'record_pop', 'url'], 'not a valid http(s) URL');
      }
      if (!this.cfg.lookup_urls?.record)
        this.warn(['events', 'record_pop'], 'record_pop sends lookup_urls.record, which this connector does not define: no pop is ever sent');
    }
    return {
      identity,
      unidentifiedAfterMs: (e.unidentified_after_seconds ?? DEFAULT_UNIDENTIFIED_AFTER_SECONDS) * 1000,
      recordPop,
      signedCustomData: this.signedCustomData(),
    };
  }

  /** flow_posts: each mapping's field paths, event types and variables checked at load. */
  flowPosts(): Map<string, CompiledFlowPost> {
    const out = new Map<string, CompiledFlowPost>();
    const all = this.cfg.flow_posts;
    if (!all || typeof all !== 'object') return out;
    const eventTypes = new Set<string>([...PLATFORM_EVENTS, ...GATEWAY_EVENTS]);
    for (const [name, m] of Object.entries(all)) {
      if (!m || typeof m !== 'object') continue; // the schema reports it
      const p: PathSegment[] = ['flow_posts', name];
      const before = this.issues.length;
      const field = (src: unknown, at: PathSegment[]) => {
        if (typeof src !== 'string') return undefined;
        try {
          const path = parseJsonPath(src);
          if (path.length === 0) throw new Error('a field path cannot be empty');
          return { path, source: src };
        } catch (e) {
          this.error(at, (e as Error).message);
          return undefined;
        }
      };
      const types = (v: unknown, at: PathSegment[]): string[] => {
        const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
        list.forEach((t, i) => {
          if (!eventTypes.has(t)) this.error(typeof v === 'string' ? at : [...at, i], `unknown event type "${t}"; known: ${[...eventTypes].join(', ')}`);
        });
        return list;
      };
      const sessionId = field(m.session_id, [...p, 'session_id']);
      let event: CompiledFlowPost['event'] | undefined;
      if (typeof m.event === 'string' || Array.isArray(m.event)) event = { kind: 'fixed', types: types(m.event, [...p, 'event']) };
      else if (m.event && typeof m.event === 'object') {
        const by = field(m.event.field, [...p, 'event', 'field']);
        const map = new Map(Object.entries(m.event.map ?? {}).map(([value, t]) => [value, types(t, [...p, 'event', 'map', value])] as const));
        const fallback = m.event.default !== undefined ? types(m.event.default, [...p, 'event', 'default']) : undefined;
        if (by) event = { kind: 'by_field', path: by.path, source: by.source, map, ...(fallback ? { fallback } : {}) };
      }
      const eventId = m.event_id !== undefined ? field(m.event_id, [...p, 'event_id']) : undefined;
      const variables: Array<{ name: string; path: JsonPath; source: string }> = [];
      for (const [name, src] of Object.entries(m.variables ?? {})) {
        const at = [...p, 'variables', name];
        if (!this.known.has(name)) {
          const hint = suggestVariable(name, this.known);
          this.error(at, `unknown variable ${name}${hint ? ` (did you mean ${hint}?)` : ''}; declare custom names under "variables:"`);
        } else if (GATEWAY_SET_VARIABLES.has(name)) {
          this.error(at, `${name} is set by the gateway, not by a post`);
        }
        const f = field(src, at);
        if (f) variables.push({ name, ...f });
      }
      if (this.issues.length === before && sessionId && event) out.set(name, { name, sessionId, event, ...(eventId ? { eventId } : {}), variables });
    }
    return out;
  }

  /** field_mappings: the fields' texts checked at load; they need an update_record that places {MAPPED_FIELDS}. */
  fieldMappings(endpoints: ReadonlyMap<OperationName, CompiledEndpoint>): FieldMappings | undefined {
    const f = this.cfg.field_mappings;
    if (!f || typeof f !== 'object' || !f.fields || typeof f.fields !== 'object') return undefined;
    const p: PathSegment[] = ['field_mappings'];
    const format = f.format ?? 'custom_fields';
    const fields: Array<readonly [string, string]> = [];
    for (const [key, text] of Object.entries(f.fields)) {
      if (typeof text !== 'string') continue;
      const at = [...p, 'fields', key];
      if (format === 'custom_fields' && !/^\d{1,18}$/.test(key))
        this.error(at, `format custom_fields sends [{id, value}]: "${key}" is not a custom field id (digits); use format: properties for named fields`);
      this.checkSize(text, at);
      this.checkVariables(text, at);
      // Fields get text: a cast would change nothing or (json) fail at the moment of writing.
      if (!text.includes('{{') && this.compileUrlText(text, at).some((x) => typeof x !== 'string' && x.cast))
        this.error(at, 'a mapped field is written as text: remove the :cast');
      fields.push([key, text]);
    }
    const update = endpoints.get('update_record');
    if (!this.cfg.endpoints?.update_record) this.error(p, 'field_mappings are written with update_record: the connector has none');
    else if (update && !update.variables.has('MAPPED_FIELDS')) {
      this.error(
        p,
        `update_record must place the mapped fields: add ${format === 'custom_fields' ? 'custom_fields: "{MAPPED_FIELDS:json}"' : 'the properties as "{MAPPED_FIELDS:json}"'} to its params`,
      );
    }
    return {
      writeOn: new Set(f.write_on ?? FIELD_MAPPING_MOMENTS),
      format,
      maxLength: f.max_length ?? DEFAULT_FIELD_MAX_LENGTH,
      fields,
    };
  }

  settings(): Connector['settings'] {
    const s = this.cfg.settings ?? {};
    return {
      customIdLocation: s.custom_id_location !== undefined ? this.path(s.custom_id_location, ['settings', 'custom_id_location']) : undefined,
      skipAccountCreation: s.skip_account_creation ?? false,
      skipRecordCreation: s.skip_record_creation ?? false,
      reuseRecords: s.reuse_records ?? false,
      reopenClosedWithinDays: s.reopen_closed_within_days ?? 0,
      convertTextToHtml: s.convert_text_to_html ?? false,
      sendFilesToCrm: s.send_files_to_crm ?? true,
      escapeValues: s.escape_values ?? 'none',
    };
  }
}

function compileAuth(a: ConnectorFile['auth']): Auth {
  switch (a.type) {
    case 'basic':
      return { type: 'basic', username: a.username, password: a.password };
    case 'headers':
      return { type: 'headers', headers: { ...a.headers } };
    case 'oauth2':
      return {
        type: 'oauth2',
        grant: a.grant ?? 'authorization_code',
        authorizationUrl: a.authorization_url,
        tokenUrl: a.token_url,
        clientId: a.client_id,
        clientSecret: a.client_secret,
        scope: a.scope,
        state: a.state,
        accessType: a.access_type,
        includeRedirectUrl: a.include_redirect_url ?? true,
        credentialsIn: a.credentials_in ?? 'body',
        refreshAheadMs: (a.refresh_ahead_seconds ?? 60) * 1000,
      };
    default:
      return { type: 'none' };
  }
}

/** Secrets are the env values plus every credential written in the auth block. */
function collectSecrets(a: ConnectorFile['auth'], fromEnv: Set<string>): Set<string> {
  const s = new Set(fromEnv);
  if (a.type === 'basic') s.add(a.password);
  if (a.type === 'headers') Object.values(a.headers).forEach((v) => s.add(v));
  if (a.type === 'oauth2') s.add(a.client_secret);
  // Very short values would mask unrelated text everywhere; such "secrets" are not worth hiding.
  for (const v of s) if (v.length < 4) s.delete(v);
  return s;
}

export function maskSecrets<T>(value: T, secrets: Iterable<string>): T {
  const list = [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length);
  if (list.length === 0) return value;
  const mask = (v: unknown): unknown => {
    if (typeof v === 'string') return list.reduce((acc, sec) => acc.split(sec).join('****'), v);
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  return mask(value) as T;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    if (o instanceof Map) o.forEach((v) => deepFreeze(v));
    else if (o instanceof Set) {
      /* values are primitives */
    } else Object.values(o).forEach((v) => deepFreeze(v));
  }
  return o;
}
