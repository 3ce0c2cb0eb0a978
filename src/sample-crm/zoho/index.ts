/**
 * A Zoho CRM-like sample CRM (REST API v2/v3, same routes under /crm/v2, /crm/v2.1, /crm/v3…).
 *
 * Auth is OAuth 2 only, like Zoho Accounts:
 *   GET  /oauth/v2/auth?scope&client_id&response_type=code&access_type=offline&redirect_uri&state
 *        → 302 to redirect_uri?code=…&state=… (consent is implicit)
 *   POST /oauth/v2/token (form body or query string) with grant_type authorization_code (a
 *        refresh_token only when the authorize request said access_type=offline) or
 *        refresh_token (not rotated: the answer has no refresh_token and the old one stays valid).
 *        Answers {access_token, refresh_token?, api_domain, token_type: "Bearer", expires_in};
 *        failures are HTTP 200 with {"error": "invalid_code" | "invalid_client" | …}, as Zoho does.
 * API calls: `Authorization: Zoho-oauthtoken <token>` (or `Bearer <token>`, which is what the
 * gateway sends). Bad or expired token → 401 {"code":"INVALID_TOKEN",…}; none → 401
 * AUTHENTICATION_FAILURE.
 *
 * Default credentials (when startSampleCrm gets no `auth`), see ZOHO_DEFAULT_CREDENTIALS:
 *   OAuth client id "sample-client", client secret "sample-secret", tokens valid 3600 s.
 * Pass `auth: { oauth: { clientId, clientSecret, accessTokenTtlSec: 2 } }` for short-lived tokens.
 *
 * Modules: Contacts, Cases (records; search; get by id; insert; update; delete), Notes of a
 * record and as a module, Attachments of a record (multipart upload, list, download).
 * Behaviour chosen where Zoho is inconsistent or undocumented:
 *   - GET /crm/v2/{module}/{id} for a well-formed but unknown id → 204 No Content (what v2 does
 *     for a missing record); a non-numeric id → 404 INVALID_URL_PATTERN.
 *   - Searches with no match → 204 with an empty body; results in creation order.
 *   - Writes answer {"data":[…]} per record: all ok → 201 (insert) / 200 (update), all failed →
 *     400, mixed → 207.
 *   - Phone comparisons ignore spaces, dashes, dots and parentheses (not the leading "+").
 *   - Unknown field names in a write are ignored, like Zoho ignores fields a layout lacks.
 * Rate limiting: off unless setRateLimit({max, windowSec}) → 429 TOO_MANY_REQUESTS with
 * Retry-After and X-RATELIMIT-* headers.
 */
import { DEFAULT_SAMPLE_CRM_AUTH, type OAuthClientOptions } from '../common/auth';
import type { FlavorDefinition } from '../common/core';
import { AUTHENTICATION_FAILURE, INVALID_TOKEN, INVALID_URL_PATTERN, zohoError, zohoRouter, type RateLimit } from './routes';
import { ZohoStore, type WriteOptions } from './store';
import { emptyZohoState, type ZohoAttachment, type ZohoCase, type ZohoContact, type ZohoNote, type ZohoParentModule, type ZohoState } from './types';

/** The sample Zoho CRM's default OAuth client (the same as the other sample CRMs'). */
export const ZOHO_DEFAULT_CREDENTIALS: Readonly<Required<OAuthClientOptions> & { scope: string }> = Object.freeze({
  clientId: DEFAULT_SAMPLE_CRM_AUTH.oauth.clientId,
  clientSecret: DEFAULT_SAMPLE_CRM_AUTH.oauth.clientSecret,
  accessTokenTtlSec: 3600,
  /** What a CRM connector asks for; the emulator grants any scope. */
  scope: 'ZohoCRM.modules.ALL',
});

export interface ZohoSeedOptions {
  /** ms since epoch; default the clock. */
  createdAt?: number;
}

/** Fields by their Zoho API names, e.g. {Last_Name: 'Lee', Phone: '+1 222 333 4444'}. */
export type ZohoFields = Record<string, unknown>;

/** In-process shortcuts for tests; they validate like the API and throw ZohoRecordInvalid. */
export interface ZohoHelpers {
  seedContact(fields?: ZohoFields, opts?: ZohoSeedOptions): ZohoContact;
  /** Subject, Status ("New") and Case_Origin ("Phone") are defaulted. */
  seedCase(fields?: ZohoFields, opts?: ZohoSeedOptions): ZohoCase;
  seedNote(module: ZohoParentModule, parentId: string, fields: { Note_Title?: string; Note_Content: string }, opts?: ZohoSeedOptions): ZohoNote;
  seedAttachment(
    module: ZohoParentModule,
    parentId: string,
    file: { name: string; content: Buffer | string; contentType?: string },
    opts?: ZohoSeedOptions,
  ): ZohoAttachment;
  /** null = unlimited (the default). */
  setRateLimit(limit: RateLimit | null): void;
}

