/**
 * The platform's engagement events → gateway session events (pure). The engagement is the
 * session (its id, or the field `session_id_from` names, is the session id); each recording,
 * transcript, note and disposition is one event whose id is the same whether it arrives by
 * webhook (once, twice, late) or is found by reconciliation, so the session counts it once:
 *
 *   contact_center.recording_completed                       → File_Available call_recording  recording:{recording_id}
 *   contact_center.recording_transcript_completed            → File_Available chat_transcript recording_transcript:{recording_id}
 *   contact_center.engagement_messaging_transcript_completed → File_Available chat_transcript messaging_transcript:{engagement_id}
 *   contact_center.engagement_note_added                     → Note_Added                     note:{note_id}
 *   contact_center.engagement_disposition_added              → Disposition_Set                disposition:{hash of the event's object}
 *
 * (A disposition may be set several times per engagement, e.g. after a transfer, with the same
 * disposition id: the hash of the whole object — who, when — tells those apart, while a resent
 * webhook hashes the same.) The customer comes from the event: consumer_number (the caller's
 * number), consumer_name, consumer_email, or the same fields of consumers[0]
 * (consumer_display_name for the name). Files are downloaded by the caller: `file` says from where.
 */
import crypto from 'node:crypto';
import type { FileKind, ZoomWebhooks } from '../../config/types';
import { GatewayError } from '../../errors';
import { readPath } from '../../util/json-path';

export const ZOOM_EVENTS = {
  recording: 'contact_center.recording_completed',
  recordingTranscript: 'contact_center.recording_transcript_completed',
  messagingTranscript: 'contact_center.engagement_messaging_transcript_completed',
  note: 'contact_center.engagement_note_added',
  disposition: 'contact_center.engagement_disposition_added',
} as const;

export const URL_VALIDATION = 'endpoint.url_validation';

export interface ZoomEventPlan {
  event: string;
  sessionId: string;
  eventId: string;
  /** The gateway event; a file's content is added once downloaded (data.content_base64). */
  body: { type: string; event_id: string; timestamp?: string; data: Record<string, unknown> };
  file?: { url: string; kind: FileKind; name: string; type: string };
}

export type Translation = { kind: 'event'; plan: ZoomEventPlan } | { kind: 'ignored'; event: string; reason: string };

const SESSION_ID = /^[\w.:@-]{1,200}$/;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** An event envelope `{event, event_ts, payload: {object}}` → what to do with it. */
export function translateZoomEvent(envelope: unknown, cfg: Pick<ZoomWebhooks, 'sessionIdFrom' | 'sessionIdFromSource'>): Translation {
  const env = obj(envelope);
  const event = str(env.event);
  if (!event)
    throw new GatewayError('validation_failed', 'a webhook body is {"event": "...", "payload": {"object": {...}}}', {
      errors: [{ field: 'event', message: 'required' }],
    });
  const object = obj(obj(env.payload).object);
  const eventTs = typeof env.event_ts === 'number' && Number.isFinite(env.event_ts) ? new Date(env.event_ts).toISOString() : undefined;
  return planFor(event, object, eventTs, cfg);
}

/** A recording as the list API returns it → its recording event and, once transcribed, its transcript event. */
export function plansForListedRecording(recording: Record<string, unknown>, cfg: Pick<ZoomWebhooks, 'sessionIdFrom' | 'sessionIdFromSource'>): ZoomEventPlan[] {
  const out: ZoomEventPlan[] = [];
  for (const event of [ZOOM_EVENTS.recording, ZOOM_EVENTS.recordingTranscript]) {
    if (event === ZOOM_EVENTS.recordingTranscript && !str(recording.transcript_url)) continue;
    const t = planFor(event, recording, undefined, cfg);
    if (t.kind === 'event') out.push(t.plan);
  }
  return out;
}

