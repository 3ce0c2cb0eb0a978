/**
 * Who gets a session's outcome e-mail (pure). The global switch and address, and per queue a
 * switch and address, inherit like this:
 *   global off, queue off (or not listed) → no e-mail;
 *   global off, queue on                  → the queue's address;
 *   global on,  queue off (or not listed) → the queue inherits the global switch and address;
 *   global on,  queue on                  → the queue's address.
 * An empty resulting address means no e-mail. A queue is matched by its path (QUEUE_NAME,
 * without regard to case or surrounding spaces) or its id (QUEUE_ID).
 */
import type { OutcomeEmail, OutcomeEmailQueue } from '../config/outcome-email-types';

export interface SessionQueue {
  name?: unknown;
  id?: unknown;
}

export type Recipient = { to: string; because: string } | { to: undefined; because: string };

const norm = (v: unknown) => (v === undefined || v === null ? '' : String(v).trim().toLowerCase());

export function matchQueue(queues: readonly OutcomeEmailQueue[], q: SessionQueue): OutcomeEmailQueue | undefined {
  const name = norm(q.name);
  const id = norm(q.id);
  return queues.find(
    (e) => (e.queue !== undefined && name !== '' && norm(e.queue) === name) || (e.queueId !== undefined && id !== '' && norm(e.queueId) === id),
  );
}

export function outcomeRecipient(s: Pick<OutcomeEmail, 'enabled' | 'address' | 'queues'>, q: SessionQueue): Recipient {
  const queue = matchQueue(s.queues, q);
  const label = queue ? `queue ${queue.queue ?? queue.queueId}` : 'the queue';
  let address: string;
  let because: string;
  if (queue?.enabled) {
    address = queue.address;
    because = `${label} is on: its address`;
  } else if (s.enabled) {
    address = s.address;
    because = `${queue ? `${label} is off` : 'the queue is not listed'}: it inherits the global setting (on) and address`;
  } else return { to: undefined, because: `off globally and ${queue ? `${label} is off` : 'the queue is not listed'}` };
  address = address.trim();
  return address ? { to: address, because } : { to: undefined, because: `${because}, which is empty` };
}
