/** A delivery as the worker holds it while trying it (first try at `now`), for the pure decision tests. */
import { DEFAULT_RETRY_POLICY } from '../../src/config/retry-policy';
import type { Delivery } from '../../src/delivery/types';

export function runningDelivery(now: number, over: Partial<Delivery> = {}): Delivery {
  return {
    seq: 1,
    id: 'd1',
    connectorId: 'zendesk',
    operation: 'create_record',
    status: 'running',
    variables: {},
    policy: DEFAULT_RETRY_POLICY,
    attempts: 1,
    backoffAttempts: 0,
    ambiguous: false,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    firstAttemptAt: now,
    ...over,
  };
}
