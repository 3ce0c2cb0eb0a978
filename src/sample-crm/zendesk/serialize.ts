import type { ZendeskStore } from './store';
import type { ZendeskAttachment, ZendeskAudit, ZendeskComment, ZendeskTicket, ZendeskUpload, ZendeskUser } from './types';

/**
 * Records → Zendesk API JSON. `origin` is the scheme+host the client used, so that url and
 * content_url point back at this very server.
 */
export class ZendeskSerializer {
  constructor(
    private readonly store: ZendeskStore,
    private readonly origin: string,
  ) {}

  user(u: ZendeskUser) {
    return {
      id: u.id,
      url: `${this.origin}/api/v2/users/${u.id}.json`,
      name: u.name,
      email: u.email,
      phone: u.phone,
      shared_phone_number: null,
      external_id: u.external_id,
      role: u.role,
      active: true,
      verified: false,
      suspended: false,
      time_zone: u.time_zone,
      locale: u.locale,
      organization_id: null,
      tags: u.tags,
      user_fields: u.user_fields,
      notes: u.notes,
      details: u.details,
      photo: null,
      created_at: u.created_at,
      updated_at: u.updated_at,
    };
  }

  ticket(t: ZendeskTicket) {
    const first = this.store.state.comments.find((c) => c.ticket_id === t.id);
    return {
      id: t.id,
      url: `${this.origin}/api/v2/tickets/${t.id}.json`,
      external_id: t.external_id,
      via: t.via,
      type: t.type,
      subject: t.subject,
      raw_subject: t.subject,
      description: t.description,
      priority: t.priority,
      status: t.status,
      recipient: null,
      requester_id: t.requester_id,
      submitter_id: t.submitter_id,
      assignee_id: t.assignee_id,
      organization_id: null,
      group_id: t.group_id,
      collaborator_ids: [],
      follower_ids: [],
      email_cc_ids: [],
      has_incidents: false,
      is_public: first?.public ?? true,
      due_at: null,
      tags: t.tags,
      custom_fields: t.custom_fields,
      // Zendesk returns the same list under both names.
      fields: t.custom_fields,
      satisfaction_rating: null,
      allow_attachments: true,
      created_at: t.created_at,
      updated_at: t.updated_at,
    };
  }

  comment(c: ZendeskComment) {
    return {
      id: c.id,
      type: 'Comment' as const,
      author_id: c.author_id,
      body: c.body,
      html_body: c.html_body,
      plain_body: c.plain_body,
      public: c.public,
      attachments: this.attachmentsByIds(c.attachment_ids),
      audit_id: c.audit_id,
      via: c.via,
      metadata: { system: {}, custom: {} },
      created_at: c.created_at,
    };
  }

  audit(a: ZendeskAudit) {
    return {
      id: a.id,
      ticket_id: a.ticket_id,
      created_at: a.created_at,
      author_id: a.author_id,
      metadata: { system: {}, custom: {} },
      via: a.via,
      events: a.events.map((e) => {
        const comment = e.type === 'Comment' ? this.store.state.comments.find((c) => c.id === e.comment_id) : undefined;
        // In Zendesk a comment *is* an audit event: same id, same fields.
        return comment ? this.comment(comment) : { ...e };
      }),
    };
  }

  attachment(a: ZendeskAttachment) {
    const contentUrl = `${this.origin}/attachments/token/${a.content_token}/?name=${encodeURIComponent(a.file_name)}`;
    return {
      id: a.id,
      url: `${this.origin}/api/v2/attachments/${a.id}.json`,
      file_name: a.file_name,
      content_url: contentUrl,
      mapped_content_url: contentUrl,
      content_type: a.content_type,
      size: a.size,
      width: null,
      height: null,
      inline: false,
      deleted: false,
      malware_access_override: false,
      malware_scan_result: 'malware_not_found',
      thumbnails: [],
    };
  }

  upload(u: ZendeskUpload, latest: ZendeskAttachment) {
    return {
      token: u.token,
      expires_at: u.expires_at,
      attachments: this.attachmentsByIds(u.attachment_ids),
      attachment: this.attachment(latest),
    };
  }

  private attachmentsByIds(ids: number[]) {
    return ids.flatMap((id) => {
      const a = this.store.attachment(id);
      return a ? [this.attachment(a)] : [];
    });
  }
}
