/**
 * Platform events in, normalised facts out (pure). The envelope and field names are the
 * platform's own (`{ "type": "New_Call", "data": { "call_id": …, "agent_id": … } }`),
 * plus the events the CRM needs that the adapter list lacks (Session_Started, CSAT_Submitted,
 * Disposition_Set, Custom_Data, Survey_Completed, User_Verified, Queue_Selected,
 * File_Available, Note_Added, After_Call_Work_Ended). Liberal in what is accepted (the platform's own examples miss commas, leave
 * trailing ones and send ids as strings; redaction events come bare), strict in what is kept: only
 * known variables, and custom_data_secured only once its signature is verified.
 */
import crypto from 'node:crypto';
import { GatewayError } from '../errors';
import { FILE_KINDS, type FileKind } from '../config/types';

import { EVENT_ALIASES, GATEWAY_EVENTS, PLATFORM_EVENTS } from '../config/event-types';

export { EVENT_ALIASES, GATEWAY_EVENTS, PLATFORM_EVENTS };
export type EventType = (typeof PLATFORM_EVENTS)[number] | (typeof GATEWAY_EVENTS)[number];

/** What an event means for the CRM. */
export type EventKind =
  | 'start'
  | 'agent'
  | 'transfer'
  | 'end'
  | 'csat'
  | 'disposition'
  | 'custom_data'
  | 'survey'
  | 'verification'
  | 'queue'
  | 'file'
  | 'acw_end'
  | 'note'
  | 'none';

const KIND: Record<EventType, EventKind> = {
  Session_Started: 'start',
  New_Call: 'agent',
  New_Chat: 'start',
  Active_Chat: 'agent',
  Agent_Joined_Chat: 'agent',
  Party_Added: 'transfer',
  Transfer_Chat: 'transfer',
  End_Call: 'end',
  End_Chat: 'end',
  Dismissed_Chat: 'end',
  CSAT_Submitted: 'csat',
  Disposition_Set: 'disposition',
  Custom_Data: 'custom_data',
  Survey_Completed: 'survey',
  User_Verified: 'verification',
  Queue_Selected: 'queue',
  File_Available: 'file',
  After_Call_Work_Ended: 'acw_end',
  Note_Added: 'note',
  Call_Redaction_Started: 'none',
  Call_Redaction_Ended: 'none',
  Chat_Inbound_Message: 'none',
  Chat_Outbound_Message: 'none',
  Agent_Login: 'none',
  Agent_Logout: 'none',
  Cobrowse_Session_Started: 'none',
  Cobrowse_Session_Remote_Control_Changed: 'none',
  Cobrowse_Session_Full_Device_Changed: 'none',
  Cobrowse_Session_Ended: 'none',
  Agent_Assist_Started: 'none',
};

export interface FileFacts {
  kind: FileKind;
  name: string;
  type: string;
  /** Inline content. */
  base64?: string;
  /** Or where the gateway downloads it, with optional headers (e.g. Authorization). */
  url?: string;
  headers?: Record<string, string>;
  /** Photos and videos: the platform's id of the media item (data.media_id), part of the stored file's name. */
  mediaId?: string;
}

export interface NormalizedEvent {
  type: EventType;
  kind: EventKind;
  /** Deduplication key: the event id, or a hash of the content when none is given. */
  key: string;
  /** Session variables this event provides (README variable names). */
  vars: Record<string, string | number | boolean>;
  /** The event's data object as parsed (connector mappings such as events.identity read it). */
  data: Record<string, unknown>;
  /** Facts used by the flows but not sent as variables. */
  facts: {
    direction?: 'inbound' | 'outbound';
    abandoned?: boolean;
    agentAssigned?: boolean;
    disposition?: { code?: string; notes?: string };
    survey?: Array<{ question: string; answer: string }>;
    customData?: Record<string, unknown>;
    transfer?: { from?: string; to?: string };
    file?: FileFacts;
    at?: number;
    /** custom_data_secured as sent (a signed token): not trusted until verified; never stored or logged. */
    securedCustomData?: unknown;
    /** custom_data_secured's claims, present only when its signature verified (set by FlowEngine.handle). */
    verifiedCustomData?: Record<string, unknown>;
    /** Why something of this event was not kept or trusted: whole lines for the session's warnings (one of each). */
    warnings?: string[];
  };
}

