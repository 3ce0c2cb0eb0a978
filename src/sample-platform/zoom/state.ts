/**
 * The sample Zoom-like platform's data: engagements (with the consumer the agent talked to),
 * recordings and their transcripts, messaging transcripts, the OAuth tokens it issued and the
 * webhooks it sent. Plain in-memory objects; `reset()` clears them in place.
 */
import { randomToken, type Clock } from '../../sample-crm/common/clock';

export interface Consumer {
  /** E.164 as the platform shows it, e.g. "+12223334444". */
  number?: string;
  name?: string;
  email?: string;
}

export interface Engagement {
  engagement_id: string;
  /** voice, video or messaging. */
  channel: 'voice' | 'video' | 'messaging';
  queue_id?: string;
  queue_name?: string;
  user_id?: string;
  user_email?: string;
  consumer: Consumer;
}

export interface Recording {
  recording_id: string;
  engagement_id: string;
  recording_start_time: string;
  /** When processing finished: what `query_date_type=recording_end_time` filters on. */
  recording_end_time: string;
  recording_duration: number;
  bytes: Buffer;
  /** Present once the transcript is ready. */
  transcript?: string;
}

export interface IssuedToken {
  token: string;
  clientId: string;
  accountId: string;
  expiresAtMs: number;
}

export interface SentWebhook {
  seq: number;
  event: string;
  target: string;
  /** The HTTP status the target answered, or the network error. */
  status?: number;
  error?: string;
  /** Dropped by the sender (never posted). */
  dropped: boolean;
  at: number;
}

export interface ZoomState {
  engagements: Record<string, Engagement>;
  recordings: Record<string, Recording>;
  /** Messaging (chat) transcripts by engagement id. */
  messagingTranscripts: Record<string, string>;
  tokens: Record<string, IssuedToken>;
  /** Successful token grants, so tests can see a refresh happened. */
  tokensIssued: number;
  webhooks: SentWebhook[];
}

export function emptyState(): ZoomState {
  return { engagements: {}, recordings: {}, messagingTranscripts: {}, tokens: {}, tokensIssued: 0, webhooks: [] };
}

export function resetState(s: ZoomState): void {
  Object.assign(s, emptyState());
}

/** Zoom ids are 22-character URL-safe base64 strings. */
export function zoomId(): string {
  return Buffer.from(randomToken(16), 'hex').toString('base64url').slice(0, 22);
}

export function issueToken(s: ZoomState, clock: Clock, clientId: string, accountId: string, ttlSec: number): IssuedToken {
  const t: IssuedToken = { token: `zoom-at-${randomToken(20)}`, clientId, accountId, expiresAtMs: clock() + ttlSec * 1000 };
  s.tokens[t.token] = t;
  s.tokensIssued++;
  return t;
}
