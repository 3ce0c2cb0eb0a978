/**
 * HubSpot-like sample CRM (CRM v3 objects API + Files v3), modelled on HubSpot's public API:
 *
 *   POST/GET/PATCH/DELETE /crm/v3/objects/{contacts|tickets|notes}[/{id}]   (also 0-1, 0-5, 0-46)
 *   POST /crm/v3/objects/{type}/search        filterGroups (OR) of filters (AND), sorts, paging
 *   POST /crm/v3/objects/{type}/batch/update  up to 100 updates; 207 with per-id errors (see batch.ts)
 *   POST /files/v3/files                      multipart: file + options (JSON) + folderPath|folderId
 *   GET  /files/v3/files/{id}[/signed-url]    GET /hubfs/{portal}/{path} (the file itself)
 *   GET  /oauth/authorize, POST /oauth/v1/token   OAuth 2 authorization code + refresh
 *
 * Default credentials (used when startSampleCrm gets no `auth` option), see DEFAULT_HUBSPOT_AUTH:
 *   - private app access token:  Authorization: Bearer pat-na1-sample-private-app-token
 *   - OAuth 2 app:               client id hubspot-sample-client, secret hubspot-sample-secret;
 *                                access tokens live 30 minutes (1800 s) like HubSpot's, refresh
 *                                tokens do not expire and are not rotated.
 * Portal (Hub ID) of the sample: 24681357 (HUBSPOT_SAMPLE_PORTAL_ID).
 *
 * Errors are HubSpot's: {"status":"error","message":…,"correlationId":…,"category":…} with
 * 400 VALIDATION_ERROR (invalid property values listed in the message; missing required ones
 * as "Error creating TICKET. Some required properties were not set."), 401 INVALID_AUTHENTICATION,
 * 404 OBJECT_NOT_FOUND, 409 CONFLICT (duplicate contact email), 429 RATE_LIMIT with
 * Retry-After (see throttle()).
 */
import { randomUUID } from 'node:crypto';
import type { SampleCrmAuthOptions } from '../common/auth';
import { jsonOrFormObject } from '../common/body';
import type { FlavorDefinition } from '../common/core';
import { AUTH_MESSAGE, errorBody, liveErrorBody } from './errors';
import { hubspotRouter } from './routes';
import { failInBatch } from './batch';
import { contentTypeFor, HubSpotStore, iso, type WriteOptions } from './store';
import { emptyHubSpotState, type FileAccess, type HubSpotFile, type HubSpotObject, type HubSpotObjectType, type HubSpotState, type Throttle } from './types';

export const HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN = 'pat-na1-sample-private-app-token';

/** The credentials a HubSpot sample CRM accepts when started without `auth`. */
export const DEFAULT_HUBSPOT_AUTH: {
  readonly privateAppToken: string;
  readonly oauth: { readonly clientId: string; readonly clientSecret: string; readonly accessTokenTtlSec: number };
} = {
  privateAppToken: HUBSPOT_SAMPLE_PRIVATE_APP_TOKEN,
  oauth: { clientId: 'hubspot-sample-client', clientSecret: 'hubspot-sample-secret', accessTokenTtlSec: 1800 },
};

/**
 * SampleCrmAuthOptions for HubSpot credentials. A private app token is a static bearer token:
 * it is accepted as the exact header value "Bearer <token>".
 */
export function hubspotAuthOptions(opts: { privateAppTokens?: string[]; oauth?: SampleCrmAuthOptions['oauth'] } = {}): SampleCrmAuthOptions {
  const tokens = opts.privateAppTokens ?? [DEFAULT_HUBSPOT_AUTH.privateAppToken];
  return {
    apiKeys: tokens.map((t) => ({ header: 'Authorization', value: `Bearer ${t}` })),
    oauth: opts.oauth ?? { ...DEFAULT_HUBSPOT_AUTH.oauth },
  };
}

export interface SeedObjectInput extends WriteOptions {
  properties?: Record<string, unknown>;
}
export interface SeedTicketInput extends SeedObjectInput {
  /** Associates the ticket with this contact (type 16, ticket → contact). */
  contactId?: string;
}
export interface SeedNoteInput extends SeedObjectInput {
  /** Associates the note with this ticket (type 228). */
  ticketId?: string;
  /** Associates the note with this contact (type 202). */
  contactId?: string;
}
export interface SeedFileInput {
  /** With extension, e.g. "call.mp3". */
  fileName: string;
  content: Buffer | string;
  contentType?: string;
  /** Default "/seeded". */
  folderPath?: string;
  /** Default PRIVATE. */
  access?: FileAccess;
}

/** In-process shortcuts for tests; they validate like the HTTP API and throw HubSpotError. */
export interface HubSpotHelpers {
  seedContact(input?: SeedObjectInput): HubSpotObject;
  /** Defaults: subject "Seeded ticket", pipeline "0", stage "1" (new). */
  seedTicket(input?: SeedTicketInput): HubSpotObject;
  /** Defaults: body "Seeded note", hs_timestamp now. */
  seedNote(input?: SeedNoteInput): HubSpotObject;
  seedFile(input: SeedFileInput): HubSpotFile;
  /** Ids of `toType` records associated with the record, in either direction. */
  associatedIds(type: HubSpotObjectType, id: string, toType: HubSpotObjectType): string[];
  /** The next `times` API requests (default 1) answer 429 RATE_LIMIT with Retry-After. */
  throttle(times?: number, opts?: { retryAfterSec?: number; policyName?: Throttle['policyName'] }): void;
  /** The next `times` (default 1) batch updates of these ids fail inside the batch (a 207 naming them). */
  failInBatch(ids: readonly string[], times?: number): void;
}