const ZOHO_ERROR_FOR: Record<string, string> = {
  invalid_grant: 'invalid_code',
  invalid_client: 'invalid_client',
  unsupported_grant_type: 'unsupported_grant_type',
  invalid_request: 'invalid_request',
};

export const zohoFlavor: FlavorDefinition<ZohoState, ZohoHelpers> = {
  name: 'zoho',
  protectedPrefixes: ['/crm'],
  oauthPaths: { authorize: '/oauth/v2/auth', token: '/oauth/v2/token' },
  defaultAuth: () => ({
    oauth: {
      clientId: ZOHO_DEFAULT_CREDENTIALS.clientId,
      clientSecret: ZOHO_DEFAULT_CREDENTIALS.clientSecret,
      accessTokenTtlSec: ZOHO_DEFAULT_CREDENTIALS.accessTokenTtlSec,
    },
  }),
  oauthTokenResponse(answer, req) {
    if (answer.status === 200 && typeof answer.body.access_token === 'string') {
      const { access_token, refresh_token, expires_in } = answer.body;
      return {
        status: 200,
        body: {
          access_token,
          ...(typeof refresh_token === 'string' ? { refresh_token } : {}),
          // Where the API lives for this account; here the emulator itself.
          api_domain: `${req.protocol}://${req.get('host') ?? 'localhost'}`,
          token_type: 'Bearer',
          expires_in,
        },
      };
    }
    // Zoho Accounts reports token errors with HTTP 200 and a bare {"error": …}.
    const error = String(answer.body.error ?? 'invalid_request');
    return { status: 200, body: { error: ZOHO_ERROR_FOR[error] ?? error } };
  },
  errors: {
    authFailure: { status: 401, body: AUTHENTICATION_FAILURE, bearerBody: INVALID_TOKEN },
    notFound: { status: 404, body: INVALID_URL_PATTERN },
    badBody(problem, message) {
      switch (problem) {
        case 'too_large':
          return { status: 400, body: zohoError('FILE_SIZE_MORE_THAN_ALLOWED_SIZE', 'The file size is more than the allowed size', { maximum_size: '20 MB' }) };
        case 'invalid_json':
          return { status: 400, body: zohoError('INVALID_DATA', 'body', { expected_data_type: 'jsonobject', reason: message }) };
        default:
          return {
            status: 400,
            body: zohoError(
              'INVALID_REQUEST',
              'unable to process your request. please verify whether you have entered proper method name, parameter and parameter values.',
              { reason: message },
            ),
          };
      }
    },
    internal: { status: 500, body: zohoError('INTERNAL_ERROR', 'Internal Server Error') },
  },
  create({ clock, oauth }) {
    oauth.configure({
      rotateRefreshTokens: false,
      refreshTokenNeedsOfflineAccess: true,
      acceptQueryParams: true,
      extraTokenSchemes: ['Zoho-oauthtoken'],
    });
    const state = emptyZohoState();
    const store = new ZohoStore(state, clock);
    let rateLimit: RateLimit | null = null;
    const seed = (opts?: ZohoSeedOptions): WriteOptions => ({ createdAt: opts?.createdAt });
    return {
      state,
      reset: () => {
        store.reset();
        rateLimit = null;
      },
      router: zohoRouter({ store, oauth, clock, rateLimit: () => rateLimit }),
      helpers: {
        seedContact: (fields = {}, opts) => store.write('Contacts', { Last_Name: 'Sample', ...fields }, seed(opts)) as ZohoContact,
        seedCase: (fields = {}, opts) =>
          store.write('Cases', { Subject: 'Seeded case', Status: 'New', Case_Origin: 'Phone', ...fields }, seed(opts)) as ZohoCase,
        seedNote: (module, parentId, fields, opts) => store.addNote(module, parentId, fields, seed(opts)),
        seedAttachment: (module, parentId, file, opts) =>
          store.addAttachment(
            module,
            parentId,
            {
              name: file.name,
              contentType: file.contentType ?? 'application/octet-stream',
              data: typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content,
            },
            seed(opts),
          ),
        setRateLimit: (limit) => {
          rateLimit = limit;
        },
      },
    };
  },
};

export * from './types';
export { ZOHO_SAMPLE_USER, ZohoRecordInvalid, normalizePhone, type ZohoRecordError } from './store';
export { parseCriteria, CriteriaError, type Criteria, type Condition } from './criteria';
export { TOO_MANY_REQUESTS as ZOHO_TOO_MANY_REQUESTS, type RateLimit as ZohoRateLimit } from './routes';