function planFor(
  event: string,
  o: Record<string, unknown>,
  eventTs: string | undefined,
  cfg: Pick<ZoomWebhooks, 'sessionIdFrom' | 'sessionIdFromSource'>,
): Translation {
  if (!(Object.values(ZOOM_EVENTS) as string[]).includes(event))
    return { kind: 'ignored', event, reason: 'not an engagement event the gateway writes to the CRM' };
  const found = readPath(o, cfg.sessionIdFrom);
  const sessionId = found.found ? str(found.value) : undefined;
  if (!sessionId)
    throw new GatewayError('validation_failed', `${event}: payload.object.${cfg.sessionIdFromSource} (the session id) is missing`, {
      errors: [{ field: `payload.object.${cfg.sessionIdFromSource}`, message: 'required' }],
    });
  if (!SESSION_ID.test(sessionId))
    throw new GatewayError(
      'validation_failed',
      `${event}: payload.object.${cfg.sessionIdFromSource} is not 1-200 characters of letters, digits and . : @ _ -`,
      { errors: [{ field: `payload.object.${cfg.sessionIdFromSource}`, message: 'invalid' }] },
    );
  const data = common(o, sessionId);
  const need = (field: string): string => {
    const v = str(o[field]);
    if (!v)
      throw new GatewayError('validation_failed', `${event}: payload.object.${field} is missing`, {
        errors: [{ field: `payload.object.${field}`, message: 'required' }],
      });
    return v;
  };
  const plan = (type: string, eventId: string, timestamp: string | undefined, extra: Record<string, unknown>, file?: ZoomEventPlan['file']): Translation => ({
    kind: 'event',
    plan: {
      event,
      sessionId,
      eventId,
      body: { type, event_id: eventId, ...(timestamp ? { timestamp } : {}), data: { ...data, ...extra } },
      ...(file ? { file } : {}),
    },
  });
  switch (event) {
    case ZOOM_EVENTS.recording: {
      const id = need('recording_id');
      const url = need('download_url');
      return plan(
        'File_Available',
        `recording:${id}`,
        str(o.recording_end_time) ?? eventTs,
        {},
        { url, kind: 'call_recording', name: `recording-${id}.mp3`, type: 'audio/mpeg' },
      );
    }
    case ZOOM_EVENTS.recordingTranscript: {
      const id = need('recording_id');
      const url = need('transcript_url');
      return plan(
        'File_Available',
        `recording_transcript:${id}`,
        str(o.recording_end_time) ?? eventTs,
        {},
        { url, kind: 'chat_transcript', name: `transcript-${id}.vtt`, type: 'text/vtt' },
      );
    }
    case ZOOM_EVENTS.messagingTranscript: {
      const url = need('transcript_url');
      return plan(
        'File_Available',
        `messaging_transcript:${sessionId}`,
        eventTs,
        {},
        { url, kind: 'chat_transcript', name: `chat-${sessionId}.txt`, type: 'text/plain' },
      );
    }
    case ZOOM_EVENTS.note: {
      const note = need('note');
      const id = str(o.note_id) ?? hash(o);
      return plan('Note_Added', `note:${id}`, str(o.date_time) ?? eventTs, { note });
    }
    default: {
      const name = need('disposition_name');
      return plan('Disposition_Set', `disposition:${hash(o)}`, str(o.date_time) ?? eventTs, { code: name });
    }
  }
}

/** Who and where, the same for every event of the engagement. */
function common(o: Record<string, unknown>, sessionId: string): Record<string, unknown> {
  const first = obj(Array.isArray(o.consumers) ? o.consumers[0] : undefined);
  const channel = str(o.channel) ?? str(o.channel_type);
  const chat = channel !== undefined && /messag|chat|sms/i.test(channel);
  const endUser = defined({
    phone: str(o.consumer_number) ?? str(o.consumer_phone_number) ?? str(first.consumer_number) ?? str(first.consumer_phone_number),
    name: str(o.consumer_name) ?? str(o.consumer_display_name) ?? str(first.consumer_display_name) ?? str(first.consumer_name),
    email: str(o.consumer_email) ?? str(first.consumer_email),
  });
  return defined({
    [chat ? 'chat_id' : 'call_id']: sessionId,
    channel: channel === undefined ? undefined : chat ? 'chat' : channel === 'video' ? 'video_call' : 'voice_call',
    queue_id: str(o.queue_id),
    queue_name: str(o.queue_name),
    agent_id: str(o.user_id),
    agent_email: str(o.user_email),
    end_user: Object.keys(endUser).length ? endUser : undefined,
  });
}

/** Key order does not change the hash: a resent event hashes the same however it was serialised. */
function hash(o: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(canonical(o)))
    .digest('hex')
    .slice(0, 32);
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