/** HubSpot's token endpoint errors are not RFC 6749's: {"status":"BAD_AUTH_CODE","message":…}. */
function tokenError(status: string, message: string): Record<string, unknown> {
  return { status, message, correlationId: randomUUID() };
}

export const hubspotFlavor: FlavorDefinition<HubSpotState, HubSpotHelpers> = {
  name: 'hubspot',
  protectedPrefixes: ['/crm/v3', '/files/v3'],
  oauthPaths: { authorize: '/oauth/authorize', token: '/oauth/v1/token' },
  defaultAuth: () => hubspotAuthOptions(),
  oauthTokenResponse: ({ status, body }, req) => {
    const params = jsonOrFormObject(req);
    if (status === 200) {
      // HubSpot answers {token_type, refresh_token, access_token, expires_in}; a refresh keeps
      // (and repeats) the same refresh token.
      const refresh = body.refresh_token ?? (params.grant_type === 'refresh_token' ? params.refresh_token : undefined);
      return { status, body: { token_type: 'bearer', refresh_token: refresh, access_token: body.access_token, expires_in: body.expires_in } };
    }
    const description = String(body.error_description ?? '');
    switch (body.error) {
      case 'invalid_client':
        return { status: 400, body: tokenError('BAD_CLIENT_ID', 'missing or unknown client id, or the client secret does not match') };
      case 'invalid_grant':
        if (description.includes('redirect_uri'))
          return { status: 400, body: tokenError('BAD_REDIRECT_URI', 'redirect_uri does not match initial auth request') };
        return params.grant_type === 'refresh_token'
          ? { status: 400, body: tokenError('BAD_REFRESH_TOKEN', 'missing or unknown refresh token') }
          : { status: 400, body: tokenError('BAD_AUTH_CODE', 'missing or unknown auth code') };
      case 'unsupported_grant_type':
        return { status: 400, body: tokenError('BAD_GRANT_TYPE', 'grant_type must be authorization_code or refresh_token') };
      default:
        return { status: 400, body: tokenError('BAD_REQUEST', description || 'bad token request') };
    }
  },
  errors: {
    authFailure: {
      status: 401,
      body: liveErrorBody('INVALID_AUTHENTICATION', AUTH_MESSAGE),
    },
    notFound: { status: 404, body: liveErrorBody('OBJECT_NOT_FOUND', 'resource not found') },
    badBody(problem, message) {
      switch (problem) {
        case 'invalid_json':
          return { status: 400, body: errorBody('VALIDATION_ERROR', `Invalid input JSON: ${message}`) };
        case 'too_large':
          return { status: 413, body: errorBody('TOO_LARGE', 'Request entity too large') };
        default:
          return { status: 400, body: errorBody('VALIDATION_ERROR', `Could not read the request body: ${message}`) };
      }
    },
    internal: { status: 500, body: liveErrorBody('INTERNAL_ERROR', 'internal error') },
  },
  create({ clock, oauth }) {
    // HubSpot refresh tokens are long-lived and reused, not rotated.
    oauth.configure({ rotateRefreshTokens: false });
    const state = emptyHubSpotState();
    const store = new HubSpotStore(state, clock);
    return {
      state,
      reset: () => store.reset(),
      router: hubspotRouter(store),
      helpers: {
        seedContact: (input = {}) => store.create('contacts', { properties: input.properties ?? {} }, { createdAt: input.createdAt }),
        seedTicket: (input = {}) =>
          store.create(
            'tickets',
            {
              properties: { subject: 'Seeded ticket', hs_pipeline: '0', hs_pipeline_stage: '1', ...input.properties },
              associations: input.contactId
                ? [{ to: { id: input.contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 16 }] }]
                : [],
            },
            { createdAt: input.createdAt },
          ),
        seedNote: (input = {}) =>
          store.create(
            'notes',
            {
              properties: { hs_note_body: 'Seeded note', hs_timestamp: iso(input.createdAt ?? clock()), ...input.properties },
              associations: [
                ...(input.ticketId ? [{ to: { id: input.ticketId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 228 }] }] : []),
                ...(input.contactId ? [{ to: { id: input.contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 202 }] }] : []),
              ],
            },
            { createdAt: input.createdAt },
          ),
        seedFile: (input) =>
          store.addFile({
            fileName: input.fileName,
            contentType: contentTypeFor(input.contentType, input.fileName),
            content: typeof input.content === 'string' ? Buffer.from(input.content, 'utf8') : input.content,
            access: input.access ?? 'PRIVATE',
            folder: store.folderByPath(input.folderPath ?? '/seeded', true),
          }).file,
        associatedIds: (type, id, toType) => store.associatedIds(type, id, toType),
        failInBatch: (ids, times) => failInBatch(store, ids, times),
        throttle: (times = 1, opts = {}) => {
          state.throttle = {
            remaining: Math.max(1, Math.floor(times)),
            retryAfterSec: opts.retryAfterSec ?? 1,
            policyName: opts.policyName ?? 'TEN_SECONDLY_ROLLING',
          };
        },
      },
    };
  },
};

export * from './types';
export { HubSpotError } from './errors';
export { HUBSPOT_SAMPLE_PORTAL_ID } from './serialize';
export { containsToken } from './search';
export { searchablePhone } from './store';
