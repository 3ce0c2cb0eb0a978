/**
 * Stored records. They hold data only; API URLs are added when serializing, because they
 * depend on the Host the client used.
 */

export const USER_ROLES = ['end-user', 'agent', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Order matters: search supports status<solved etc. */
export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const TICKET_TYPES = ['problem', 'incident', 'question', 'task'] as const;
export type TicketType = (typeof TICKET_TYPES)[number];

export interface ZendeskUser {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  external_id: string | null;
  role: UserRole;
  notes: string;
  details: string;
  tags: string[];
  user_fields: Record<string, unknown>;
  time_zone: string;
  locale: string;
  created_at: string;
  updated_at: string;
}

export interface ZendeskVia {
  channel: string;
  source: { from: Record<string, unknown>; to: Record<string, unknown>; rel: string | null };
}

export interface ZendeskCustomField {
  id: number;
  value: unknown;
}

export interface ZendeskTicket {
  id: number;
  external_id: string | null;
  type: TicketType | null;
  subject: string | null;
  description: string;
  priority: TicketPriority | null;
  status: TicketStatus;
  requester_id: number;
  submitter_id: number;
  assignee_id: number | null;
  group_id: number | null;
  tags: string[];
  custom_fields: ZendeskCustomField[];
  via: ZendeskVia;
  created_at: string;
  updated_at: string;
}

export interface ZendeskComment {
  id: number;
  ticket_id: number;
  audit_id: number;
  author_id: number;
  body: string;
  html_body: string;
  plain_body: string;
  public: boolean;
  attachment_ids: number[];
  via: ZendeskVia;
  created_at: string;
}

export interface ZendeskAuditEvent {
  id: number;
  type: 'Comment' | 'Create' | 'Change';
  field_name?: string;
  value?: unknown;
  previous_value?: unknown;
  comment_id?: number;
}

export interface ZendeskAudit {
  id: number;
  ticket_id: number;
  author_id: number;
  via: ZendeskVia;
  events: ZendeskAuditEvent[];
  created_at: string;
}

export interface ZendeskAttachment {
  id: number;
  /** Secret part of content_url; the download route needs no other auth. */
  content_token: string;
  upload_token: string;
  file_name: string;
  content_type: string;
  size: number;
  sha256: string;
  /** The decoded bytes exactly as received. */
  content: Buffer;
  created_at: string;
}

export interface ZendeskUpload {
  token: string;
  attachment_ids: number[];
  created_at: string;
  expires_at: string;
  expiresAtMs: number;
}

export interface ZendeskState {
  users: ZendeskUser[];
  tickets: ZendeskTicket[];
  comments: ZendeskComment[];
  audits: ZendeskAudit[];
  uploads: ZendeskUpload[];
  attachments: ZendeskAttachment[];
}

export function emptyZendeskState(): ZendeskState {
  return { users: [], tickets: [], comments: [], audits: [], uploads: [], attachments: [] };
}
