/**
 * Two shapes, kept apart: `ConnectorFile` is what the integrator writes
 * (YAML, snake_case, validated by schemas/connector.schema.json); `Connector` is the
 * compiled, normalised, frozen object the pipeline uses. Requests never look at YAML.
 */
import type { ForeignNumbers, PhoneFormat } from '../phone';
import type { TemplateNode, TextPart } from '../template/compile';
import type { MatchRule, SeveralMatches } from '../http/match-guard';
import type { IdentityField, IdentityRule } from './identity-paths';
import type { OutcomeEmail, OutcomeEmailFile } from './outcome-email-types';
import type { ConnectorStorage, MetadataFileFile, MetadataFileSettings, StorageFile } from './storage';

export const OPERATIONS = [
  'find_account',
  'find_account_by_id',
  'create_account',
  'find_record',
  'create_record',
  'update_record',
  'upload_file',
  'add_comment',
] as const;
export type OperationName = (typeof OPERATIONS)[number];
export const FIND_OPERATIONS: ReadonlySet<OperationName> = new Set(['find_account', 'find_account_by_id', 'find_record']);
/** The find that shows whether a create's object exists (its created-marker search starts from it; recovery without a marker uses it). */
export const FIND_FOR_CREATE: Partial<Record<OperationName, OperationName>> = { create_account: 'find_account', create_record: 'find_record' };
export const FILE_KINDS = ['call_recording', 'chat_transcript', 'voicemail', 'photo', 'video', 'session_metadata'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH';
export type BodyFormat = 'properties' | 'container_map' | 'container_array';

/**
 * Creates: where the object keeps the write's idempotency key ({CREATED_MARKER}), and the
 * search that finds the object by it. The search's unset fields come from the matching find
 * endpoint (find_record for create_record, find_account for create_account).
 */
export interface CreatedMarkerFile {
  /** The param (dotted path under params) whose value is "{CREATED_MARKER}". */
  param: string;
  /** Where a found object holds the marker; default: the param's path. */
  location?: string;
  find?: {
    method?: HttpMethod;
    url?: string;
    params?: Record<string, unknown>;
    body_format?: BodyFormat;
    response_data_location?: string;
    id_location?: string;
  };
}

/** What the YAML says (after schema validation). */
export interface EndpointFile {
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  query?: Record<string, unknown>;
  params?: Record<string, unknown>;
  body_format?: BodyFormat;
  container_name?: string;
  response_data_location?: string;
  id_location?: string;
  not_found_statuses?: number[];
  sort_by?: string;
  required_variables?: string[];
  dedupe?: { url: string; params?: Record<string, unknown>; response_data_location?: string; match: Record<string, string> };
  /** Finds: path in a match → the VARIABLE its value must equal (after normalisation). */
  match?: Record<string, string>;
  on_several_matches?: SeveralMatches;
  /** Finds: searches tried in order, each overriding the endpoint's request; the first match wins. */
  searches?: SearchFile[];
  /** What a successful answer must hold: the object's id, or nothing in particular. */
  expect?: ExpectedAnswer;
  created_marker?: CreatedMarkerFile;
  /** update_record, add_comment: the CRM's bulk endpoint, for due writes of many sessions at once. */
  batch?: BatchFile;
  upload?: {
    encoding?: 'base64' | 'multipart' | 'binary';
    file_field?: string;
    file_kinds?: FileKind[];
    attachment?: { by: 'id' | 'url'; id_location?: string; builder_url?: string; url_location?: string };
    add_comment?: boolean;
    comment_template?: string;
  };
}

/**
 * Bulk batching: due writes of one operation (across sessions and records) go out as one call
 * to the CRM's bulk endpoint, each rendered as an item; each item's result maps back to its
 * own delivery.
 */
export interface BatchFile {
  url: string;
  method?: HttpMethod;
  /** Where the items array goes in the body, e.g. inputs → {"inputs": [item, …]}. */
  items_location: string;
  /** One item, rendered from a delivery's variables; default: the endpoint's own params. */
  item?: Record<string, unknown>;
  max_items?: number;
  /** 1–60 s; default flows.batching.window_seconds, else 5. */
  window_seconds?: number;
  /**
   * Asynchronous bulk jobs (Zendesk update_many answers with a job_status): poll the job's URL
   * from the answer until it is done; the results are read from the last poll's answer.
   */
  poll?: {
    url_location: string;
    status_location: string;
    done: string[];
    interval_seconds?: number;
    timeout_seconds?: number;
  };
  results: {
    /** Where the per-item results are in the answer. */
    location: string;
    /** position: results[i] is item i's; id: a result's id_location equals the item's item_id. */
    match: 'position' | 'id';
    id_location?: string;
    item_id?: string;
    /** A result item whose value here is false failed (e.g. success: false). */
    success_location?: string;
    /** A result item with a value here failed (e.g. Zendesk's error: "TicketUpdateFailed"). */
    error_location?: string;
    /** Per-item errors beside the results (HubSpot's 207 errors[]), with the ids they concern. */
    errors_location?: string;
    error_ids_location?: string;
    error_message_location?: string;
  };
}

export type { MatchRule, SeveralMatches };
export type ExpectedAnswer = 'id' | 'id_optional' | 'no_body';

/** One of a find's fallback searches: what it changes from the endpoint (every field optional). */
export type SearchFile = { name?: string } & Partial<
  Pick<
    EndpointFile,
    | 'url'
    | 'method'
    | 'headers'
    | 'query'
    | 'params'
    | 'body_format'
    | 'container_name'
    | 'response_data_location'
    | 'id_location'
    | 'sort_by'
    | 'match'
    | 'on_several_matches'
  >
>;

export type AuthFile =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'headers'; headers: Record<string, string> }
  | {
      type: 'oauth2';
      grant?: 'authorization_code' | 'client_credentials';
      authorization_url: string;
      token_url: string;
      client_id: string;
      client_secret: string;
      scope?: string;
      state?: string;
      access_type?: string;
      include_redirect_url?: boolean;
      credentials_in?: 'body' | 'header';
      refresh_ahead_seconds?: number;
    };

