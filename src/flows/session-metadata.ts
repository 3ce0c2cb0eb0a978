/**
 * The session's data as one JSON document: the body of the session metadata file
 * (call-{id}.json / chat-{id}.json, README "Session metadata file"). Plain facts the gateway
 * knows about the session — ids, times, agent, queue, customer, outcome, events — and every
 * session variable as received, so nothing the platform said is lost. No delivery statuses:
 * the document describes the session, not the gateway's progress, and stays the same when
 * it is made again.
 */
import type { Connector } from '../config/types';
import { sessionChannel } from '../storage/layout';
import type { SessionState, SessionView } from './engine';

export interface SessionMetadata {
  session_id: string;
  connector: string;
  channel: 'call' | 'chat';
  call_id?: string | number;
  chat_id?: string | number;
  session_type?: string;
  started_at?: string;
  ended_at?: string;
  ended: boolean;
  agent_assigned: boolean;
  account_id: string | number | null;
  record_id: string | number | null;
  record_url: string | null;
  agent?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  customer?: Record<string, unknown>;
  outcome?: Record<string, unknown>;
  events: Array<{ type: string; at: string }>;
  /** Every session variable, by name, sorted. */
  variables: Record<string, string | number | boolean>;
}

export function sessionMetadata(connector: Connector, sessionId: string, state: SessionState, view: SessionView): SessionMetadata {
  const v = state.vars;
  const pick = (names: Record<string, string>) => {
    const out = Object.fromEntries(Object.entries(names).filter(([, k]) => v[k] !== undefined && v[k] !== '').map(([field, k]) => [field, v[k]]));
    return Object.keys(out).length ? out : undefined;
  };
  return defined({
    session_id: sessionId,
    connector: connector.id,
    channel: sessionChannel(v),
    call_id: v.Call_ID as string | number | undefined,
    chat_id: v.Chat_ID as string | number | undefined,
    session_type: v.SESSION_TYPE as string | undefined,
    started_at: v.START_TIME as string | undefined,
    ended_at: v.END_TIME as string | undefined,
    ended: state.ended,
    agent_assigned: state.agentAssigned,
    account_id: (view.account_id as string | number | null | undefined) ?? null,
    record_id: (view.record_id as string | number | null | undefined) ?? null,
    record_url: (view.links as { record?: string | null } | undefined)?.record ?? null,
    agent: pick({ id: 'AGENT_ID', custom_id: 'AGENT_CUSTOM_ID', email: 'AGENT_EMAIL', name: 'AGENT_NAME' }),
    queue: pick({ id: 'QUEUE_ID', name: 'QUEUE_NAME', menu_path: 'MENU_PATH', language: 'LANG' }),
    customer: state.cuid !== undefined ? { ...pick({ name: 'NAME', phone: 'PHONE_NUMBER', email: 'EMAIL', ujet_id: 'UJET_ID', sdk_identifier: 'SDK_IDENTIFIER' }), cuid: state.cuid } : pick({ name: 'NAME', phone: 'PHONE_NUMBER', email: 'EMAIL', ujet_id: 'UJET_ID', sdk_identifier: 'SDK_IDENTIFIER' }),
    outcome: pick({
      disposition_code: 'DISPOSITION_CODE', disposition_notes: 'DISPOSITION_NOTES', rating: 'RATING', feedback: 'FEEDBACK', call_duration: 'CALL_DURATION',
      hold_time: 'HOLD_TIME', wait_time: 'WAIT_TIME', disconnected_by: 'DISCONNECTED_BY', transfer_from: 'TRANSFER_FROM', transfer_to: 'TRANSFER_TO',
    }),
    events: state.events.map((e) => ({ type: e.type, at: new Date(e.at).toISOString() })),
    variables: Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  }) as SessionMetadata;
}

function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}