/** Bodies up to this size get the comma repair; larger ones must be valid JSON. */
export const LENIENT_REPAIR_LIMIT = 64 * 1024;

/**
 * Parses a body as JSON, repairing the commas the platform's published examples get wrong (left
 * out between members, or left after the last one). The repair is one linear pass, and only for
 * small bodies: a large invalid body costs one JSON.parse, no more.
 */
export function lenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const invalid = () => new GatewayError('invalid_json', `the event body is not valid JSON: ${(first as Error).message.slice(0, 200)}`);
    if (text.length > LENIENT_REPAIR_LIMIT) throw invalid();
    try {
      return JSON.parse(repairCommas(text));
    } catch {
      throw invalid();
    }
  }
}

/**
 * Two repairs in one pass over the text outside strings:
 * - a value at the end of a line followed by a key on the next: the comma is missing, add it;
 * - a comma after a value with only whitespace before the closing `}` or `]`: drop it.
 * Anything else (two commas in a row, a comma right after `{`) is left for JSON.parse to refuse.
 */
export function repairCommas(text: string): string {
  let out = '';
  let copied = 0;
  let inString = false;
  let valueEnd = -1;
  let newline = false;
  // Where a comma that followed a value stands, while only whitespace has come after it.
  let trailingComma = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) {
        inString = false;
        valueEnd = i + 1;
        newline = false;
      }
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
    if (c === 0x0a) {
      newline = true;
      continue;
    }
    if (c === 0x22) {
      if (valueEnd >= 0 && newline) {
        out += `${text.slice(copied, valueEnd)},`;
        copied = valueEnd;
      }
      inString = true;
      valueEnd = -1;
      trailingComma = -1;
      continue;
    }
    if ((c === 0x7d || c === 0x5d) && trailingComma >= 0) {
      out += text.slice(copied, trailingComma);
      copied = trailingComma + 1;
    }
    trailingComma = c === 0x2c && valueEnd >= 0 ? i : -1;
    // Digits, the last letter of true/false/null, and closing brackets end a value.
    const endsValue = (c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x6c || c === 0x7d || c === 0x5d;
    valueEnd = endsValue ? i + 1 : -1;
    newline = false;
  }
  return out + text.slice(copied);
}

