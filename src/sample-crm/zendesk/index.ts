import type { FlavorDefinition } from '../common/core';
import { contentTypeFor, zendeskRouter } from './routes';
import { ZendeskStore, type SeedTime } from './store';
import {
  emptyZendeskState,
  type TicketPriority,
  type TicketStatus,
  type TicketType,
  type UserRole,
  type ZendeskAttachment,
  type ZendeskCustomField,
  type ZendeskState,
  type ZendeskTicket,
  type ZendeskUpload,
  type ZendeskUser,
} from './types';

export interface SeedUserInput extends SeedTime {
  /** Default "Sample User". */
  name?: string;
  email?: string | null;
  phone?: string | null;
  external_id?: string | null;
  role?: UserRole;
  tags?: string[];
  notes?: string;
  user_fields?: Record<string, unknown>;
}

export interface SeedTicketInput extends SeedTime {
  requester_id: number;
  subject?: string | null;
  /** First comment body when `comment` is not given; default "Seeded ticket". */
  description?: string;
  comment?: { body?: string; html_body?: string; public?: boolean; uploads?: string[]; author_id?: number };
  status?: TicketStatus;
  priority?: TicketPriority;
  type?: TicketType;
  tags?: string[];
  custom_fields?: ZendeskCustomField[];
  assignee_id?: number;
  external_id?: string;
}

export interface SeedUploadInput {
  filename: string;
  content: Buffer | string;
  contentType?: string;
  /** Add to an existing upload instead of starting a new one. */
  token?: string;
}

/** In-process shortcuts for tests; they go through the same validation as the HTTP API and throw RecordInvalid. */
export interface ZendeskHelpers {
  seedUser(input?: SeedUserInput): ZendeskUser;
  seedTicket(input: SeedTicketInput): ZendeskTicket;
  seedUpload(input: SeedUploadInput): { upload: ZendeskUpload; attachment: ZendeskAttachment };
}

export const zendeskFlavor: FlavorDefinition<ZendeskState, ZendeskHelpers> = {
  name: 'zendesk',
  protectedPrefixes: ['/api/v2'],
  oauthPaths: { authorize: '/oauth/authorizations/new', token: '/oauth/tokens' },
  errors: {
    authFailure: {
      status: 401,
      body: { error: "Couldn't authenticate you" },
      // What Zendesk really answers to a bad or expired OAuth token.
      bearerBody: {
        error: 'invalid_token',
        error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
      },
    },
    notFound: { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } },
    badBody(problem, message) {
      switch (problem) {
        case 'invalid_json':
          return { status: 400, body: { error: 'Unprocessable Entity', description: `Server could not parse JSON: ${message}` } };
        case 'too_large':
          return { status: 413, body: { error: 'RequestEntityTooLarge', description: 'Request body is too large' } };
        default:
          return { status: 400, body: { error: 'InvalidRequest', description: `Could not read request body: ${message}` } };
      }
    },
    internal: { status: 500, body: { error: 'InternalServerError', description: 'Something went wrong' } },
  },
  create({ clock }) {
    const state = emptyZendeskState();
    const store = new ZendeskStore(state, clock);
    return {
      state,
      reset: () => store.reset(),
      router: zendeskRouter(store),
      helpers: {
        seedUser: (input = {}) => {
          const { createdAt, ...fields } = input;
          return store.createUser({ name: 'Sample User', ...fields }, { createdAt });
        },
        seedTicket: (input) => {
          const { createdAt, description, ...fields } = input;
          const comment = fields.comment ?? { body: description ?? 'Seeded ticket' };
          return store.createTicket({ ...fields, comment }, { createdAt }).ticket;
        },
        seedUpload: (input) =>
          store.addUpload({
            filename: input.filename,
            contentType: contentTypeFor(input.contentType, input.filename),
            data: typeof input.content === 'string' ? Buffer.from(input.content, 'utf8') : input.content,
            token: input.token,
          }),
      },
    };
  },
};

export * from './types';
export { RecordInvalid, RecordNotFound } from './store';
export { parseSearchQuery, SearchQueryError } from './search-query';
