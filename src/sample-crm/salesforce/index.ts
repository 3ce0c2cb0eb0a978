/**
 * A Salesforce-like sample CRM (REST API v59.0): Contacts, Cases, CaseComments and files
 * (ContentVersion), SOQL queries, OAuth 2 sessions that expire after inactivity, and
 * Salesforce's own response and error shapes.
 *
 *   POST /services/oauth2/token          client_credentials | authorization_code | refresh_token
 *   GET  /services/oauth2/authorize      authorization-code consent (implicit)
 *   GET  /services/data/v59.0/query?q=SELECT Id, Name FROM Contact WHERE Phone = '(222) 333-4444'
 *   POST /services/data/v59.0/sobjects/Contact        → 201 {id, success, errors}
 *   GET|PATCH|DELETE /services/data/v59.0/sobjects/Case/{Id}
 *   POST /services/data/v59.0/sobjects/ContentVersion {Title, PathOnClient, VersionData (base64), FirstPublishLocationId}
 *   GET  /services/data/v59.0/sobjects/ContentVersion/{Id}/VersionData  → the bytes
 *
 * Default credentials (SALESFORCE_DEFAULT_AUTH): the connected app's consumer key
 * `sample-client` and secret `sample-secret`. Only OAuth bearer sessions are accepted (no
 * basic or API-key auth, as in Salesforce). A session ends after `accessTokenTtlSec` seconds
 * without a call (default 7200, Salesforce's default 2-hour timeout); every call restarts the
 * clock, and token answers carry no expires_in, as Salesforce's do.
 */
import { createHmac } from 'node:crypto';
import type { OAuthClientOptions, OAuthServer, SampleCrmAuthOptions } from '../common/auth';
import type { Clock } from '../common/clock';
import type { FlavorDefinition } from '../common/core';
import type { FaultSpec } from '../common/faults';
import { jsonOrFormObject } from '../common/body';
import { KEY_PREFIXES, makeId } from './ids';
import { QueryPager } from './query';
import { INVALID_SESSION, salesforceRouter, type SessionGuard } from './routes';
import { NOT_FOUND_ENTRY, SalesforceStore, type CreateOptions } from './store';
import {
  emptySalesforceState,
  type SalesforceCase,
  type SalesforceCaseComment,
  type SalesforceContact,
  type SalesforceContentVersion,
  type SalesforceState,
} from './types';

/** Used when startSampleCrm gets no `auth` option. */
export const SALESFORCE_DEFAULT_AUTH: { readonly oauth: Readonly<Required<OAuthClientOptions>> } = {
  oauth: { clientId: 'sample-client', clientSecret: 'sample-secret', accessTokenTtlSec: 7200 },
};

export const SALESFORCE_API_VERSION = 'v59.0';
export const SALESFORCE_ORG_ID = makeId(KEY_PREFIXES.Organization, 1);
export const SALESFORCE_USER_ID = makeId(KEY_PREFIXES.User, 1);

/** The body Salesforce sends when an API limit is hit. */
export const REQUEST_LIMIT_EXCEEDED = [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];

/**
 * A fault spec for a rate-limited answer with Salesforce's body, for `crm.injectFault(...)` or
 * POST /__control/faults. Default 429 with Retry-After; Salesforce answers the daily limit with
 * 403 and the same body (`status: 403`).
 */
export function salesforceRateLimitFault(opts: { retryAfter?: number; times?: number; path?: string; method?: string; status?: number } = {}): FaultSpec {
  return {
    path: opts.path ?? '/services/data',
    ...(opts.method ? { method: opts.method } : {}),
    status: opts.status ?? 429,
    body: REQUEST_LIMIT_EXCEEDED,
    retryAfter: opts.retryAfter ?? 30,
    times: opts.times ?? 1,
  };
}

type Seed<T, Omitted extends keyof T = never> = Partial<Omit<T, Omitted>> & { createdAt?: number };

