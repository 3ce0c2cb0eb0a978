/**
 * Which record a session goes onto (pure; the rules of the platform's own Zendesk integration):
 *   - reuse off → a new record;
 *   - a voicemail always gets a new record (which later sessions may reuse);
 *   - an outbound call gets a new record unless the customer's latest record is open, in
 *     which case the call is added to it and its status set to open;
 *   - a callback within the callback window (10 s) goes onto the open record;
 *   - otherwise reuse the most recent record of the same customer, same menu selection
 *     (queue) and same channel whose status is in the open set (New/Open/Pending/On-hold);
 *     Solved/Closed are never linked; "don't add to an existing open record" turns it off;
 *   - with settings.reopen_closed_within_days N > 0, when no open record qualifies, the most
 *     recent record that is not open (solved/closed), of the same queue and channel and created
 *     within the last N days, is reused and set open again (for an outbound call: the latest
 *     record, if it is such a record) instead of creating a new one. A record whose creation
 *     time is unknown is not reopened (its age cannot be told).
 * A record whose queue or channel is unknown is not ruled out by them.
 */
export interface RecordFacts {
  id: string | number;
  status?: string;
  queue?: string;
  channel?: string;
  /** Epoch ms. */
  createdAt?: number;
}

export interface SessionFacts {
  channel?: string;
  queue?: string;
  sessionType?: string;
  outbound: boolean;
  voicemail: boolean;
  /** When the customer's previous session ended, for the callback window. */
  previousSessionEndedAt?: number;
  now: number;
}

export interface ReuseRules {
  enabled: boolean;
  openStatuses: readonly string[];
  dontAddToOpenRecord: boolean;
  callbackWindowMs: number;
  /** settings.reopen_closed_within_days in ms; 0 or absent: never reopen. */
  reopenClosedWithinMs?: number;
}

export type RecordDecision =
  | { action: 'create'; reason: string }
  /** `reopen`: set the record's status open; `closed`: it was solved/closed and is reopened. */
  | { action: 'reuse'; id: string | number; reason: string; reopen?: boolean; closed?: boolean };

export function chooseRecord(candidates: readonly RecordFacts[], s: SessionFacts, r: ReuseRules): RecordDecision {
  if (!r.enabled) return { action: 'create', reason: 'record reuse is off' };
  if (s.voicemail) return { action: 'create', reason: 'a voicemail always gets a new record' };
  const open = (c: RecordFacts) => c.status !== undefined && r.openStatuses.some((o) => o.toLowerCase() === c.status!.toLowerCase());
  const newestFirst = [...candidates].sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  const windowMs = r.reopenClosedWithinMs ?? 0;
  const recentlyClosed = (c: RecordFacts) => windowMs > 0 && !open(c) && c.createdAt !== undefined && s.now - c.createdAt <= windowMs;
  const days = `${Math.round(windowMs / 86_400_000)} day${Math.round(windowMs / 86_400_000) === 1 ? '' : 's'}`;
  if (s.outbound) {
    const latest = newestFirst[0];
    if (latest && open(latest))
      return {
        action: 'reuse',
        id: latest.id,
        reopen: true,
        reason: 'outbound call: the latest record is open, so the call is added to it and it is set open',
      };
    if (latest && recentlyClosed(latest))
      return {
        action: 'reuse',
        id: latest.id,
        reopen: true,
        closed: true,
        reason: `outbound call: the latest record is ${latest.status} and from the last ${days} (reopen_closed_within_days), so it is reopened`,
      };
    return { action: 'create', reason: 'outbound call: the latest record is not open' };
  }
  if (s.previousSessionEndedAt !== undefined && s.now - s.previousSessionEndedAt <= r.callbackWindowMs) {
    const target = newestFirst.find(open);
    if (target) return { action: 'reuse', id: target.id, reason: `callback within ${r.callbackWindowMs / 1000} s goes onto the open record` };
  }
  if (r.dontAddToOpenRecord) return { action: 'create', reason: '"don\'t add to an existing open record" is on' };
  const same = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a.toLowerCase() === b.toLowerCase();
  const sameQueue = (c: RecordFacts) => same(c.queue, s.queue) && same(c.channel, s.channel);
  const match = newestFirst.find((c) => open(c) && sameQueue(c));
  if (match) return { action: 'reuse', id: match.id, reason: 'an open record of the same customer, queue and channel' };
  const closed = newestFirst.find((c) => recentlyClosed(c) && sameQueue(c));
  if (closed)
    return {
      action: 'reuse',
      id: closed.id,
      reopen: true,
      closed: true,
      reason: `a ${closed.status} record of the same customer, queue and channel from the last ${days} (reopen_closed_within_days) is reopened`,
    };
  return { action: 'create', reason: candidates.length ? 'no open record of the same queue and channel' : 'the customer has no record yet' };
}

export function isVoicemail(sessionType: string | undefined): boolean {
  return /voicemail/i.test(sessionType ?? '');
}