export type StatusMatcher = number | string;

/** `rate_limit:` as written: requests per interval, burst, concurrency, per-operation budgets. */
export interface RateLimitFile {
  requests: number;
  per_seconds?: number;
  burst?: number;
  max_concurrent?: number;
  count_token_calls?: boolean;
  operations?: Record<string, { requests: number; per_seconds?: number; burst?: number }>;
}

/** A compiled budget: sustained rate and how many calls may go back to back. */
export interface RateBudget {
  readonly ratePerSec: number;
  readonly burst: number;
}

/** Outbound pacing of one connector (README "Rate limits"). */
export interface RateLimit extends RateBudget {
  /** Calls in flight at once, per process; absent: no bound. */
  readonly maxConcurrent?: number;
  /** OAuth token requests draw from the budget too. */
  readonly countTokenCalls: boolean;
  /** Operations with a budget of their own, drawn from besides the connector's. */
  readonly operations: ReadonlyMap<string, RateBudget>;
}

export interface RetryFile {
  profile?: 'spec' | 'resilient';
  retryable_statuses?: StatusMatcher[];
  retry_network_errors?: boolean;
  initial_delay_seconds?: number;
  factor?: number;
  max_delay_seconds?: number;
  deadline_hours?: number;
  max_attempts?: number;
}