export type SeedContactInput = Seed<
  Pick<SalesforceContact, 'Salutation' | 'FirstName' | 'LastName' | 'Phone' | 'MobilePhone' | 'Email' | 'Title' | 'Department' | 'LeadSource' | 'Description'>
>;
export type SeedCaseInput = Seed<
  Pick<
    SalesforceCase,
    | 'ContactId'
    | 'Subject'
    | 'Description'
    | 'Status'
    | 'Origin'
    | 'Priority'
    | 'Type'
    | 'Reason'
    | 'SuppliedName'
    | 'SuppliedEmail'
    | 'SuppliedPhone'
    | 'IsEscalated'
  >
>;
export type SeedCaseCommentInput = Seed<Pick<SalesforceCaseComment, 'CommentBody' | 'IsPublished'>> & { ParentId: string };
export interface SeedContentVersionInput extends CreateOptions {
  PathOnClient: string;
  content: Buffer | string;
  Title?: string;
  Description?: string;
  FirstPublishLocationId?: string;
}

/** In-process shortcuts for tests; same validation as the API (throw SalesforceApiError). */
export interface SalesforceHelpers {
  seedContact(input?: SeedContactInput): SalesforceContact;
  seedCase(input?: SeedCaseInput): SalesforceCase;
  seedCaseComment(input: SeedCaseCommentInput): SalesforceCaseComment;
  seedContentVersion(input: SeedContentVersionInput): SalesforceContentVersion;
  /** A live record of any type by 15- or 18-character id. */
  recordById(id: string): SalesforceContact | SalesforceCase | SalesforceCaseComment | SalesforceContentVersion | undefined;
  /** Overrides the idle timeout of every session (seconds); null = back to accessTokenTtlSec. */
  setSessionTimeout(seconds: number | null): void;
}

/** Sessions: valid while used at least once per idle window. */
class Sessions implements SessionGuard {
  private lastUsed = new Map<string, number>();
  private ttlMs = new Map<string, number>();
  private overrideMs: number | null = null;

  constructor(
    private readonly oauth: OAuthServer,
    private readonly clock: Clock,
  ) {}

  setTimeout(seconds: number | null): void {
    this.overrideMs = seconds === null ? null : Math.max(0, seconds) * 1000;
  }

  reset(): void {
    this.lastUsed.clear();
    this.ttlMs.clear();
    this.overrideMs = null;
  }

  use(token: string): boolean {
    const tokens = this.oauth.state.accessTokens;
    const rec = Object.hasOwn(tokens, token) ? tokens[token] : undefined;
    if (!rec || this.oauth.checkAccessToken(token) !== 'ok') return false;
    const now = this.clock();
    const last = this.lastUsed.get(token) ?? rec.issuedAtMs;
    // The token's lifetime at issue (accessTokenTtlSec) is its idle window.
    let ttlMs = this.ttlMs.get(token);
    if (ttlMs === undefined) {
      ttlMs = rec.expiresAtMs - rec.issuedAtMs;
      this.ttlMs.set(token, ttlMs);
    }
    const idleMs = this.overrideMs ?? ttlMs;
    if (now - last >= idleMs) {
      rec.expiresAtMs = Math.min(rec.expiresAtMs, now);
      return false;
    }
    this.lastUsed.set(token, now);
    // The shared auth layer checks expiresAtMs: keep it one idle window ahead.
    rec.expiresAtMs = now + idleMs;
    return true;
  }
}

const OAUTH_ERRORS: Record<string, string> = {
  invalid_client: 'invalid client credentials',
  unsupported_grant_type: 'grant type not supported',
};

