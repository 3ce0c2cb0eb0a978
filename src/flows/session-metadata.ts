/**
 * The session's metadata (pure): what a session metadata file holds and what the session
 * outcome e-mail carries as its JSON body. Ids, times, agent, queue, customer identity,
 * disposition, CSAT, the CRM's account and record ids and links, and the events seen.
 * Absent facts are left out (no nulls to guess about). Nothing secret is in it: custom data
 * (signed or not) is not included, only what the session's variables and view already show.
 * No delivery statuses either: the document describes the session, not the gateway's progress,
 * so it is the same when it is made again (a retried metadata file overwrites an equal copy).
 */
import { sessionChannel } from '../storage/layout';
import type { SessionState, SessionView } from './engine';

/** The parts of the session view the metadata reads (the whole view fits). */
export type MetadataView = Pick<SessionView, 'connector' | 'session_id' | 'account_id' | 'record_id' | 'links'>;

export interface SessionMetadata {
  session_id: string;
  /** call or chat: the platform's file names use it (call-{id}.json, chat-{id}.json). */
  kind: 'call' | 'chat';
  /** The platform's call or chat id (the session id when the events gave none). */
  id: string;
  connector: string;
  [field: string]: unknown;
}

type Vars = SessionState['vars'];

/** call or chat, as the storage layout names files (a Chat_ID, else a Call_ID, else the channel). */
export function sessionKind(vars: Vars): 'call' | 'chat' {
  return sessionChannel(vars);
}

/** The platform's id of the session: its call or chat id, else the gateway's session id. */
export function sessionNumber(vars: Vars, sessionId: string): string {
  return String(vars.Call_ID ?? vars.Chat_ID ?? vars.SESSION_ID ?? sessionId);
}

export function sessionMetadata(
  state: Pick<SessionState, 'vars' | 'events' | 'agentAssigned' | 'ended' | 'abandoned' | 'outbound' | 'cuid'>,
  view: MetadataView,
): SessionMetadata {
  const v = state.vars;
  const pick = (...names: string[]) => compact(Object.fromEntries(names.map((n) => [n.toLowerCase(), v[n]])));
  return compact({
    session_id: view.session_id,
    kind: sessionKind(v),
    id: sessionNumber(v, view.session_id),
    connector: view.connector,
    call_id: v.Call_ID,
    chat_id: v.Chat_ID,
    session_type: v.SESSION_TYPE,
    channel: v.CHANNEL,
    direction: v.DIRECTION ?? (state.outbound ? 'outbound' : undefined),
    started_at: v.START_TIME,
    ended_at: v.END_TIME,
    ended: state.ended,
    agent_assigned: state.agentAssigned,
    abandoned: state.abandoned === true || (state.ended && !state.agentAssigned),
    duration: v.CALL_DURATION,
    hold_time: v.HOLD_TIME,
    wait_time: v.WAIT_TIME,
    disconnected_by: v.DISCONNECTED_BY,
    language: v.LANG,
    agent: nonEmpty({ id: v.AGENT_ID, custom_id: v.AGENT_CUSTOM_ID, email: v.AGENT_EMAIL, name: v.AGENT_NAME }),
    queue: nonEmpty({ id: v.QUEUE_ID, name: v.QUEUE_NAME, menu_path: v.MENU_PATH }),
    campaign: nonEmpty({ id: v.CAMPAIGN_ID, name: v.CAMPAIGN_NAME }),
    customer: nonEmpty({
      name: v.NAME,
      phone: v.PHONE_NUMBER,
      email: v.EMAIL,
      ujet_id: v.UJET_ID,
      cuid: state.cuid,
      sdk_identifier: v.SDK_IDENTIFIER,
      ani: v.ANI,
      dnis: v.DNIS,
      outbound_number: v.OUTBOUND_PHONE_NUMBER,
    }),
    disposition: nonEmpty({ code: v.DISPOSITION_CODE, notes: v.DISPOSITION_NOTES }),
    notes: v.NOTES,
    csat: nonEmpty(pick('RATING', 'FEEDBACK')),
    transfer: nonEmpty({ from: v.TRANSFER_FROM, to: v.TRANSFER_TO }),
    recording_url: v.RECORDING_URL,
    transcript_url: v.TRANSCRIPT_URL,
    crm: nonEmpty({
      account_id: view.account_id ?? undefined,
      record_id: view.record_id ?? undefined,
      account_url: view.links.account ?? undefined,
      record_url: view.links.record ?? undefined,
    }),
    events: state.events.map((e) => ({ type: e.type, at: new Date(e.at).toISOString() })),
  }) as SessionMetadata;
}

function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined && x !== null && x !== '')) as T;
}

function nonEmpty(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const c = compact(o);
  return Object.keys(c).length ? c : undefined;
}
