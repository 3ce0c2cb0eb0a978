/**
 * The session variables a connector may reference as `{NAME}`.
 * Referencing anything else is a load-time error, never an empty string at run time.
 * A connector may declare extra names of its own (`variables:` in the YAML) for
 * platform custom data.
 */
export const SESSION_VARIABLES = [
  'AGENT_ID',
  'AGENT_CUSTOM_ID',
  'AGENT_EMAIL',
  'NAME',
  'FIRST_NAME',
  'LAST_NAME',
  'UJET_ID',
  'EMAIL',
  'SESSION_TYPE',
  'PHONE_NUMBER',
  'Call_ID',
  'Chat_ID',
  'LANG',
  'CUSTOM_USER_ID',
  'ACCOUNT_ID',
  'RECORD_ID',
  'SESSION_ID',
  'MENU_PATH',
  'OUTBOUND_PHONE_NUMBER',
  'QUEUE_NAME',
  'QUEUE_ID',
  'SDK_NAME',
  'SDK_EMAIL',
  'SDK_PHONE',
  'SDK_IDENTIFIER',
  'SMART_ACTION_SESSION_ID',
  'RATING',
  'FEEDBACK',
  'CALL_DURATION',
  'HOLD_TIME',
  'WAIT_TIME',
  'DEVICE_TYPE',
  'DISCONNECTED_BY',
  'CHANNEL',
  'TICKET_SUBJECT',
  'TICKET_DESCRIPTION',
  'TICKET_DESCRIPTION_HTML',
  'COMMENT_BODY',
  'FILE_DATA',
  'ATTACHMENT_ID',
] as const;

/**
 * Not in the platform's list but needed by real upload APIs (Zendesk wants `?filename=`,
 * multipart needs a content type) and by "add comment after upload" (the link).
 */
export const FILE_VARIABLES = ['FILE_NAME', 'FILE_TYPE', 'FILE_KIND', 'FILE_URL', 'ATTACHMENT_URL'] as const;

/**
 * Not in the platform's list: the time of the request (NOW as ISO 8601, NOW_MS as epoch milliseconds;
 * some CRMs require a timestamp on notes), and, set by session flows from platform events, the status to set on an
 * outbound reuse, disposition, transfer, survey and custom data as text, the event type.
 */
export const FLOW_VARIABLES = [
  'NOW',
  'NOW_MS',
  'RECORD_STATUS',
  'DISPOSITION_CODE',
  'DISPOSITION_NOTES',
  'TRANSFER_FROM',
  'TRANSFER_TO',
  'SURVEY',
  'CUSTOM_DATA',
  'EVENT_TYPE',
  'VERIFIED',
] as const;

/**
 * Set by session flows from the data of the platform's adapter events (objects as JSON text).
 * Each holds the latest value the session's events gave.
 */
export const EVENT_VARIABLES = [
  'CAMPAIGN_ID', // campaign_id: the outbound campaign of a campaign call
  'CAMPAIGN_NAME', // campaign_name
  'VIRTUAL_AGENT_ID', // virtual_agent_id: the virtual agent that handled the session
  'VA_DATA_PARAMETERS', // va_data_parameters: the queue's variables sent to the virtual agent (JSON text)
  'SESSION_VARIABLE', // session_variable: the virtual agent's variables sent back to the platform (JSON text)
  'CUSTOM_SIP_HEADERS', // custom_sip_headers: custom SIP headers of an inbound SIP call (JSON text)
  'DIRECTION', // inbound or outbound: data.direction, else what session_type says
  'SOURCE_TYPE', // PHONE (a call) or CHAT (a chat, SMS, messaging)
  'START_TIME', // ISO 8601: the time of the session's earliest event
  'END_TIME', // ISO 8601: the time of the session's end event (End_Call, End_Chat, Dismissed_Chat)
  'FROM_AGENT_ID',
  'FROM_AGENT_CUSTOM_ID',
  'FROM_AGENT_EMAIL', // a transfer's agent of origin
  'FROM_QUEUE_ID',
  'FROM_QUEUE_PATH', // a transfer's queue of origin
  'TO_AGENT_ID',
  'TO_AGENT_CUSTOM_ID',
  'TO_AGENT_EMAIL', // a transfer's target agent
  'TO_QUEUE_ID',
  'TO_QUEUE_PATH', // a transfer's target queue
  'PARTY_TYPE', // Party_Added: the added participant's type (end_user, agent)
  'COBROWSE_SESSION_ID', // the screen-sharing session's id
  'COBROWSE_REQUESTED_BY', // who asked for screen sharing: agent, end_user
  'COBROWSE_ENDED_BY', // who ended it: agent, end_user, api
  'COBROWSE_REMOTE_CONTROL', // remote control state: on, rejected, requested, off
  'COBROWSE_FULL_DEVICE', // full-device sharing state: on, rejected, requested, off
  'CONVERSATION_ID', // Agent_Assist_Started: the conversation's id
  'PLATFORM_SESSION_ID', // Agent_Assist_Started: the platform's own session id (SESSION_ID is the gateway's)
  'LAST_INBOUND_MESSAGE', // the customer's latest chat message (at most 1000 characters)
  'LAST_OUTBOUND_MESSAGE', // the agent's latest chat message (at most 1000 characters)
  'VERIFIED_CUSTOM_DATA', // custom_data_secured whose signature verified, as "key: value" lines
] as const;