export const salesforceFlavor: FlavorDefinition<SalesforceState, SalesforceHelpers> = {
  name: 'salesforce',
  protectedPrefixes: ['/services/data'],
  oauthPaths: { authorize: '/services/oauth2/authorize', token: '/services/oauth2/token' },
  defaultAuth: () => ({ oauth: { ...SALESFORCE_DEFAULT_AUTH.oauth } }) satisfies SampleCrmAuthOptions,
  // Salesforce's token answer: instance_url, id (identity URL), issued_at (ms), signature; no
  // expires_in. Errors are 400 with Salesforce's descriptions.
  oauthTokenResponse(answer, req, ctx) {
    const body = answer.body;
    if (answer.status !== 200) {
      const error = String(body.error ?? 'invalid_request');
      let description = OAUTH_ERRORS[error] ?? String(body.error_description ?? '');
      if (error === 'invalid_grant') {
        description = jsonOrFormObject(req).grant_type === 'refresh_token' ? 'expired access/refresh token' : 'authentication failure';
      }
      return { status: 400, body: { error, error_description: description } };
    }
    const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    const token = String(body.access_token);
    const issuedAt = String(ctx.oauth.state.accessTokens[token]?.issuedAtMs ?? ctx.clock());
    const id = `${origin}/id/${SALESFORCE_ORG_ID}/${SALESFORCE_USER_ID}`;
    return {
      status: 200,
      body: {
        access_token: token,
        ...(typeof body.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}),
        signature: createHmac('sha256', token)
          .update(id + issuedAt)
          .digest('base64'),
        scope: 'api',
        instance_url: origin,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      },
    };
  },
  errors: {
    authFailure: { status: 401, body: INVALID_SESSION },
    notFound: { status: 404, body: [NOT_FOUND_ENTRY] },
    badBody(problem, message) {
      switch (problem) {
        case 'invalid_json':
          return { status: 400, body: [{ message: `${message} at [line:1, column:1]`, errorCode: 'JSON_PARSER_ERROR' }] };
        case 'too_large':
          return { status: 413, body: [{ message: 'Request entity is too large', errorCode: 'REQUEST_ENTITY_TOO_LARGE' }] };
        case 'bad_multipart':
          return { status: 400, body: [{ message: `Unable to parse the multipart request: ${message}`, errorCode: 'INVALID_MULTIPART_REQUEST' }] };
        default:
          return { status: 400, body: [{ message: `Could not read the request body: ${message}`, errorCode: 'JSON_PARSER_ERROR' }] };
      }
    },
    internal: {
      status: 500,
      body: [
        {
          message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)',
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ],
    },
  },
  create({ clock, oauth }) {
    const state = emptySalesforceState();
    const store = new SalesforceStore(state, clock);
    const pager = new QueryPager(store, clock);
    const sessions = new Sessions(oauth, clock);
    return {
      state,
      reset: () => {
        store.reset();
        pager.reset();
        sessions.reset();
      },
      router: salesforceRouter(store, pager, sessions),
      helpers: {
        seedContact: (input = {}) => {
          const { createdAt, ...fields } = input;
          return store.create('Contact', { LastName: 'Sample', ...fields }, { createdAt });
        },
        seedCase: (input = {}) => {
          const { createdAt, ...fields } = input;
          return store.create('Case', fields, { createdAt });
        },
        seedCaseComment: (input) => {
          const { createdAt, ...fields } = input;
          return store.create('CaseComment', fields, { createdAt });
        },
        seedContentVersion: (input) => {
          const { createdAt, content, ...fields } = input;
          const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
          return store.create('ContentVersion', { ...fields, VersionData: data.toString('base64') }, { createdAt });
        },
        recordById: (id) => store.findAny(id),
        setSessionTimeout: (seconds) => sessions.setTimeout(seconds),
      },
    };
  },
};

export * from './types';
export { SalesforceApiError, sfDateTime } from './store';
export { parseSoql, SoqlError } from './soql';
export { runSoql } from './query';
export { canonicalId, idSuffix, makeId, KEY_PREFIXES } from './ids';
export { SOBJECTS, CASE_ORIGINS, CASE_STATUSES, type SObjectType } from './schema';
