/**
 * Which record a session goes onto (pure; 002, the platform's Zendesk integration rules):
 *   - reuse off → a new record;
 *   - a voicemail always gets a new record (which later sessions may reuse);
 *   - an outbound call gets a new record unless the customer's latest record is open, in
 *     which case the call is added to it and its status set to open;
 *   - a callback within the callback window (10 s) goes onto the open record;
 *   - otherwise reuse the most recent record of the same customer, same menu selection
 *     (queue) and same channel whose status is in the open set (New/Open/Pending/On-hold);
 *     Solved/Closed are never linked; "don't add to an existing open record" turns it off.
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
}

export type RecordDecision =
  | { action: 'create'; reason: string }
  | { action: 'reuse'; id: string | number; reason: string; reopen?: boolean };

export function chooseRecord(candidates: readonly RecordFacts[], s: SessionFacts, r: ReuseRules): RecordDecision {
  if (!r.enabled) return { action: 'create', reason: 'record reuse is off' };
  if (s.voicemail) return { action: 'create', reason: 'a voicemail always gets a new record' };
  const open = (c: RecordFacts) => c.status !== undefined && r.openStatuses.some((o) => o.toLowerCase() === c.status!.toLowerCase());
  const newestFirst = [...candidates].sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  if (s.outbound) {
    const latest = newestFirst[0];
    return latest && open(latest)
      ? { action: 'reuse', id: latest.id, reopen: true, reason: 'outbound call: the latest record is open, so the call is added to it and it is set open' }
      : { action: 'create', reason: 'outbound call: the latest record is not open' };
  }
  if (s.previousSessionEndedAt !== undefined && s.now - s.previousSessionEndedAt <= r.callbackWindowMs) {
    const target = newestFirst.find(open);
    if (target) return { action: 'reuse', id: target.id, reason: `callback within ${r.callbackWindowMs / 1000} s goes onto the open record` };
  }
  if (r.dontAddToOpenRecord) return { action: 'create', reason: '"don\'t add to an existing open record" is on' };
  const same = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a.toLowerCase() === b.toLowerCase();
  const match = newestFirst.find((c) => open(c) && same(c.queue, s.queue) && same(c.channel, s.channel));
  return match
    ? { action: 'reuse', id: match.id, reason: 'an open record of the same customer, queue and channel' }
    : { action: 'create', reason: candidates.length ? 'no open record of the same queue and channel' : 'the customer has no record yet' };
}

export function isVoicemail(sessionType: string | undefined): boolean {
  return /voicemail/i.test(sessionType ?? '');
}