export interface ConnectorFile {
  id?: string;
  name?: string;
  description?: string;
  base_url?: string;
  auth: AuthFile;
  phone?: { format?: PhoneFormat; default_region?: string; foreign_numbers?: ForeignNumbers };
  timeout_seconds?: number;
  lookup_urls?: { account?: string; record?: string; custom_by_phone?: string; custom_by_identity?: string };
  settings?: {
    custom_id_location?: string;
    skip_account_creation?: boolean;
    skip_record_creation?: boolean;
    reuse_records?: boolean;
    reopen_closed_within_days?: number;
    convert_text_to_html?: boolean;
    send_files_to_crm?: boolean;
    escape_values?: 'none' | 'soql' | 'zoho_criteria' | 'json';
    allow_templated_host?: boolean;
  };
  variables?: string[];
  retry?: RetryFile;
  rate_limit?: RateLimitFile;
  flows?: FlowsFile;
  events?: EventsFile;
  allow_private_network?: string[];
  endpoints: Partial<Record<OperationName, EndpointFile>>;
  webhooks?: { zoom?: ZoomWebhooksFile };
  /** Flow-script posts: mapping name → how a posted JSON body becomes session events. */
  flow_posts?: Record<string, FlowPostFile>;
  /** Data memorialization: session data written to record fields at moments of the session. */
  field_mappings?: FieldMappingsFile;
  /** Session outcome e-mail: settings, per-queue overrides and the SMTP server. */
  outcome_email?: OutcomeEmailFile;
  /** External storage of the session's files (README "External storage"). */
  storage?: StorageFile;
  /** The session metadata file (README "Session metadata file"). */
  metadata_file?: MetadataFileFile;
}

/** One kind of flow-script post. Field paths are dotted paths into the posted JSON. */
export interface FlowPostFile {
  session_id: string;
  /** A gateway event type, a list of them (applied in order), or chosen from a field's value. */
  event: string | string[] | { field: string; map: Record<string, string | string[]>; default?: string | string[] };
  /** The field holding the post's own id (duplicates); without one, a hash of the post. */
  event_id?: string;
  /** VARIABLE → field path. */
  variables?: Record<string, string>;
}

export const FIELD_MAPPING_MOMENTS = ['end', 'acw_end', 'transfer'] as const;
export type FieldMappingMoment = (typeof FIELD_MAPPING_MOMENTS)[number];

export interface FieldMappingsFile {
  write_on?: FieldMappingMoment[];
  /** custom_fields: [{id, value}] (Zendesk); properties: {field: value} (flat-property CRMs). */
  format?: 'custom_fields' | 'properties';
  /** Longest text a field gets; longer values are cut with "…". */
  max_length?: number;
  /** CRM field (custom field id, or property name) → text with {VARIABLES} or a handlebars template. */
  fields: Record<string, string>;
}

export interface CompiledFlowPost {
  readonly name: string;
  readonly sessionId: { readonly path: JsonPath; readonly source: string };
  readonly event:
    | { readonly kind: 'fixed'; readonly types: readonly string[] }
    | {
        readonly kind: 'by_field';
        readonly path: JsonPath;
        readonly source: string;
        readonly map: ReadonlyMap<string, readonly string[]>;
        readonly fallback?: readonly string[];
      };
  readonly eventId?: { readonly path: JsonPath; readonly source: string };
  readonly variables: ReadonlyArray<{ readonly name: string; readonly path: JsonPath; readonly source: string }>;
}

