import { IdSequences, isoSeconds, randomToken, sha256Hex, type Clock } from '../common/clock';
import { isRecord } from '../common/body';
import {
  emptyZendeskState,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  TICKET_TYPES,
  USER_ROLES,
  type TicketStatus,
  type ZendeskAttachment,
  type ZendeskAudit,
  type ZendeskComment,
  type ZendeskCustomField,
  type ZendeskState,
  type ZendeskTicket,
  type ZendeskUpload,
  type ZendeskUser,
  type ZendeskVia,
} from './types';

export type FieldErrors = Record<string, { description: string; error: string }[]>;

/** Becomes Zendesk's 422 {"error":"RecordInvalid", ...}. */
export class RecordInvalid extends Error {
  constructor(readonly details: FieldErrors) {
    super(
      'Record validation errors: ' +
        Object.values(details)
          .flat()
          .map((d) => d.description)
          .join('; '),
    );
  }
}

/** Becomes Zendesk's 404 {"error":"RecordNotFound"}. */
export class RecordNotFound extends Error {}

/** Zendesk: "The attachment's token expires after 60 minutes." */
const UPLOAD_TTL_MS = 60 * 60 * 1000;

type Input = Record<string, unknown>;

class Errors {
  readonly details: FieldErrors = {};
  add(field: string, error: string, description: string): void {
    (this.details[field] ??= []).push({ description, error });
  }
  throwIfAny(): void {
    if (Object.keys(this.details).length) throw new RecordInvalid(this.details);
  }
}

function optionalString(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Zendesk tags are lowercase and space-free; a string is split on whitespace. */
function normalizeTags(v: unknown): string[] | undefined {
  const raw = typeof v === 'string' ? v.split(/\s+/) : Array.isArray(v) ? v.map(String) : undefined;
  if (!raw) return undefined;
  return [...new Set(raw.map((t) => t.trim().toLowerCase()).filter(Boolean))];
}

function oneOf<T extends string>(allowed: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v);
}

function asId(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

function defaultVia(): ZendeskVia {
  return { channel: 'api', source: { from: {}, to: {}, rel: null } };
}

function viaFrom(v: unknown): ZendeskVia {
  if (!isRecord(v) || typeof v.channel !== 'string') return defaultVia();
  const source = isRecord(v.source) ? v.source : {};
  return {
    channel: v.channel,
    source: {
      from: isRecord(source.from) ? source.from : {},
      to: isRecord(source.to) ? source.to : {},
      rel: typeof source.rel === 'string' ? source.rel : null,
    },
  };
}

function parseCustomFields(v: unknown, errors: Errors): ZendeskCustomField[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    errors.add('custom_fields', 'InvalidValue', 'Custom fields: must be an array of {id, value}');
    return undefined;
  }
  const out: ZendeskCustomField[] = [];
  for (const f of v) {
    const id = isRecord(f) ? asId(f.id) : undefined;
    if (!isRecord(f) || id === undefined) {
      errors.add('custom_fields', 'InvalidValue', `Custom fields: ${JSON.stringify(f)} is not a valid {id, value}`);
      continue;
    }
    out.push({ id, value: f.value ?? null });
  }
  return out;
}

export interface CommentInput {
  body?: unknown;
  html_body?: unknown;
  public?: unknown;
  uploads?: unknown;
  author_id?: unknown;
}

/** Seeds may backdate records so that sorting can be tested. */
export interface SeedTime {
  createdAt?: number | string;
}

function timeOf(clock: Clock, seed?: SeedTime): number {
  if (seed?.createdAt === undefined) return clock();
  return typeof seed.createdAt === 'number' ? seed.createdAt : Date.parse(seed.createdAt);
}

export class ZendeskStore {
  private readonly ids = new IdSequences({
    user: 10001,
    ticket: 1,
    comment: 50001,
    audit: 70001,
    event: 80001,
    attachment: 90001,
  });

  constructor(
    readonly state: ZendeskState,
    private readonly clock: Clock,
  ) {}

  reset(): void {
    Object.assign(this.state, emptyZendeskState());
    this.ids.reset();
  }

  // ---- lookups ------------------------------------------------------------------------------