/**
 * Not in the platform's list: what CRM field mappings (data memorialization) write. Set by
 * session flows: AGENT_NAME, ANI (the caller's number as the platform gave it), DNIS (the number
 * dialed), NOTES (the agent's latest note: a Note_Added event's, or an event's notes), RECORDING_URL / TRANSCRIPT_URL (public links only),
 * ACW_END_TIME (ISO 8601: when after-call work ended); and, only on the
 * field-mapping update, MAPPED_FIELDS (the rendered fields as JSON text, placed with
 * `{MAPPED_FIELDS:json}`) and MAPPED_FIELDS_NOTE (one line saying when they were written).
 */
export const MEMORIALIZATION_VARIABLES = [
  'AGENT_NAME',
  'ANI',
  'DNIS',
  'NOTES',
  'RECORDING_URL',
  'TRANSCRIPT_URL',
  'ACW_END_TIME',
  'MAPPED_FIELDS',
  'MAPPED_FIELDS_NOTE',
] as const;

/**
 * Set by the gateway, not the caller: CREATED_MARKER is a durable create's idempotency key
 * (its delivery id), stamped on the object through the endpoint's created_marker param so that
 * recovery after an ambiguous try can search for exactly that object.
 */
export const GATEWAY_VARIABLES = ['CREATED_MARKER'] as const;

/** Variables of lookup (screen-pop) URLs ("custom lookup URL"). */
export const LOOKUP_VARIABLES = [
  'ACCOUNT_ID',
  'RECORD_ID',
  'PHONE_NUMBER',
  'CUSTOMER_PHONE_NUMBER',
  'ANI',
  'CUID',
  'EMAIL',
  'MENU_PATH',
  'MENU_ID',
  'CHANNEL',
  'TYPE',
  'SUPPORT_PHONE_NUMBER',
  'OUTBOUND_NUMBER',
  'SESSION_ID',
  'CUSTOM_AGENT_ID',
] as const;

/** Variables that hold phone numbers and are formatted per the connector's phone setting. */
export const PHONE_VARIABLES = new Set(['PHONE_NUMBER', 'OUTBOUND_PHONE_NUMBER', 'CUSTOMER_PHONE_NUMBER', 'ANI', 'SUPPORT_PHONE_NUMBER', 'OUTBOUND_NUMBER']);

export const REQUEST_VARIABLE_SET: ReadonlySet<string> = new Set<string>([
  ...SESSION_VARIABLES,
  ...FILE_VARIABLES,
  ...FLOW_VARIABLES,
  ...EVENT_VARIABLES,
  ...MEMORIALIZATION_VARIABLES,
  ...GATEWAY_VARIABLES,
]);
export const LOOKUP_VARIABLE_SET: ReadonlySet<string> = new Set<string>(LOOKUP_VARIABLES);

export type Variables = Readonly<Record<string, unknown>>;

/** A value counts as empty (and so "missing") when null, undefined, or a blank string. */
export function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** Names longer than this get no suggestion (no real variable name is near it, and the distance costs length²). */
export const SUGGEST_MAX_NAME_LENGTH = 64;

/** The closest known name, for "did you mean" in load errors. */
export function suggestVariable(name: string, known: Iterable<string>): string | undefined {
  // Bounded before any per-character work: callers may pass names of any length.
  if (name.length === 0 || name.length > SUGGEST_MAX_NAME_LENGTH) return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  const upper = name.toUpperCase();
  const threshold = Math.max(2, Math.floor(name.length / 4));
  for (const k of known) {
    // The distance is at least the difference in length: names too far apart are not compared.
    if (k.length > SUGGEST_MAX_NAME_LENGTH || Math.abs(k.length - name.length) > threshold) continue;
    if (k.toUpperCase() === upper) return k;
    const d = editDistance(upper, k.toUpperCase());
    if (d < bestScore) {
      bestScore = d;
      best = k;
    }
  }
  return bestScore <= threshold ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
