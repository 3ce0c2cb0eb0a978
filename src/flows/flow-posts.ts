/**
 * Flow-script posts in, gateway events out (pure). A platform's flow scripts POST small JSON
 * bodies at moments of a call (`{engagementId, caller_number, agent_email, queue_name}` when the
 * agent accepts, the same plus `disposition_name` when the disposition is saved); a connector's
 * `flow_posts:` mapping says which field is the session id, which event the post is and which
 * fields are which variables. The result goes to the session engine like any other event, so a
 * post never writes to the CRM by itself and duplicates are no-ops there.
 */
import crypto from 'node:crypto';
import type { CompiledFlowPost } from '../config/types';
import { GatewayError } from '../errors';
import type { JsonPath } from '../util/json-path';

export type EventVars = Record<string, string | number | boolean>;

export interface TranslatedEvent {
  /** A gateway event body: {type, data, event_id}. */
  body: { type: string; data: Record<string, unknown>; event_id: string };
  /** Every mapped variable, set on the session whatever the event type reads from its data. */
  vars: EventVars;
}

export interface TranslatedPost {
  sessionId: string;
  events: TranslatedEvent[];
}

/** The same rule as the events route (src/flows/engine.ts): ids the session store can key on. */
const SESSION_ID = /^[\w.:@-]{1,200}$/;

/**
 * Where a variable goes in the event's data, for the variables the session engine reads facts
 * from (the agent assigned, a disposition, a direction, a transfer): a post's disposition then
 * counts as the Disposition_Set's own code, not only as a variable.
 */
const DATA_FIELD: Readonly<Record<string, string>> = {
  PHONE_NUMBER: 'phone_number',
  EMAIL: 'email',
  NAME: 'name',
  SDK_IDENTIFIER: 'sdk_identifier',
  UJET_ID: 'end_user_id',
  AGENT_ID: 'agent_id',
  AGENT_CUSTOM_ID: 'agent_custom_id',
  AGENT_EMAIL: 'agent_email',
  AGENT_NAME: 'agent_name',
  QUEUE_ID: 'queue_id',
  QUEUE_NAME: 'queue_name',
  MENU_PATH: 'menu_path',
  LANG: 'lang',
  CHANNEL: 'channel',
  SESSION_TYPE: 'session_type',
  Call_ID: 'call_id',
  Chat_ID: 'chat_id',
  OUTBOUND_PHONE_NUMBER: 'outbound_number',
  DIRECTION: 'direction',
  DISPOSITION_CODE: 'code',
  DISPOSITION_NOTES: 'notes',
  TRANSFER_FROM: 'from_agent_email',
  TRANSFER_TO: 'to_agent_email',
  RATING: 'rating',
  FEEDBACK: 'feedback',
  CALL_DURATION: 'call_duration',
  HOLD_TIME: 'hold_time',
  WAIT_TIME: 'wait_time',
  DISCONNECTED_BY: 'disconnected_by',
  DEVICE_TYPE: 'device_type',
  DNIS: 'dnis',
  NOTES: 'notes',
  RECORDING_URL: 'recording_url',
  TRANSCRIPT_URL: 'transcript_url',
};

/** A field of the post, own properties only (a path never reaches `constructor` or `__proto__`). */
export function readField(post: unknown, path: JsonPath): unknown {
  let cur = post;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const key = Array.isArray(cur) && typeof seg === 'string' && /^\d+$/.test(seg) ? Number(seg) : seg;
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** A value as a variable: scalars kept, anything else as JSON text, empty as nothing. */
function scalar(v: unknown): string | number | boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  return JSON.stringify(v);
}

function invalid(field: string, message: string, detail: string): GatewayError {
  return new GatewayError('validation_failed', `${field}: ${message}`, { errors: [{ field, message: detail }] });
}

export function translateFlowPost(m: CompiledFlowPost, post: unknown): TranslatedPost {
  if (!post || typeof post !== 'object' || Array.isArray(post)) {
    throw new GatewayError('validation_failed', 'a flow post is a JSON object', { errors: [{ field: '(body)', message: 'not an object' }] });
  }
  const sid = scalar(readField(post, m.sessionId.path));
  if (sid === undefined || typeof sid === 'boolean')
    throw invalid(m.sessionId.source, `the session id is missing (flow post "${m.name}" takes it from ${m.sessionId.source})`, 'required');
  const sessionId = String(sid);
  if (!SESSION_ID.test(sessionId)) throw invalid(m.sessionId.source, 'a session id is 1-200 characters of letters, digits and . : @ _ -', 'invalid session id');

  const types = eventTypes(m, post);
  const vars: EventVars = {};
  const data: Record<string, unknown> = {};
  for (const v of m.variables) {
    const value = scalar(readField(post, v.path));
    if (value === undefined) continue;
    vars[v.name] = value;
    const key = DATA_FIELD[v.name];
    if (key !== undefined) data[key] = value;
  }
  const own = m.eventId ? scalar(readField(post, m.eventId.path)) : undefined;
  // Kept in the session's state with every event: an id is short, like a session id.
  if (own !== undefined && String(own).length > 200) throw invalid(m.eventId!.source, 'an event id is at most 200 characters', 'too long');
  // Without an id of its own, the post is known by its content: the same post twice is a duplicate.
  const base =
    own !== undefined ? `${m.name}:${String(own)}` : `${m.name}:sha256:${crypto.createHash('sha256').update(JSON.stringify(post)).digest('hex').slice(0, 32)}`;
  return {
    sessionId,
    events: types.map((type) => ({ body: { type, data: { ...data }, event_id: types.length > 1 ? `${base}:${type}` : base }, vars: { ...vars } })),
  };
}

function eventTypes(m: CompiledFlowPost, post: unknown): readonly string[] {
  if (m.event.kind === 'fixed') return m.event.types;
  const value = scalar(readField(post, m.event.path));
  const chosen = value === undefined ? undefined : m.event.map.get(String(value));
  if (chosen) return chosen;
  if (m.event.fallback) return m.event.fallback;
  const known = [...m.event.map.keys()].map((k) => JSON.stringify(k)).join(', ');
  throw invalid(
    m.event.source,
    `${value === undefined ? 'missing' : `${JSON.stringify(String(value)).slice(0, 80)} is not a known value`}; flow post "${m.name}" knows ${known}`,
    value === undefined ? 'required' : 'unknown value',
  );
}