  user(id: number): ZendeskUser | undefined {
    return this.state.users.find((u) => u.id === id);
  }
  ticket(id: number): ZendeskTicket | undefined {
    return this.state.tickets.find((t) => t.id === id);
  }
  attachment(id: number): ZendeskAttachment | undefined {
    return this.state.attachments.find((a) => a.id === id);
  }
  attachmentByContentToken(token: string): ZendeskAttachment | undefined {
    return this.state.attachments.find((a) => a.content_token === token);
  }
  upload(token: string): ZendeskUpload | undefined {
    return this.state.uploads.find((u) => u.token === token);
  }
  commentsOf(ticketId: number): ZendeskComment[] {
    return this.state.comments.filter((c) => c.ticket_id === ticketId);
  }
  userByEmail(email: string): ZendeskUser | undefined {
    const e = email.toLowerCase();
    return this.state.users.find((u) => u.email === e);
  }

  // ---- users --------------------------------------------------------------------------------

  createUser(input: Input, seed?: SeedTime): ZendeskUser {
    const errors = new Errors();
    this.checkNewUser(input, errors);
    errors.throwIfAny();
    return this.insertUser(input, seed);
  }

  private checkNewUser(input: Input, errors: Errors): void {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name) errors.add('name', 'BlankValue', 'Name:  is too short (minimum one character)');
    this.validateUserFields(input, errors, undefined);
  }

  /** Call only after checkNewUser found nothing wrong. */
  private insertUser(input: Input, seed?: SeedTime): ZendeskUser {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    const fields = this.validateUserFields(input, new Errors(), undefined);
    const iso = isoSeconds(timeOf(this.clock, seed));
    const user: ZendeskUser = {
      id: this.ids.take('user'),
      name,
      email: fields.email ?? null,
      phone: fields.phone ?? null,
      external_id: fields.external_id ?? null,
      role: fields.role ?? 'end-user',
      notes: typeof input.notes === 'string' ? input.notes : '',
      details: typeof input.details === 'string' ? input.details : '',
      tags: normalizeTags(input.tags) ?? [],
      user_fields: isRecord(input.user_fields) ? { ...input.user_fields } : {},
      time_zone: typeof input.time_zone === 'string' ? input.time_zone : 'UTC',
      locale: typeof input.locale === 'string' ? input.locale : 'en-US',
      created_at: iso,
      updated_at: iso,
    };
    this.state.users.push(user);
    return user;
  }

  updateUser(id: number, input: Input): ZendeskUser {
    const user = this.user(id);
    if (!user) throw new RecordNotFound();
    const errors = new Errors();
    if (input.name !== undefined && (typeof input.name !== 'string' || !input.name.trim())) {
      errors.add('name', 'BlankValue', 'Name:  is too short (minimum one character)');
    }
    const fields = this.validateUserFields(input, errors, user.id);
    errors.throwIfAny();
    if (typeof input.name === 'string') user.name = input.name.trim();
    if (fields.email !== undefined) user.email = fields.email;
    if (fields.phone !== undefined) user.phone = fields.phone;
    if (fields.external_id !== undefined) user.external_id = fields.external_id;
    if (fields.role !== undefined) user.role = fields.role;
    if (typeof input.notes === 'string') user.notes = input.notes;
    if (typeof input.details === 'string') user.details = input.details;
    const tags = normalizeTags(input.tags);
    if (tags) user.tags = tags;
    if (isRecord(input.user_fields)) user.user_fields = { ...user.user_fields, ...input.user_fields };
    user.updated_at = isoSeconds(this.clock());
    return user;
  }

  private validateUserFields(input: Input, errors: Errors, selfId: number | undefined) {
    const rawEmail = optionalString(input.email);
    const email = typeof rawEmail === 'string' ? rawEmail.toLowerCase() : rawEmail;
    if (email) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        errors.add('email', 'InvalidFormat', `Email: ${email} is not properly formatted`);
      } else if (this.state.users.some((u) => u.email === email && u.id !== selfId)) {
        errors.add('email', 'DuplicateValue', `Email: ${email} is already being used by another user`);
      }
    }
    const external_id = optionalString(input.external_id);
    if (external_id && this.state.users.some((u) => u.external_id === external_id && u.id !== selfId)) {
      errors.add('external_id', 'DuplicateValue', `External: ${external_id} has already been taken`);
    }
    let role: ZendeskUser['role'] | undefined;
    if (input.role !== undefined) {
      if (oneOf(USER_ROLES, input.role)) role = input.role;
      else errors.add('role', 'InvalidValue', `Role: ${String(input.role)} is not valid`);
    }
    return { email, phone: optionalString(input.phone), external_id, role };
  }

  // ---- tickets ------------------------------------------------------------------------------

  createTicket(input: Input, seed?: SeedTime): { ticket: ZendeskTicket; audit: ZendeskAudit } {
    const errors = new Errors();
    const requester = this.resolveRequester(input, errors);
    const comment: CommentInput = isRecord(input.comment) ? input.comment : typeof input.description === 'string' ? { body: input.description } : {};
    const text = this.commentText(comment);
    if (!text) errors.add('description', 'BlankValue', 'Description: cannot be blank');
    const uploads = this.resolveUploads(comment.uploads, errors);
    const assigneeId = this.resolveAssignee(input.assignee_id, errors);
    const status = this.validateEnum('status', TICKET_STATUSES, input.status, errors);
    const priority = this.validateEnum('priority', TICKET_PRIORITIES, input.priority, errors);
    const type = this.validateEnum('type', TICKET_TYPES, input.type, errors);
    const customFields = parseCustomFields(input.custom_fields ?? input.fields, errors);
    const authorId = this.resolveAuthor(comment.author_id, errors);
    errors.throwIfAny();
    const requesterId = typeof requester === 'function' ? requester() : requester;

    const ms = timeOf(this.clock, seed);
    const iso = isoSeconds(ms);
    const via = viaFrom(input.via);
    const ticket: ZendeskTicket = {
      id: this.ids.take('ticket'),
      external_id: optionalString(input.external_id) ?? null,
      type: type ?? null,
      subject: optionalString(input.subject) ?? null,
      description: text?.plain ?? '',
      priority: priority ?? null,
      status: status ?? (assigneeId ? 'open' : 'new'),
      requester_id: requesterId ?? 0,
      submitter_id: authorId ?? requesterId ?? 0,
      assignee_id: assigneeId ?? null,
      group_id: asId(input.group_id) ?? null,
      tags: normalizeTags(input.tags) ?? [],
      custom_fields: customFields ?? [],
      via,
      created_at: iso,
      updated_at: iso,
    };
    this.state.tickets.push(ticket);

    const audit = this.newAudit(ticket, ticket.submitter_id, via, iso);
    const created = this.pushComment(ticket, audit, comment, text, uploads, ticket.submitter_id, via, iso);
    audit.events.push({ id: created.id, type: 'Comment', comment_id: created.id });
    for (const field of ['subject', 'status', 'priority', 'type', 'requester_id', 'assignee_id', 'tags'] as const) {
      audit.events.push({ id: this.ids.take('event'), type: 'Create', field_name: field, value: ticket[field] });
    }
    return { ticket, audit };
  }

  updateTicket(id: number, input: Input): { ticket: ZendeskTicket; audit: ZendeskAudit } {
    const ticket = this.ticket(id);
    if (!ticket) throw new RecordNotFound();
    const errors = new Errors();
    if (ticket.status === 'closed') {
      errors.add('status', 'ClosedPreventsUpdate', 'Status: closed prevents ticket update');
      errors.throwIfAny();
    }
    const status = this.validateEnum('status', TICKET_STATUSES, input.status, errors);
    if (status === 'new' && ticket.status !== 'new') {
      errors.add('status', 'InvalidValue', `Status: new is not valid for a ${ticket.status} ticket`);
    }
    const priority = input.priority === null ? null : this.validateEnum('priority', TICKET_PRIORITIES, input.priority, errors);
    const type = input.type === null ? null : this.validateEnum('type', TICKET_TYPES, input.type, errors);
    const assigneeId = input.assignee_id === null ? null : this.resolveAssignee(input.assignee_id, errors);
    const requester = input.requester_id !== undefined || input.requester !== undefined ? this.resolveRequester(input, errors) : undefined;
    const customFields = parseCustomFields(input.custom_fields ?? input.fields, errors);
    const comment: CommentInput | undefined = isRecord(input.comment) ? input.comment : undefined;
    const text = comment ? this.commentText(comment) : undefined;
    if (comment && !text) errors.add('comment', 'BlankValue', 'Comment: cannot be blank');
    const uploads = comment ? this.resolveUploads(comment.uploads, errors) : [];
    const authorId = comment ? this.resolveAuthor(comment.author_id, errors) : undefined;
    errors.throwIfAny();
    const requesterId = typeof requester === 'function' ? requester() : requester;

    const iso = isoSeconds(this.clock());
    const via = viaFrom(input.via);
    const audit = this.newAudit(ticket, authorId ?? ticket.requester_id, via, iso);
    const change = (field: string, previous: unknown, value: unknown): void => {
      if (JSON.stringify(previous) === JSON.stringify(value)) return;
      audit.events.push({ id: this.ids.take('event'), type: 'Change', field_name: field, value, previous_value: previous });
    };

    if (input.subject !== undefined) {
      const subject = optionalString(input.subject) ?? null;
      change('subject', ticket.subject, subject);
      ticket.subject = subject;
    }
    let newStatus: TicketStatus | undefined = status;
    if (!newStatus && assigneeId && ticket.status === 'new') newStatus = 'open';
    if (newStatus) {
      change('status', ticket.status, newStatus);
      ticket.status = newStatus;
    }
    if (priority !== undefined) {
      change('priority', ticket.priority, priority);
      ticket.priority = priority;
    }
    if (type !== undefined) {
      change('type', ticket.type, type);
      ticket.type = type;
    }
    if (assigneeId !== undefined) {
      change('assignee_id', ticket.assignee_id, assigneeId);
      ticket.assignee_id = assigneeId;
    }
    if (requesterId !== undefined) {
      change('requester_id', ticket.requester_id, requesterId);
      ticket.requester_id = requesterId;
    }
    if (input.external_id !== undefined) ticket.external_id = optionalString(input.external_id) ?? null;
    let tags = normalizeTags(input.tags) ?? [...ticket.tags];
    const add = normalizeTags(input.additional_tags) ?? [];
    const remove = new Set(normalizeTags(input.remove_tags) ?? []);
    tags = [...new Set([...tags, ...add])].filter((t) => !remove.has(t));
    change('tags', ticket.tags, tags);
    ticket.tags = tags;
    if (customFields) {
      for (const f of customFields) {
        const existing = ticket.custom_fields.find((c) => c.id === f.id);
        change(`custom_field_${f.id}`, existing?.value ?? null, f.value);
        if (existing) existing.value = f.value;
        else ticket.custom_fields.push({ ...f });
      }
    }
    if (comment && text) {
      const created = this.pushComment(ticket, audit, comment, text, uploads, audit.author_id, via, iso);
      audit.events.unshift({ id: created.id, type: 'Comment', comment_id: created.id });
    }
    if (audit.events.length) ticket.updated_at = iso;
    return { ticket, audit };
  }

  /**
   * An existing user's id, or — for an inline requester with a new email — a function that
   * creates the user; it is called only once the whole ticket is valid, so a rejected ticket
   * leaves no orphan user behind.
   */
  private resolveRequester(input: Input, errors: Errors): number | (() => number) | undefined {
    if (input.requester_id !== undefined) {
      const id = asId(input.requester_id);
      if (id !== undefined && this.user(id)) return id;
      errors.add('requester', 'InvalidValue', `Requester: ${String(input.requester_id)} is invalid`);
      return undefined;
    }
    // Zendesk also accepts an inline requester, creating the user if the email is new.
    if (isRecord(input.requester)) {
      const email = optionalString(input.requester.email);
      const existing = email ? this.userByEmail(email) : undefined;
      if (existing) return existing.id;
      const inline = input.requester;
      const own = new Errors();
      this.checkNewUser(inline, own);
      for (const [field, list] of Object.entries(own.details)) {
        for (const d of list) errors.add(`requester.${field}`, d.error, `Requester: ${d.description}`);
      }
      return Object.keys(own.details).length ? undefined : () => this.insertUser(inline).id;
    }
    errors.add('requester', 'InvalidValue', 'Requester: is invalid (requester_id is required)');
    return undefined;
  }

  private resolveAssignee(v: unknown, errors: Errors): number | undefined {
    if (v === undefined || v === null) return undefined;
    const id = asId(v);
    const user = id !== undefined ? this.user(id) : undefined;
    if (!user || user.role === 'end-user') {
      errors.add('assignee', 'InvalidValue', `Assignee: ${String(v)} is not an agent`);
      return undefined;
    }
    return user.id;
  }

  private resolveAuthor(v: unknown, errors: Errors): number | undefined {
    if (v === undefined || v === null) return undefined;
    const id = asId(v);
    if (id !== undefined && this.user(id)) return id;
    errors.add('author', 'InvalidValue', `Author: ${String(v)} is invalid`);
    return undefined;
  }

  private validateEnum<T extends string>(field: string, allowed: readonly T[], v: unknown, errors: Errors): T | undefined {
    if (v === undefined || v === null) return undefined;
    if (oneOf(allowed, v)) return v;
    const label = field.charAt(0).toUpperCase() + field.slice(1);
    errors.add(field, 'InvalidValue', `${label}: ${String(v)} is not valid (allowed: ${allowed.join(', ')})`);
    return undefined;
  }

  private resolveUploads(v: unknown, errors: Errors): ZendeskUpload[] {
    if (v === undefined || v === null) return [];
    const tokens = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (!tokens) {
      errors.add('uploads', 'InvalidValue', 'Uploads: must be an array of upload tokens');
      return [];
    }
    const out: ZendeskUpload[] = [];
    for (const t of tokens) {
      const upload = typeof t === 'string' ? this.upload(t) : undefined;
      if (!upload || this.clock() >= upload.expiresAtMs) {
        errors.add('uploads', 'InvalidValue', `Uploads: token ${String(t)} is invalid or expired`);
      } else {
        out.push(upload);
      }
    }
    return out;
  }

  private commentText(c: CommentInput): { plain: string; html: string } | undefined {
    if (typeof c.html_body === 'string' && c.html_body.trim()) {
      return { plain: htmlToText(c.html_body), html: c.html_body };
    }
    if (typeof c.body === 'string' && c.body.trim()) {
      const html = `<div class="zd-comment" dir="auto">${escapeHtml(c.body).replace(/\n/g, '<br>')}</div>`;
      return { plain: c.body, html };
    }
    return undefined;
  }

  private newAudit(ticket: ZendeskTicket, authorId: number, via: ZendeskVia, iso: string): ZendeskAudit {
    const audit: ZendeskAudit = { id: this.ids.take('audit'), ticket_id: ticket.id, author_id: authorId, via, events: [], created_at: iso };
    this.state.audits.push(audit);
    return audit;
  }

  private pushComment(
    ticket: ZendeskTicket,
    audit: ZendeskAudit,
    input: CommentInput,
    text: { plain: string; html: string } | undefined,
    uploads: ZendeskUpload[],
    authorId: number,
    via: ZendeskVia,
    iso: string,
  ): ZendeskComment {
    const comment: ZendeskComment = {
      id: this.ids.take('comment'),
      ticket_id: ticket.id,
      audit_id: audit.id,
      author_id: authorId,
      body: text?.plain ?? '',
      html_body: text?.html ?? '',
      plain_body: text?.plain ?? '',
      public: input.public !== false,
      attachment_ids: uploads.flatMap((u) => u.attachment_ids),
      via,
      created_at: iso,
    };
    this.state.comments.push(comment);
    return comment;
  }

  // ---- uploads ------------------------------------------------------------------------------

  addUpload(file: { filename: string; contentType: string; data: Buffer; token?: string }): {
    upload: ZendeskUpload;
    attachment: ZendeskAttachment;
  } {
    let upload: ZendeskUpload | undefined;
    if (file.token !== undefined) {
      upload = this.upload(file.token);
      if (!upload || this.clock() >= upload.expiresAtMs) throw new RecordNotFound();
    }
    if (file.data.length === 0) {
      throw new RecordInvalid({ file: [{ description: 'File: is empty', error: 'BlankValue' }] });
    }
    const now = this.clock();
    const iso = isoSeconds(now);
    if (!upload) {
      const expiresAtMs = now + UPLOAD_TTL_MS;
      upload = { token: randomToken(12), attachment_ids: [], created_at: iso, expires_at: isoSeconds(expiresAtMs), expiresAtMs };
      this.state.uploads.push(upload);
    }
    const attachment: ZendeskAttachment = {
      id: this.ids.take('attachment'),
      content_token: randomToken(16),
      upload_token: upload.token,
      file_name: file.filename,
      content_type: file.contentType,
      size: file.data.length,
      sha256: sha256Hex(file.data),
      content: file.data,
      created_at: iso,
    };
    this.state.attachments.push(attachment);
    upload.attachment_ids.push(attachment.id);
    return { upload, attachment };
  }

  deleteUpload(token: string): void {
    const upload = this.upload(token);
    if (!upload) throw new RecordNotFound();
    const attached = new Set(this.state.comments.flatMap((c) => c.attachment_ids));
    this.state.uploads = this.state.uploads.filter((u) => u !== upload);
    this.state.attachments = this.state.attachments.filter((a) => a.upload_token !== token || attached.has(a.id));
  }
}
