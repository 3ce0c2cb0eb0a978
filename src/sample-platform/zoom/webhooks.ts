/**
 * Webhooks as the Zoom-like platform sends them: the event envelope
 * `{event, event_ts, payload: {account_id, object}}`, signed with the app's secret token
 * (`x-zm-signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")` in hex,
 * `x-zm-request-timestamp` in epoch seconds), and a sender that can drop, duplicate and reorder
 * what it posts, as real delivery sometimes does.
 */
import crypto from 'node:crypto';
import type { Clock } from '../../sample-crm/common/clock';
import type { Engagement, Recording, SentWebhook, ZoomState } from './state';

export interface ZoomWebhook {
  event: string;
  event_ts: number;
  payload: { account_id: string; object: Record<string, unknown> } | { plainToken: string };
}

/** The signature headers for this exact body text. */
export function signZoomWebhook(secret: string, body: string, timestampSec: number): Record<string, string> {
  const hex = crypto.createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex');
  return { 'x-zm-signature': `v0=${hex}`, 'x-zm-request-timestamp': String(timestampSec) };
}

/** What the platform says about the engagement in every event (who, where, which channel). */
function engagementFields(e: Engagement): Record<string, unknown> {
  return {
    engagement_id: e.engagement_id,
    channel: e.channel,
    ...(e.queue_id ? { queue_id: e.queue_id } : {}),
    ...(e.queue_name ? { queue_name: e.queue_name } : {}),
    ...(e.user_id ? { user_id: e.user_id } : {}),
    ...(e.user_email ? { user_email: e.user_email } : {}),
    ...(e.consumer.number ? { consumer_number: e.consumer.number } : {}),
    ...(e.consumer.name ? { consumer_name: e.consumer.name } : {}),
    ...(e.consumer.email ? { consumer_email: e.consumer.email } : {}),
  };
}

/** Builds the platform's events for its own data; `baseUrl` is where its API answers. */
export class ZoomEvents {
  constructor(
    private readonly state: ZoomState,
    private readonly clock: Clock,
    private readonly accountId: string,
    private readonly baseUrl: () => string,
  ) {}

  private envelope(event: string, object: Record<string, unknown>): ZoomWebhook {
    return { event, event_ts: this.clock(), payload: { account_id: this.accountId, object } };
  }

  private engagement(id: string): Engagement {
    const e = this.state.engagements[id];
    if (!e) throw new Error(`no engagement ${id}`);
    return e;
  }

  private recording(id: string): Recording {
    const r = this.state.recordings[id];
    if (!r) throw new Error(`no recording ${id}`);
    return r;
  }

  recordingDownloadUrl(id: string): string {
    return `${this.baseUrl()}/v2/contact_center/recordings/${id}/download`;
  }
  recordingTranscriptUrl(id: string): string {
    return `${this.baseUrl()}/v2/contact_center/recordings/${id}/transcript`;
  }
  messagingTranscriptUrl(engagementId: string): string {
    return `${this.baseUrl()}/v2/contact_center/engagements/${engagementId}/messaging_transcript`;
  }

  recordingCompleted(recordingId: string): ZoomWebhook {
    const r = this.recording(recordingId);
    return this.envelope('contact_center.recording_completed', {
      ...engagementFields(this.engagement(r.engagement_id)),
      recording_id: r.recording_id,
      recording_start_time: r.recording_start_time,
      recording_end_time: r.recording_end_time,
      recording_duration: r.recording_duration,
      download_url: this.recordingDownloadUrl(r.recording_id),
    });
  }

  recordingTranscriptCompleted(recordingId: string): ZoomWebhook {
    const r = this.recording(recordingId);
    return this.envelope('contact_center.recording_transcript_completed', {
      ...engagementFields(this.engagement(r.engagement_id)),
      recording_id: r.recording_id,
      recording_end_time: r.recording_end_time,
      transcript_url: this.recordingTranscriptUrl(r.recording_id),
    });
  }

  messagingTranscriptCompleted(engagementId: string): ZoomWebhook {
    return this.envelope('contact_center.engagement_messaging_transcript_completed', {
      ...engagementFields(this.engagement(engagementId)),
      transcript_url: this.messagingTranscriptUrl(engagementId),
    });
  }

  noteAdded(engagementId: string, note: string, noteId = `note-${crypto.randomUUID()}`): ZoomWebhook {
    return this.envelope('contact_center.engagement_note_added', {
      ...engagementFields(this.engagement(engagementId)),
      note_id: noteId,
      note,
      date_time: new Date(this.clock()).toISOString(),
    });
  }

  dispositionAdded(engagementId: string, dispositionName: string, dispositionId = `disp-${crypto.randomUUID()}`): ZoomWebhook {
    return this.envelope('contact_center.engagement_disposition_added', {
      ...engagementFields(this.engagement(engagementId)),
      disposition_id: dispositionId,
      disposition_name: dispositionName,
      date_time: new Date(this.clock()).toISOString(),
    });
  }

  urlValidation(plainToken: string): ZoomWebhook {
    return { event: 'endpoint.url_validation', event_ts: this.clock(), payload: { plainToken } };
  }
}

export interface DeliveryPlan {
  /** Where to POST. */
  target: string;
  /** Indexes (into the events given) that are never sent. */
  drop?: number[];
  /** Indexes sent twice (the copy right after the original). */
  duplicate?: number[];
  /** The order to send in, as indexes; default the given order. Dropped ones are skipped. */
  order?: number[];
}

export interface SendResult {
  event: string;
  status?: number;
  error?: string;
  dropped: boolean;
  body?: unknown;
}

/** Posts signed webhooks one after the other (the platform does not wait between them). */
export class WebhookSender {
  private seq = 0;
  constructor(
    private readonly state: ZoomState,
    private readonly clock: Clock,
    private readonly secret: () => string,
  ) {}

  async deliver(events: ZoomWebhook[], plan: DeliveryPlan): Promise<SendResult[]> {
    const order = plan.order ?? events.map((_, i) => i);
    const drop = new Set(plan.drop ?? []);
    const dup = new Set(plan.duplicate ?? []);
    const out: SendResult[] = [];
    for (const i of order) {
      const ev = events[i];
      if (!ev) throw new Error(`order names event ${i}, but only ${events.length} were given`);
      if (drop.has(i)) {
        this.log(ev.event, plan.target, { dropped: true });
        out.push({ event: ev.event, dropped: true });
        continue;
      }
      for (let n = dup.has(i) ? 2 : 1; n > 0; n--) out.push(await this.post(ev, plan.target));
    }
    return out;
  }

  /** One signed POST; the body text is what is signed, byte for byte. */
  async post(ev: ZoomWebhook, target: string): Promise<SendResult> {
    const body = JSON.stringify(ev);
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': 'Zoom Marketplace/1.0a',
      ...signZoomWebhook(this.secret(), body, Math.floor(this.clock() / 1000)),
    };
    try {
      const res = await fetch(target, { method: 'POST', headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* keep the text */
      }
      this.log(ev.event, target, { status: res.status });
      return { event: ev.event, status: res.status, dropped: false, body: parsed };
    } catch (e) {
      this.log(ev.event, target, { error: (e as Error).message });
      return { event: ev.event, error: (e as Error).message, dropped: false };
    }
  }

  private log(event: string, target: string, what: Partial<SentWebhook>): void {
    this.state.webhooks.push({ seq: ++this.seq, event, target, dropped: false, at: this.clock(), ...what });
  }
}