const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function normalizeEvent(body: unknown, typeHint?: string): NormalizedEvent {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new GatewayError('validation_failed', 'an event is a JSON object: {"type": "...", "data": {...}}', {
      errors: [{ field: '(body)', message: 'not an object' }],
    });
  const b = body as Record<string, unknown>;
  // Redaction events arrive bare ({agent_id, call_id}): the type comes from ?type= then.
  const type = str(b.type) ?? typeHint;
  const data = (b.data && typeof b.data === 'object' ? b.data : b.type === undefined ? b : {}) as Record<string, unknown>;
  if (!type)
    throw new GatewayError('validation_failed', 'the event has no "type" (give it in the body or as ?type=)', {
      errors: [{ field: 'type', message: 'required' }],
    });
  const canonical = Object.hasOwn(EVENT_ALIASES, type) ? EVENT_ALIASES[type] : type;
  if (!Object.hasOwn(KIND, canonical)) {
    throw new GatewayError('validation_failed', `unknown event type "${type}"; known: ${[...PLATFORM_EVENTS, ...GATEWAY_EVENTS].join(', ')}`, {
      errors: [{ field: 'type', message: 'unknown event type' }],
    });
  }
  const t = canonical as EventType;
  const vars: NormalizedEvent['vars'] = {};
  const set = (name: string, v: unknown) => {
    const s = str(v);
    if (s !== undefined) vars[name] = typeof v === 'number' || typeof v === 'boolean' ? v : s;
  };
  const facts: NormalizedEvent['facts'] = {};

  set('Call_ID', data.call_id);
  set('Chat_ID', data.chat_id);
  set('SESSION_TYPE', data.session_type);
  set('AGENT_ID', data.agent_id ?? data.to_agent_id);
  set('AGENT_CUSTOM_ID', data.agent_custom_id ?? data.to_agent_custom_id);
  set('AGENT_EMAIL', data.agent_email ?? data.to_agent_email);
  set('QUEUE_ID', data.queue_id ?? data.to_queue_id);
  set('QUEUE_NAME', data.queue_name ?? data.queue_path ?? data.to_queue_path);
  set('MENU_PATH', data.menu_path ?? data.queue_path ?? data.to_queue_path);
  set('LANG', data.lang ?? data.language ?? data.queue_language_id);
  set('CHANNEL', data.channel ?? (data.chat_id !== undefined ? 'chat' : data.call_id !== undefined ? 'voice_call' : undefined));
  const user = (data.end_user && typeof data.end_user === 'object' ? data.end_user : {}) as Record<string, unknown>;
  // File_Available's older form used data.name for the file: then it is not the customer's name.
  const fileInName = t === 'File_Available' && data.file_name === undefined;
  set('NAME', user.name ?? (fileInName ? undefined : data.name));
  set('PHONE_NUMBER', user.phone ?? data.phone_number ?? data.ani);
  set('EMAIL', user.email ?? data.email);
  set('UJET_ID', user.id ?? data.end_user_id);
  set('SDK_IDENTIFIER', user.sdk_identifier ?? data.sdk_identifier);
  set('SDK_NAME', user.sdk_name);
  set('SDK_EMAIL', user.sdk_email);
  set('SDK_PHONE', user.sdk_phone);
  set('OUTBOUND_PHONE_NUMBER', data.outbound_number);
  set('DEVICE_TYPE', data.device_type);
  set('CALL_DURATION', data.call_duration ?? data.duration);
  set('HOLD_TIME', data.hold_time);
  set('WAIT_TIME', data.wait_time);
  set('DISCONNECTED_BY', data.disconnected_by);
  set('RATING', data.rating);
  set('FEEDBACK', data.feedback);
  set('SMART_ACTION_SESSION_ID', data.smart_action_session_id);
  eventDataVariables(t, data, set, facts);
  // What CRM field mappings write (data memorialization).
  set('AGENT_NAME', data.agent_name ?? data.to_agent_name);
  set('ANI', data.ani);
  set('DNIS', data.dnis);
  // The agent's latest notes, from a note or a disposition (whose notes are also DISPOSITION_NOTES).
  set('NOTES', data.note ?? data.notes);
  set('RECORDING_URL', publicLink(data.recording_url));
  set('TRANSCRIPT_URL', publicLink(data.transcript_url));
  if (t === 'File_Available' && data.headers === undefined) {
    // A file's url is a link the CRM may show only when it needs no credentials (no headers).
    if (data.kind === 'call_recording') set('RECORDING_URL', publicLink(data.url));
    if (data.kind === 'chat_transcript') set('TRANSCRIPT_URL', publicLink(data.url));
  }
  if (user.cuid !== undefined) facts.customData = { ...(facts.customData ?? {}), cuid: user.cuid };
  if (data.direction === 'outbound' || /outbound/i.test(String(data.session_type ?? ''))) facts.direction = 'outbound';
  else if (data.direction === 'inbound' || /inbound/i.test(String(data.session_type ?? ''))) facts.direction = 'inbound';
  set('DIRECTION', facts.direction);
  if (data.abandoned === true) facts.abandoned = true;
  if (data.agent_id !== undefined || data.to_agent_id !== undefined || data.agent_custom_id !== undefined) facts.agentAssigned = true;
  // An agent event naming only the agent's e-mail (a flow script's "interaction accepted") assigns the agent too.
  if (KIND[t] === 'agent' && data.agent_email !== undefined) facts.agentAssigned = true;
  if (t === 'Disposition_Set') facts.disposition = { code: str(data.code), notes: str(data.notes) };
  if (t === 'Survey_Completed' && Array.isArray(data.answers)) {
    facts.survey = (data.answers as Array<Record<string, unknown>>).map((a) => ({ question: str(a.question) ?? '', answer: str(a.answer) ?? '' }));
  }
  // custom_data_secured is only trusted once its signature is checked with the connector's key
  // (FlowEngine.handle, src/flows/signed-data.ts): here it is only passed along, never merged.
  if (t === 'Custom_Data' || data.custom_data_not_secured) {
    facts.customData = { ...(facts.customData ?? {}), ...objectOf(data.data), ...objectOf(data.custom_data_not_secured) };
  }
  if (data.custom_data_secured !== undefined && data.custom_data_secured !== null && data.custom_data_secured !== '')
    facts.securedCustomData = data.custom_data_secured;
  if (t === 'Transfer_Chat' || t === 'Party_Added')
    facts.transfer = { from: str(data.from_agent_email ?? data.from_queue_path), to: str(data.to_agent_email ?? data.to_queue_path ?? data.agent_email) };
  if (t === 'File_Available') facts.file = fileFacts(data);
  const at = typeof b.timestamp === 'string' ? Date.parse(b.timestamp) : typeof b.timestamp === 'number' ? b.timestamp : undefined;
  // Only a time a Date can hold (years 1970–2200); anything else is ignored, not stored.
  if (at !== undefined && Number.isFinite(at) && at >= 0 && at < 7_258_118_400_000) facts.at = at;

  const key =
    str(b.event_id ?? b.id) ??
    `sha256:${crypto
      .createHash('sha256')
      .update(JSON.stringify([t, data]))
      .digest('hex')
      .slice(0, 32)}`;
  // The signed token stays out of `data` (identity paths read custom_data_secured only from its
  // verified claims), so it can never be stored, shown or logged with the event.
  const { custom_data_secured: _token, ...unsignedData } = data;
  return { type: t, kind: KIND[t], key, vars, data: unsignedData, facts };
}

