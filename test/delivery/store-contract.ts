/**
 * One behavioural suite every store must pass (SQLite and PostgreSQL), on real databases.
 * "Now" is passed explicitly: lease expiry is tested by moving the clock, not by sleeping.
 */
import crypto from 'node:crypto';
import { DEFAULT_RETRY_POLICY } from '../../src/config/retry-policy';
import type { DeliveryStore } from '../../src/delivery/store';
import type { Completion, NewDelivery } from '../../src/delivery/types';
import { SELECT_COLUMNS } from '../../src/delivery/rows';

export interface StoreFactory {
  /** Column names of a table, from the database's own catalogue. */
  columns(table: string): Promise<string[]>;
  /** A fresh, migrated store; `shared` = another handle on the same database (another replica). */
  create(): Promise<DeliveryStore>;
  shared(): Promise<DeliveryStore>;
  destroy(): Promise<void>;
}

const T0 = Date.parse('2026-11-25T10:00:00Z');
const LEASE = 30_000;

function newDelivery(over: Partial<NewDelivery> = {}): NewDelivery {
  return { id: crypto.randomUUID(), connectorId: 'zendesk', operation: 'create_account', variables: { NAME: 'Kim' }, policy: DEFAULT_RETRY_POLICY, ...over };
}

const delivered = (ids: Record<string, string | number> = {}): Completion => ({
  status: 'delivered', backoffAttempts: 1, ambiguous: false, result: { ids, outcome: 'ok' },
  attempts: [{ n: 1, at: T0, status: 201, classification: 'ok', reason: 'HTTP 201', durationMs: 12.5, request: 'POST https://crm/users' }],
});
const dead: Completion = { status: 'dead', backoffAttempts: 1, ambiguous: false, error: { code: 'crm_request_failed', message: 'HTTP 422' }, attempts: [{ n: 1, at: T0, status: 422, classification: 'fail', reason: 'HTTP 422 is final', durationMs: 3 }] };