export interface FieldMappings {
  readonly writeOn: ReadonlySet<FieldMappingMoment>;
  readonly format: 'custom_fields' | 'properties';
  readonly maxLength: number;
  /** [CRM field, template source] in the order written. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
}

/** events.signed_custom_data: the key custom_data_secured (a JWT signed by the customer's server) is verified with. */
export interface SignedCustomDataFile {
  algorithm: 'HS256' | 'RS256';
  /** HS256: the shared secret. */
  secret?: string;
  /** RS256: the PEM public key. */
  public_key?: string;
  issuer?: string;
  audience?: string;
  max_age_seconds?: number;
}

export interface SignedCustomData {
  readonly algorithm: 'HS256' | 'RS256';
  /** HS256: the shared secret; RS256: the PEM public key (checked at load). */
  readonly key: string;
  readonly issuer?: string;
  readonly audience?: string;
  readonly maxAgeSeconds?: number;
}

/** `webhooks.zoom`: Zoom-style engagement webhooks, their OAuth app and the reconciliation job. */
export interface ZoomWebhooksFile {
  secret_token: string;
  account_id: string;
  client_id: string;
  client_secret: string;
  api_base_url?: string;
  token_url?: string;
  session_id_from?: string;
  max_file_bytes?: number;
  reconcile?: { every_hours?: number; overlap_minutes?: number; first_lookback_hours?: number; page_size?: number };
}

export interface ZoomWebhooks {
  readonly secretToken: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiBaseUrl: string;
  readonly tokenUrl: string;
  readonly sessionIdFrom: JsonPath;
  readonly sessionIdFromSource: string;
  readonly maxFileBytes: number;
  readonly reconcile: { readonly everyMs: number; readonly overlapMs: number; readonly firstLookbackMs: number; readonly pageSize: number };
}

export const FLOW_TEMPLATES = [
  'subject',
  'description',
  'record_created',
  'end',
  'csat',
  'transfer',
  'disposition',
  'custom_data',
  'survey',
  'file',
  'verification',
  'note',
] as const;
export type FlowTemplate = (typeof FLOW_TEMPLATES)[number];

export interface FlowsFile {
  record_reuse?: {
    open_statuses?: string[];
    status_location?: string;
    queue_location?: string;
    channel_location?: string;
    created_at_location?: string;
    dont_add_to_open_record?: boolean;
    callback_window_seconds?: number;
    reopen_status?: string;
  };
  records_for_abandoned_sessions?: boolean;
  delay_record_until_agent?: boolean;
  open_custom_url?: string;
  update_record_on?: string[];
  comment_on?: string[];
  templates?: Partial<Record<FlowTemplate, string>>;
  batching?: { operations: Array<'add_comment' | 'update_record'>; window_seconds?: number };
}

/** The platform's adapter events: where the customer's identity is, when a session counts as unidentified, where record pops go. */
export interface EventsFile {
  /** Identity field (phone, email, sdk_identifier, name, account_id, end_user_id) → paths into the event's data, tried in order. */
  identity?: Partial<Record<IdentityField, string[]>>;
  unidentified_after_seconds?: number;
  record_pop?: { url: string; headers?: Record<string, string> };
  /** The key custom_data_secured is verified with. */
  signed_custom_data?: SignedCustomDataFile;
}

export interface Events {
  readonly identity: readonly IdentityRule[];
  /** A session still waiting for the customer's identity after this long is marked unidentified. */
  readonly unidentifiedAfterMs: number;
  /** Where CRM_Record_Pop is POSTed once the session's record is resolved. */
  readonly recordPop?: { readonly url: string; readonly headers: Readonly<Record<string, string>> };
  /** Without it, custom_data_secured is never trusted. */
  readonly signedCustomData?: SignedCustomData;
}

export interface Flows {
  readonly reuse: {
    readonly enabled: boolean;
    readonly openStatuses: readonly string[];
    readonly dontAddToOpenRecord: boolean;
    readonly callbackWindowMs: number;
    readonly statusLocation: JsonPath;
    readonly queueLocation?: JsonPath;
    readonly channelLocation?: JsonPath;
    readonly createdAtLocation: JsonPath;
    readonly reopenStatus: string;
  };
  readonly recordsForAbandoned: boolean;
  readonly delayRecordUntilAgent: boolean;
  readonly openCustomUrl?: readonly TextPart[];
  readonly updateRecordOn: ReadonlySet<string>;
  readonly commentOn: ReadonlySet<string>;
  readonly templates: Readonly<Record<FlowTemplate, string>>;
  readonly batching?: { readonly operations: ReadonlySet<'add_comment' | 'update_record'>; readonly windowMs: number };
}

/** A path into JSON, compiled from `data[0].id`. Empty = the whole value. */
export type JsonPath = ReadonlyArray<string | number>;

export interface CompiledEndpoint {
  readonly operation: OperationName;
  readonly method: HttpMethod;
  readonly url: readonly TextPart[];
  readonly urlSource: string;
  readonly headers: ReadonlyArray<readonly [string, TemplateNode]>;
  readonly query: ReadonlyArray<readonly [string, TemplateNode]>;
  readonly params: TemplateNode | undefined;
  readonly bodyFormat: BodyFormat;
  readonly containerName?: string;
  readonly responseDataLocation: JsonPath;
  readonly responseDataLocationSource: string;
  readonly idLocation: JsonPath;
  readonly idLocationSource: string;
  readonly notFoundStatuses: ReadonlySet<number>;
  readonly sortBy: JsonPath;
  readonly requiredVariables: readonly string[];
  /** Every variable the endpoint references, so only those are prepared (e.g. phone parsing). */
  readonly variables: ReadonlySet<string>;
  /** Finds render phone numbers in the search variant. */
  readonly isFind: boolean;
  /** False for find_account_by_id without {ACCOUNT_ID} in the URL (never used). */
  readonly usable: boolean;
  readonly upload?: {
    readonly encoding: 'base64' | 'multipart' | 'binary';
    readonly fileField: string;
    readonly fileKinds: ReadonlySet<FileKind>;
    readonly attachment?: {
      readonly by: 'id' | 'url';
      readonly idLocation?: JsonPath;
      readonly builderUrl?: readonly TextPart[];
      readonly urlLocation?: JsonPath;
    };
    readonly addComment: boolean;
    readonly commentTemplate: string;
  };
  /** YAML line of the endpoint, for messages that point at what to fix. */
  readonly line?: number;
  /** YAML lines of the answer-reading settings the file sets (a message about one points at its own line). */
  readonly settingLines?: Readonly<Partial<Record<'response_data_location' | 'id_location', number>>>;
  /** Finds: the fields a match must share with the searched values (empty: no guard). */
  readonly match: readonly MatchRule[];
  /** Finds: absent = most_recent when the matches carry sort_by, else fail. */
  readonly onSeveralMatches?: SeveralMatches;
  /** Finds with fallback searches, in order; each a full endpoint. Empty: the endpoint is the one search. */
  readonly searches: readonly CompiledSearch[];
  /** Writes: what a successful answer must hold. */
  readonly expect: ExpectedAnswer;
  /** After an ambiguous failure: a GET that finds the write if it already happened. */
  readonly dedupe?: { readonly check: CompiledEndpoint; readonly match: ReadonlyArray<readonly [JsonPath, TemplateNode]> };
  /** Bulk batching (update_record, add_comment): see BatchFile. */
  readonly batch?: CompiledBatch;
  /** Creates: the object carries the write's marker at `location`; `find` searches by it. */
  readonly createdMarker?: { readonly param: string; readonly location: JsonPath; readonly locationSource: string; readonly find: CompiledEndpoint };
}

export interface CompiledBatch {
  readonly method: HttpMethod;
  readonly url: readonly TextPart[];
  readonly itemsLocation: readonly string[];
  /** Undefined: the endpoint's own params are the item. */
  readonly item?: TemplateNode;
  readonly maxItems: number;
  readonly windowMs: number;
  readonly poll?: {
    readonly urlLocation: JsonPath;
    readonly statusLocation: JsonPath;
    readonly done: ReadonlySet<string>;
    readonly intervalMs: number;
    readonly timeoutMs: number;
  };
  readonly results: {
    readonly location: JsonPath;
    readonly match: 'position' | 'id';
    readonly idLocation: JsonPath;
    readonly itemId?: TemplateNode;
    readonly successLocation?: JsonPath;
    readonly errorLocation?: JsonPath;
    readonly errorsLocation?: JsonPath;
    readonly errorIdsLocation: JsonPath;
    readonly errorMessageLocation: JsonPath;
  };
  /** YAML line of batch:, for messages. */
  readonly line?: number;
}

export interface CompiledSearch {
  /** Shown as `matched_by` in the result: the search's name, else searches[i]. */
  readonly name: string;
  readonly endpoint: CompiledEndpoint;
}

export type Auth =
  | { readonly type: 'none' }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'headers'; readonly headers: Readonly<Record<string, string>> }
  | {
      readonly type: 'oauth2';
      readonly grant: 'authorization_code' | 'client_credentials';
      readonly authorizationUrl: string;
      readonly tokenUrl: string;
      readonly clientId: string;
      readonly clientSecret: string;
      readonly scope?: string;
      readonly state?: string;
      readonly accessType?: string;
      readonly includeRedirectUrl: boolean;
      readonly credentialsIn: 'body' | 'header';
      readonly refreshAheadMs: number;
    };