/** The longest chat message kept (the latest one of each direction only; longer ones are cut). */
export const MAX_MESSAGE_CHARS = 1000;
/** The longest JSON text an object field (va_data_parameters, session_variable, custom_sip_headers) may become. */
export const MAX_OBJECT_TEXT_CHARS = 8 * 1024;

/**
 * The adapter events' own data fields as variables (README "Event variables"): campaign, virtual agent,
 * the transfer's from_/to_ sides, cobrowse state, Agent Assist ids, the latest chat message.
 * Objects become JSON text; one too large to keep is left out with a warning, never cut (cut JSON
 * is not JSON).
 */
function eventDataVariables(t: EventType, data: Record<string, unknown>, set: (name: string, v: unknown) => void, facts: NormalizedEvent['facts']): void {
  set('CAMPAIGN_ID', data.campaign_id);
  set('CAMPAIGN_NAME', data.campaign_name);
  set('VIRTUAL_AGENT_ID', data.virtual_agent_id);
  for (const [field, name] of [
    ['va_data_parameters', 'VA_DATA_PARAMETERS'],
    ['session_variable', 'SESSION_VARIABLE'],
    ['custom_sip_headers', 'CUSTOM_SIP_HEADERS'],
  ] as const) {
    const text = str(data[field]);
    if (text !== undefined && text.length > MAX_OBJECT_TEXT_CHARS)
      (facts.warnings ??= []).push(`${t}: ${name} not kept: ${text.length} characters, at most ${MAX_OBJECT_TEXT_CHARS}`);
    else set(name, text);
  }
  set(
    'SOURCE_TYPE',
    data.chat_id !== undefined
      ? 'CHAT'
      : data.call_id !== undefined
        ? 'PHONE'
        : /chat|sms|messag|whatsapp/i.test(String(data.channel ?? ''))
          ? 'CHAT'
          : /voice|call|phone/i.test(String(data.channel ?? ''))
            ? 'PHONE'
            : undefined,
  );
  for (const side of ['from', 'to'] as const) {
    for (const field of ['agent_id', 'agent_custom_id', 'agent_email', 'queue_id', 'queue_path'])
      set(`${side}_${field}`.toUpperCase(), data[`${side}_${field}`]);
  }
  // Party_Added: data.type is the added participant's type (end_user, agent), not the event's.
  if (t === 'Party_Added') set('PARTY_TYPE', data.type);
  set('COBROWSE_SESSION_ID', data.cobrowse_session_id);
  set('COBROWSE_REQUESTED_BY', data.cobrowse_session_requested_by);
  set('COBROWSE_ENDED_BY', data.cobrowse_session_ended_by);
  set('COBROWSE_REMOTE_CONTROL', data.cobrowse_session_remote_control);
  set('COBROWSE_FULL_DEVICE', data.cobrowse_session_full_device);
  set('CONVERSATION_ID', data.conversation_id);
  set('PLATFORM_SESSION_ID', data.session_id);
  // Only the latest message of each direction is kept, cut to MAX_MESSAGE_CHARS: a chat's
  // messages would otherwise grow the stored session without bound.
  if (t === 'Chat_Inbound_Message') set('LAST_INBOUND_MESSAGE', cut(str(data.message), MAX_MESSAGE_CHARS));
  if (t === 'Chat_Outbound_Message') set('LAST_OUTBOUND_MESSAGE', cut(str(data.message), MAX_MESSAGE_CHARS));
}

