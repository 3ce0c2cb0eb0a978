/**
 * Whether a session "completed successfully" (pure): the session outcome e-mail goes only to
 * those. A session succeeded when it ended (an end event), an agent was assigned, it was not
 * reported abandoned, and none of its CRM writes failed (dead or cancelled). Writes still on
 * their way (pending, running, or unknown_outcome waiting for an operator) leave the question
 * open: the caller waits and asks again.
 *
 * Steps that are not CRM writes of the session (the pushed screen pop, the e-mail itself, the
 * metadata file and stored copies) do not decide the outcome: a pop receiver or a storage server
 * that is down does not make the contact itself fail.
 */
import type { SessionState } from './engine';

/** Step operations that are side channels, not the session's CRM writes. */
export const SIDE_CHANNEL_STEPS: ReadonlySet<string> = new Set(['record_pop', 'outcome_email', 'metadata_file', 'store_file']);

export interface StepStatus {
  name: string;
  /** The delivery's operation (undefined: the delivery is gone). */
  operation?: string;
  status: string;
}

export type SessionOutcome =
  | { verdict: 'succeeded' }
  /** Final: no e-mail for this session. */
  | { verdict: 'not_ended' | 'abandoned' | 'failed'; reason: string }
  /** Not yet known: some writes are still on their way. */
  | { verdict: 'in_progress'; reason: string };

const FAILED = new Set(['dead', 'cancelled']);
const UNDECIDED = new Set(['pending', 'running', 'unknown_outcome']);

export function sessionSucceeded(state: Pick<SessionState, 'ended' | 'agentAssigned' | 'abandoned'>, steps: readonly StepStatus[]): SessionOutcome {
  if (!state.ended) return { verdict: 'not_ended', reason: 'the session has not ended (no End_Call, End_Chat or Dismissed_Chat)' };
  if (state.abandoned) return { verdict: 'abandoned', reason: 'the session was abandoned (the platform said so)' };
  if (!state.agentAssigned) return { verdict: 'abandoned', reason: 'the session was abandoned (no agent was assigned)' };
  const writes = steps.filter((s) => !SIDE_CHANNEL_STEPS.has(s.operation ?? '') && !SIDE_CHANNEL_STEPS.has(s.name));
  const failed = writes.filter((s) => FAILED.has(s.status));
  if (failed.length) return { verdict: 'failed', reason: `the session failed: ${failed.map((s) => `${s.name} is ${s.status}`).join(', ')}` };
  const open = writes.filter((s) => UNDECIDED.has(s.status));
  if (open.length) return { verdict: 'in_progress', reason: `waiting for the session's CRM writes: ${open.map((s) => `${s.name} is ${s.status}`).join(', ')}` };
  return { verdict: 'succeeded' };
}