export function storeContract(name: string, factory: () => StoreFactory | Promise<StoreFactory | undefined>): void {
  describe(`${name} store contract`, () => {
    let f: StoreFactory | undefined;
    let s: DeliveryStore;
    beforeEach(async () => {
      f = await factory();
      if (f) s = await f.create();
    });
    afterEach(async () => { if (f) await f.destroy(); });
    const it = (title: string, fn: () => Promise<void>) => test(title, async () => { if (f) await fn(); });

    it('enqueue commits a pending delivery; get returns it; the file bytes round-trip', async () => {
      const file = crypto.randomBytes(2048);
      const d = newDelivery({ variables: { NAME: 'Kim', RATING: 5 }, file: { data: file, name: 'a.wav', type: 'audio/wav', kind: 'call_recording' } });
      const { delivery, created } = await s.enqueue(d, T0);
      expect(created).toBe(true);
      expect(delivery).toMatchObject({ id: d.id, status: 'pending', variables: { NAME: 'Kim', RATING: 5 }, attempts: 0, nextAttemptAt: T0, fileMeta: { name: 'a.wav', type: 'audio/wav', kind: 'call_recording' } });
      expect(delivery.policy).toEqual(DEFAULT_RETRY_POLICY);
      expect(await s.get(d.id)).toEqual(delivery);
      expect((await s.file(d.id))!.equals(file)).toBe(true);
    });

    it('a condition and step facts are kept beside the variables', async () => {
      const a = await s.enqueue(newDelivery({ operation: 'add_comment', variables: { COMMENT_BODY: 'x' }, condition: { onlyIfDependencyCreated: true } }), T0);
      const b = await s.enqueue(newDelivery({ operation: 'resolve_record', variables: { NAME: 'Kim' }, step: { sessionId: 's-9', outbound: true } }), T0);
      expect(await s.get(a.delivery.id)).toMatchObject({ variables: { COMMENT_BODY: 'x' }, condition: { onlyIfDependencyCreated: true }, step: undefined });
      expect(await s.get(b.delivery.id)).toMatchObject({ variables: { NAME: 'Kim' }, step: { sessionId: 's-9', outbound: true }, condition: undefined });
    });

    it('the same idempotency key returns the same delivery', async () => {
      const a = await s.enqueue(newDelivery({ idempotencyKey: 'k1' }), T0);
      const b = await s.enqueue(newDelivery({ idempotencyKey: 'k1' }), T0 + 1000);
      expect(b).toEqual({ delivery: a.delivery, created: false });
      const other = await s.enqueue(newDelivery({ idempotencyKey: 'k1', connectorId: 'hubspot' }), T0);
      expect(other.created).toBe(true);
    });

    it('claim takes due work once, with a lease; not-yet-due work waits', async () => {
      const a = await s.enqueue(newDelivery(), T0);
      await s.enqueue(newDelivery(), T0 + 10_000);
      const claimed = await s.claim(10, T0, LEASE);
      expect(claimed.map((d) => d.id)).toEqual([a.delivery.id]);
      expect(claimed[0]).toMatchObject({ status: 'running', attempts: 1, ambiguous: false, leaseExpiresAt: T0 + LEASE });
      expect(await s.claim(10, T0 + 1, LEASE)).toEqual([]);
      expect(await s.claim(10, T0 + 10_000, LEASE)).toHaveLength(1);
    });

    it('an expired lease is reclaimed as ambiguous, and the stale worker is fenced out', async () => {
      const { delivery } = await s.enqueue(newDelivery(), T0);
      const [first] = await s.claim(1, T0, LEASE);
      const [second] = await s.claim(1, T0 + LEASE, LEASE);
      // The crashed try started no later than its claim: recovery looks for what it made since then.
      expect(second).toMatchObject({ id: delivery.id, attempts: 2, ambiguous: true, firstAttemptAt: T0 });
      expect(second.leaseToken).not.toBe(first.leaseToken);
      expect(await s.complete(delivery.id, first.leaseToken!, delivered(), T0 + LEASE + 1)).toBe(false);
      expect(await s.extendLease(delivery.id, first.leaseToken!, T0 + 10 * LEASE)).toBe(false);
      expect(await s.complete(delivery.id, second.leaseToken!, delivered({ ACCOUNT_ID: 7 }), T0 + LEASE + 2)).toBe(true);
      expect(await s.get(delivery.id)).toMatchObject({ status: 'delivered', result: { ids: { ACCOUNT_ID: 7 } }, leaseToken: undefined });
    });

    it('complete records attempts; retry later keeps it pending until due', async () => {
      const { delivery } = await s.enqueue(newDelivery(), T0);
      const [c] = await s.claim(1, T0, LEASE);
      const retryLater: Completion = { status: 'pending', nextAttemptAt: T0 + 30_000, backoffAttempts: 1, ambiguous: false, error: { code: 'crm_retry_later', message: 'HTTP 400', crm_status: 400 },
        attempts: [{ n: 1, at: T0, status: 400, classification: 'retry', reason: 'HTTP 400 is retryable', durationMs: 4 }] };
      expect(await s.complete(delivery.id, c.leaseToken!, retryLater, T0 + 5)).toBe(true);
      expect(await s.get(delivery.id)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 30_000, firstAttemptAt: T0, lastError: { crm_status: 400 } });
      expect(await s.claim(1, T0 + 29_999, LEASE)).toEqual([]);
      const [again] = await s.claim(1, T0 + 30_000, LEASE);
      await s.complete(delivery.id, again.leaseToken!, delivered(), T0 + 30_010);
      expect((await s.attempts(delivery.id)).map((a) => [a.n, a.status, a.classification])).toEqual([[1, 400, 'retry'], [2, 201, 'ok']]);
    });

    it('release gives work back without counting an attempt', async () => {
      const { delivery } = await s.enqueue(newDelivery(), T0);
      const [c] = await s.claim(1, T0, LEASE);
      await s.release(delivery.id, c.leaseToken!, T0 + 1);
      expect(await s.get(delivery.id)).toMatchObject({ status: 'pending', attempts: 0 });
    });

    it('writes with the same ordering key go one at a time, in order', async () => {
      const a = await s.enqueue(newDelivery({ orderingKey: 'record:1' }), T0);
      const b = await s.enqueue(newDelivery({ orderingKey: 'record:1' }), T0);
      const other = await s.enqueue(newDelivery({ orderingKey: 'record:2' }), T0);
      const first = await s.claim(10, T0, LEASE);
      expect(first.map((d) => d.id).sort()).toEqual([a.delivery.id, other.delivery.id].sort());
      expect(await s.claim(10, T0, LEASE)).toEqual([]);
      await s.complete(a.delivery.id, first.find((d) => d.id === a.delivery.id)!.leaseToken!, dead, T0 + 1);
      expect((await s.claim(10, T0 + 2, LEASE)).map((d) => d.id)).toEqual([b.delivery.id]);
    });

    it('a dependent waits for its dependency, dies with it, and comes back with it', async () => {
      const rec = await s.enqueue(newDelivery({ operation: 'create_record' }), T0);
      const comment = await s.enqueue(newDelivery({ operation: 'add_comment', dependsOn: rec.delivery.id }), T0);
      const upload = await s.enqueue(newDelivery({ operation: 'upload_file', dependsOn: comment.delivery.id }), T0);
      const [c] = await s.claim(10, T0, LEASE);
      expect(c.id).toBe(rec.delivery.id);
      expect(await s.claim(10, T0, LEASE)).toEqual([]);
      await s.complete(rec.delivery.id, c.leaseToken!, dead, T0 + 1);
      expect((await s.get(comment.delivery.id))!.status).toBe('dead');
      expect((await s.get(upload.delivery.id))!.lastError).toMatchObject({ code: 'dependency_dead' });

      expect(await s.retry(rec.delivery.id, T0 + 10)).toMatchObject({ status: 'pending', firstAttemptAt: undefined });
      expect((await s.get(upload.delivery.id))!.status).toBe('pending');
      const [again] = await s.claim(10, T0 + 10, LEASE);
      await s.complete(rec.delivery.id, again.leaseToken!, delivered({ RECORD_ID: 99 }), T0 + 11);
      expect((await s.claim(10, T0 + 12, LEASE)).map((d) => d.id)).toEqual([comment.delivery.id]);
    });

    it('cancel: pending only; dependents die; list filters by status and connector', async () => {
      const a = await s.enqueue(newDelivery(), T0);
      const dep = await s.enqueue(newDelivery({ dependsOn: a.delivery.id }), T0);
      const b = await s.enqueue(newDelivery({ connectorId: 'hubspot' }), T0);
      expect((await s.cancel(a.delivery.id, T0 + 1))!.status).toBe('cancelled');
      expect((await s.get(dep.delivery.id))!.status).toBe('dead');
      expect((await s.list({ status: 'pending' })).map((d) => d.id)).toEqual([b.delivery.id]);
      expect((await s.list({ connectorId: 'zendesk' })).map((d) => d.id)).toEqual([dep.delivery.id, a.delivery.id]);
      expect((await s.list({ limit: 1 })).map((d) => d.id)).toEqual([b.delivery.id]);
      expect(await s.counts()).toEqual({ pending: 1, running: 0, delivered: 0, dead: 1, cancelled: 1, unknown_outcome: 0 });
      const [c] = await s.claim(1, T0, LEASE);
      expect((await s.cancel(c.id, T0 + 2))!.status).toBe('running');
    });

    it('unknown_outcome: nothing claims it, dependents wait; resolve retries as new, attaches ids, or cancels (dependents die)', async () => {
      const unknown: Completion = {
        status: 'unknown_outcome', backoffAttempts: 1, ambiguous: true,
        error: { code: 'unknown_outcome', message: 'may have been created', evidence: { rule: 'no marker', found: [{ id: 7, fields_match: false }] } },
        attempts: [{ n: 1, at: T0, networkError: 'ECONNABORTED', classification: 'retry', reason: 'timeout', durationMs: 1000 }],
      };
      const settle = async () => {
        const a = await s.enqueue(newDelivery({ operation: 'create_record' }), T0);
        const dep = await s.enqueue(newDelivery({ operation: 'add_comment', dependsOn: a.delivery.id }), T0);
        const [c] = await s.claim(1, T0, LEASE);
        expect(await s.complete(c.id, c.leaseToken!, unknown, T0 + 1)).toBe(true);
        expect(await s.claim(10, T0 + 10 * LEASE, LEASE)).toEqual([]);
        return { id: a.delivery.id, dep: dep.delivery.id };
      };
      const one = await settle();
      expect(await s.get(one.id)).toMatchObject({ status: 'unknown_outcome', ambiguous: true, lastError: unknown.error });
      expect((await s.counts()).unknown_outcome).toBe(1);
      expect((await s.list({ status: 'unknown_outcome' })).map((d) => d.id)).toEqual([one.id]);
      expect(await s.resolve(one.id, { action: 'attach', ids: { RECORD_ID: 42 } }, T0 + 2)).toMatchObject({ status: 'delivered', result: { ids: { RECORD_ID: 42 }, outcome: 'attached', recovered_by: 'operator' } });
      const [depClaim] = await s.claim(10, T0 + 3, LEASE);
      expect(depClaim.id).toBe(one.dep);
      await s.complete(depClaim.id, depClaim.leaseToken!, delivered(), T0 + 4);

      const two = await settle();
      expect(await s.resolve(two.id, { action: 'retry_as_new' }, T0 + 5)).toMatchObject({ status: 'pending', ambiguous: false, nextAttemptAt: T0 + 5, backoffAttempts: 0 });
      const [again] = await s.claim(10, T0 + 5, LEASE);
      expect(again).toMatchObject({ id: two.id, ambiguous: false });
      await s.complete(again.id, again.leaseToken!, delivered({ RECORD_ID: 43 }), T0 + 6);
      const [twoDep] = await s.claim(10, T0 + 6, LEASE);
      await s.complete(twoDep.id, twoDep.leaseToken!, delivered(), T0 + 6);

      const three = await settle();
      expect(await s.resolve(three.id, { action: 'cancel' }, T0 + 6)).toMatchObject({ status: 'cancelled' });
      expect(await s.get(three.dep)).toMatchObject({ status: 'dead', lastError: { code: 'dependency_dead' } });
      // Only an unknown_outcome delivery is resolved; anything else comes back unchanged.
      expect(await s.resolve(three.id, { action: 'retry_as_new' }, T0 + 7)).toMatchObject({ status: 'cancelled' });
    });

    it('the migrated schema has exactly the columns the code reads and writes', async () => {
      const expected = [...SELECT_COLUMNS.split(', '), 'file'].sort();
      expect((await f!.columns('deliveries')).sort()).toEqual(expected);
      expect((await f!.columns('delivery_attempts')).sort()).toEqual(['at', 'classification', 'delivery_id', 'duration_ms', 'n', 'network_error', 'reason', 'request', 'status']);
      expect((await f!.columns('oauth_tokens')).sort()).toEqual(['connector_id', 'token', 'updated_at']);
    });

    it('tokens persist per connector', async () => {
      expect(await s.tokens.get('z')).toBeUndefined();
      await s.tokens.set('z', { access_token: 'a', obtained_at: 1 });
      await s.tokens.set('z', { access_token: 'b', refresh_token: 'r', obtained_at: 2 });
      expect(await s.tokens.get('z')).toEqual({ access_token: 'b', refresh_token: 'r', obtained_at: 2 });
      await s.tokens.delete('z');
      expect(await s.tokens.get('z')).toBeUndefined();
    });

    it('two replicas claiming at once never get the same delivery', async () => {
      const other = await f!.shared();
      try {
        const ids = new Set<string>();
        for (let i = 0; i < 60; i++) ids.add((await s.enqueue(newDelivery(), T0)).delivery.id);
        const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : s).claim(7, T0, LEASE)));
        const claimed = batches.flat().map((d) => d.id);
        expect(new Set(claimed).size).toBe(claimed.length);
        expect(claimed.length).toBe(60);
        await other.migrate(); // migrating an up-to-date database is a no-op
      } finally {
        await other.close();
      }
    });

    it('writes accepted in the same turn (stores batch them): each its own answer, acceptance order kept, a repeated key replayed', async () => {
      const ds = Array.from({ length: 20 }, (_, i) => newDelivery({ variables: { NAME: `n${i}` }, idempotencyKey: i === 19 ? 'k-5' : `k-${i}` }));
      const answers = await Promise.all(ds.map((d) => s.enqueue(d, T0)));
      expect(answers.map((a) => a.created)).toEqual([...Array(19).fill(true), false]);
      expect(answers[19].delivery.id).toBe(answers[5].delivery.id);
      const seqs = answers.slice(0, 19).map((a) => a.delivery.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(answers.slice(0, 19).map((a) => a.delivery.variables.NAME)).toEqual(ds.slice(0, 19).map((d) => d.variables.NAME));
      // …and completions of the same turn, each fenced by its own token.
      const claimed = [];
      for (let i = 0; i < 3; i++) claimed.push(...(await s.claim(1, T0, LEASE)));
      const results = await Promise.all([
        ...claimed.map((d) => s.complete(d.id, d.leaseToken!, delivered({ ACCOUNT_ID: d.variables.NAME as string }), T0 + 1)),
        s.complete(claimed[0].id, 'stale-token', delivered(), T0 + 1),
      ]);
      expect(results).toEqual([true, true, true, false]);
      for (const d of claimed) {
        expect(await s.get(d.id)).toMatchObject({ status: 'delivered', result: { ids: { ACCOUNT_ID: d.variables.NAME } } });
        expect(await s.attempts(d.id)).toHaveLength(1);
      }
    });
  });
}