/** At most `max` characters, never half a surrogate pair, "…" when cut. */
function cut(text: string | undefined, max: number): string | undefined {
  if (text === undefined || text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** An http(s) URL, else nothing: a link field never carries another scheme into the CRM. */
function publicLink(v: unknown): string | undefined {
  return typeof v === 'string' && /^https?:\/\/[^\s]+$/i.test(v) ? v : undefined;
}

function objectOf(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') {
    try {
      return objectOf(JSON.parse(v));
    } catch {
      return { value: v };
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function fileFacts(data: Record<string, unknown>): FileFacts {
  const kind = str(data.kind);
  if (!kind || !(FILE_KINDS as readonly string[]).includes(kind)) {
    throw new GatewayError('validation_failed', `File_Available needs data.kind, one of ${FILE_KINDS.join(', ')}`, {
      errors: [{ field: 'data.kind', message: 'unknown file kind' }],
    });
  }
  const base64 = str(data.content_base64);
  const url = str(data.url);
  if (url !== undefined && !/^https?:\/\//.test(url))
    throw new GatewayError('validation_failed', 'File_Available: data.url must be an http(s) URL', {
      errors: [{ field: 'data.url', message: 'not an http(s) URL' }],
    });
  if (url !== undefined) {
    try {
      new URL(url);
    } catch {
      throw new GatewayError('validation_failed', 'File_Available: data.url is not a valid URL', { errors: [{ field: 'data.url', message: 'invalid URL' }] });
    }
  }
  if (!base64 && !url)
    throw new GatewayError('validation_failed', 'File_Available needs data.content_base64 or data.url', {
      errors: [{ field: 'data.url', message: 'required' }],
    });
  // `file_name` is the file's own field; `name` is accepted for it only in the older form (no file_name).
  const name = str(data.file_name) ?? str(data.name);
  return {
    kind: kind as FileKind,
    name: name ?? `${kind}.bin`,
    type: str(data.content_type) ?? 'application/octet-stream',
    base64,
    url,
    headers: data.headers && typeof data.headers === 'object' ? (data.headers as Record<string, string>) : undefined,
    ...(str(data.media_id) !== undefined ? { mediaId: str(data.media_id) } : {}),
  };
}