export interface RetryPolicy {
  readonly profile: 'spec' | 'resilient';
  readonly retryableStatuses: readonly StatusMatcher[];
  readonly retryNetworkErrors: boolean;
  readonly honourRetryAfter: boolean;
  readonly initialDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  readonly deadlineMs: number;
  readonly maxAttempts?: number;
}

export interface Connector {
  readonly id: string;
  readonly name: string;
  readonly file: string;
  readonly baseUrl?: string;
  readonly auth: Auth;
  readonly phone: { readonly format: PhoneFormat; readonly defaultRegion?: string; readonly foreignNumbers: ForeignNumbers };
  readonly timeoutMs: number;
  readonly lookupUrls: Readonly<Partial<Record<'account' | 'record' | 'custom_by_phone' | 'custom_by_identity', readonly TextPart[]>>>;
  readonly settings: {
    readonly customIdLocation?: JsonPath;
    readonly skipAccountCreation: boolean;
    readonly skipRecordCreation: boolean;
    readonly reuseRecords: boolean;
    readonly reopenClosedWithinDays: number;
    readonly convertTextToHtml: boolean;
    readonly sendFilesToCrm: boolean;
    readonly escapeValues: 'none' | 'soql' | 'zoho_criteria' | 'json';
  };
  readonly extraVariables: readonly string[];
  readonly retry: RetryPolicy;
  /** Outbound pacing; absent: calls go out as they come. */
  readonly rateLimit?: RateLimit;
  readonly flows: Flows;
  readonly events: Events;
  /** SSRF guard: the private destinations this connector may reach. */
  readonly network: { readonly allow: readonly string[] };
  readonly endpoints: ReadonlyMap<OperationName, CompiledEndpoint>;
  /** Flow-script post mappings by name (POST /v1/connectors/{id}/flow-posts/{name}). */
  readonly flowPosts: ReadonlyMap<string, CompiledFlowPost>;
  /** Data memorialization; absent: no field-mapping updates. */
  readonly fieldMappings?: FieldMappings;
  /** Platforms that report by webhook (absent: not configured). */
  readonly webhooks: { readonly zoom?: ZoomWebhooks };
  /** Session outcome e-mail; absent: none sent. */
  readonly outcomeEmail?: OutcomeEmail;
  /** Where the session's files are copied; absent: nowhere. */
  readonly storage?: ConnectorStorage;
  /** The session metadata file; absent: none is made. */
  readonly metadataFile?: MetadataFileSettings;
  /** Every secret value in this connector (env-resolved strings, passwords, client secrets, auth header values). */
  readonly secrets: readonly string[];
  readonly warnings: readonly ConfigIssue[];
  /** The YAML as written, secrets masked: what GET /v1/connectors/{id} shows. */
  readonly source: unknown;
}

export interface ConfigIssue {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Dotted path into the YAML, e.g. endpoints.find_account.params.query */
  readonly path: string;
  readonly message: string;
}
