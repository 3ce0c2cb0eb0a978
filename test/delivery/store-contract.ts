/**
 * One behavioural suite every store must pass (SQLite and PostgreSQL), on real databases.
 * "Now" is passed explicitly: lease expiry is tested by moving the clock, not by sleeping.
 */
import crypto from 'node:crypto';
import { DEFAULT_RETRY_POLICY } from '../../src/config/retry-policy';
import type { DeliveryStore } from '../../src/delivery/store';
import type { Completion, NewDelivery } from '../../src/delivery/types';
import { SELECT_COLUMNS } from '../../src/delivery/rows';
import type { EncryptionKeys } from '../../src/auth/token-cipher';
import type { StoredToken } from '../../src/auth/token-store';

export interface StoreFactory {
  /** Column names of a table, from the database's own catalogue. */
  columns(table: string): Promise<string[]>;
  /**
   * A fresh, migrated store; `shared` = another handle on the same database (another replica).
   * Tokens are sealed with `TEST_KEYS` unless `encryption` says otherwise (null: no key).
   */
  create(): Promise<DeliveryStore>;
  shared(opts?: { encryption?: EncryptionKeys | null }): Promise<DeliveryStore>;
  /** Runs SQL on the database directly (what is really stored, old-version rows). */
  sql(statement: string): Promise<Array<Record<string, unknown>>>;
  destroy(): Promise<void>;
}

/** The key the factories seal with by default. */
export const TEST_KEYS: EncryptionKeys = { current: crypto.randomBytes(32), previous: [] };
const DAY = 86_400_000;

const T0 = Date.parse('2026-11-25T10:00:00Z');
const LEASE = 30_000;

function newDelivery(over: Partial<NewDelivery> = {}): NewDelivery {
  return { id: crypto.randomUUID(), connectorId: 'zendesk', operation: 'create_account', variables: { NAME: 'Kim' }, policy: DEFAULT_RETRY_POLICY, ...over };
}

const delivered = (ids: Record<string, string | number> = {}): Completion => ({
  status: 'delivered',
  backoffAttempts: 1,
  ambiguous: false,
  result: { ids, outcome: 'ok' },
  attempts: [{ n: 1, at: T0, status: 201, classification: 'ok', reason: 'HTTP 201', durationMs: 12.5, request: 'POST https://crm/users' }],
});
const dead: Completion = {
  status: 'dead',
  backoffAttempts: 1,
  ambiguous: false,
  error: { code: 'crm_request_failed', message: 'HTTP 422' },
  attempts: [{ n: 1, at: T0, status: 422, classification: 'fail', reason: 'HTTP 422 is final', durationMs: 3 }],
};

export function storeContract(name: string, factory: () => StoreFactory | Promise<StoreFactory | undefined>): void {
  describe(`${name} store contract`, () => {
    let f: StoreFactory | undefined;
    let s: DeliveryStore;
    beforeEach(async () => {
      f = await factory();
      if (f) s = await f.create();
    });
    afterEach(async () => {
      if (f) await f.destroy();
    });
    const it = (title: string, fn: () => Promise<void>) =>
      test(title, async () => {
        if (f) await fn();
      });

    it('enqueue commits a pending delivery; get returns it; the file bytes round-trip', async () => {
      const file = crypto.randomBytes(2048);
      const d = newDelivery({ variables: { NAME: 'Kim', RATING: 5 }, file: { data: file, name: 'a.wav', type: 'audio/wav', kind: 'call_recording' } });
      const { delivery, created } = await s.enqueue(d, T0);
      expect(created).toBe(true);
      expect(delivery).toMatchObject({
        id: d.id,
        status: 'pending',
        variables: { NAME: 'Kim', RATING: 5 },
        attempts: 0,
        nextAttemptAt: T0,
        fileMeta: { name: 'a.wav', type: 'audio/wav', kind: 'call_recording' },
      });
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
      const retryLater: Completion = {
        status: 'pending',
        nextAttemptAt: T0 + 30_000,
        backoffAttempts: 1,
        ambiguous: false,
        error: { code: 'crm_retry_later', message: 'HTTP 400', crm_status: 400 },
        attempts: [{ n: 1, at: T0, status: 400, classification: 'retry', reason: 'HTTP 400 is retryable', durationMs: 4 }],
      };
      expect(await s.complete(delivery.id, c.leaseToken!, retryLater, T0 + 5)).toBe(true);
      expect(await s.get(delivery.id)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 30_000, firstAttemptAt: T0, lastError: { crm_status: 400 } });
      expect(await s.claim(1, T0 + 29_999, LEASE)).toEqual([]);
      const [again] = await s.claim(1, T0 + 30_000, LEASE);
      await s.complete(delivery.id, again.leaseToken!, delivered(), T0 + 30_010);
      expect((await s.attempts(delivery.id)).map((a) => [a.n, a.status, a.classification])).toEqual([
        [1, 400, 'retry'],
        [2, 201, 'ok'],
      ]);
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
      // The console's filters: accepted since/until (ms), and a given set of ids (a session's steps).
      const late = await s.enqueue(newDelivery({ connectorId: 'hubspot' }), T0 + 60_000);
      expect((await s.list({ createdSince: T0 + 1 })).map((d) => d.id)).toEqual([late.delivery.id]);
      expect((await s.list({ createdUntil: T0 + 60_000, connectorId: 'hubspot' })).map((d) => d.id)).toEqual([b.delivery.id]);
      expect((await s.list({ ids: [a.delivery.id, late.delivery.id] })).map((d) => d.id)).toEqual([late.delivery.id, a.delivery.id]);
      expect(await s.list({ ids: [] })).toEqual([]);
    });

    it("recent sessions: a connector's own, newest first, from the columns", async () => {
      expect(await s.saveSession('zendesk', 'older', { events: [] }, 0, {}, T0)).toBe(true);
      expect(await s.saveSession('zendesk', 'newer', { events: [] }, 0, { waiting: { for: 'customer_identity', since: T0 + 5 } }, T0 + 5)).toBe(true);
      expect(await s.saveSession('hubspot', 'elsewhere', { events: [] }, 0, { endedAt: T0 + 9 }, T0 + 9)).toBe(true);
      expect(await s.recentSessions('zendesk', 10)).toEqual([
        { sessionId: 'newer', createdAt: T0 + 5, updatedAt: T0 + 5, endedAt: undefined, waitingFor: 'customer_identity', unidentifiedAt: undefined },
        { sessionId: 'older', createdAt: T0, updatedAt: T0, endedAt: undefined, waitingFor: undefined, unidentifiedAt: undefined },
      ]);
      expect((await s.recentSessions('zendesk', 1)).map((x) => x.sessionId)).toEqual(['newer']);
      expect(await s.recentSessions('hubspot', 10)).toMatchObject([{ sessionId: 'elsewhere', endedAt: T0 + 9 }]);
    });

    it('unknown_outcome: nothing claims it, dependents wait; resolve retries as new, attaches ids, or cancels (dependents die)', async () => {
      const unknown: Completion = {
        status: 'unknown_outcome',
        backoffAttempts: 1,
        ambiguous: true,
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
      expect(await s.resolve(one.id, { action: 'attach', ids: { RECORD_ID: 42 } }, T0 + 2)).toMatchObject({
        status: 'delivered',
        result: { ids: { RECORD_ID: 42 }, outcome: 'attached', recovered_by: 'operator' },
      });
      const [depClaim] = await s.claim(10, T0 + 3, LEASE);
      expect(depClaim.id).toBe(one.dep);
      await s.complete(depClaim.id, depClaim.leaseToken!, delivered(), T0 + 4);

      const two = await settle();
      expect(await s.resolve(two.id, { action: 'retry_as_new' }, T0 + 5)).toMatchObject({
        status: 'pending',
        ambiguous: false,
        nextAttemptAt: T0 + 5,
        backoffAttempts: 0,
      });
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
      expect((await f!.columns('delivery_attempts')).sort()).toEqual([
        'at',
        'classification',
        'delivery_id',
        'duration_ms',
        'n',
        'network_error',
        'reason',
        'request',
        'status',
      ]);
      expect((await f!.columns('oauth_tokens')).sort()).toEqual(['connector_id', 'token', 'updated_at']);
      expect((await f!.columns('oauth_sealed_tokens')).sort()).toEqual(['connector_id', 'key_id', 'sealed', 'updated_at']);
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

    describe('OAuth tokens at rest', () => {
      const token: StoredToken = {
        access_token: 'AT-7f3e9c1d2b4a',
        refresh_token: 'RT-5a6b7c8d9e0f',
        token_type: 'Bearer',
        expires_at: T0 + 3_600_000,
        obtained_at: T0,
      };

      it('the database holds only ciphertext: no token, in any encoding', async () => {
        await s.tokens.set('zd', token);
        const rows = await f!.sql('SELECT connector_id, sealed, key_id FROM oauth_sealed_tokens');
        expect(rows).toHaveLength(1);
        const stored = JSON.stringify(rows);
        for (const secret of [token.access_token, token.refresh_token!]) {
          for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), Buffer.from(secret).toString('hex')])
            expect(stored).not.toContain(form);
        }
        expect(String(rows[0].sealed)).toMatch(/^v1\./);
        expect(await f!.sql('SELECT * FROM oauth_tokens')).toEqual([]);
        expect(await s.tokens.get('zd')).toEqual(token);
      });

      it('a wrong key, or none, is a clear error, never garbage', async () => {
        await s.tokens.set('zd', token);
        const wrong = await f!.shared({ encryption: { current: crypto.randomBytes(32), previous: [] } });
        const none = await f!.shared({ encryption: null });
        try {
          await expect(wrong.tokens.get('zd')).rejects.toThrow(
            /connector zd was encrypted with a key that is neither GATEWAY_ENCRYPTION_KEY nor in GATEWAY_ENCRYPTION_KEY_PREVIOUS/,
          );
          await expect(none.tokens.get('zd')).rejects.toThrow(/GATEWAY_ENCRYPTION_KEY is not set/);
          await expect(none.tokens.set('zd', token)).rejects.toThrow(/GATEWAY_ENCRYPTION_KEY is not set/);
          // A value moved onto another connector's row does not open (the connector id is authenticated).
          const [row] = await f!.sql("SELECT sealed FROM oauth_sealed_tokens WHERE connector_id = 'zd'");
          await f!.sql(
            `INSERT INTO oauth_sealed_tokens (connector_id, sealed, key_id, updated_at) SELECT 'other', sealed, key_id, updated_at FROM oauth_sealed_tokens WHERE connector_id = 'zd'`,
          );
          expect(row).toBeDefined();
          await expect(s.tokens.get('other')).rejects.toThrow(/connector other failed authentication/);
        } finally {
          await wrong.close();
          await none.close();
        }
      });

      it('key rotation: the previous key still opens, start-up re-seals with the new one, then the old key can go', async () => {
        await s.tokens.set('zd', token);
        const newKey = crypto.randomBytes(32);
        const rotating = await f!.shared({ encryption: { current: newKey, previous: [TEST_KEYS.current] } });
        const onlyNew = await f!.shared({ encryption: { current: newKey, previous: [] } });
        try {
          expect(await rotating.tokens.get('zd')).toEqual(token);
          await expect(onlyNew.tokens.get('zd')).rejects.toThrow(/neither GATEWAY_ENCRYPTION_KEY/);
          expect(await rotating.tokens.upgrade()).toEqual({ sealed: 0, resealed: 1, legacyFileRemoved: false, unreadable: [], plaintextLeft: 0 });
          expect(await rotating.tokens.upgrade()).toEqual({ sealed: 0, resealed: 0, legacyFileRemoved: false, unreadable: [], plaintextLeft: 0 });
          expect(await onlyNew.tokens.get('zd')).toEqual(token);
          await expect(s.tokens.get('zd')).rejects.toThrow(/neither GATEWAY_ENCRYPTION_KEY/);
          // Started with only the old key: it starts, and names the connector it cannot read.
          expect(await s.tokens.upgrade()).toEqual({ sealed: 0, resealed: 0, legacyFileRemoved: false, unreadable: ['zd'], plaintextLeft: 0 });
        } finally {
          await rotating.close();
          await onlyNew.close();
        }
      });

      it('plaintext tokens of an earlier version (old table, old JSON file) are sealed at start-up and removed', async () => {
        await f!.sql(`INSERT INTO oauth_tokens (connector_id, token, updated_at) VALUES ('old', '${JSON.stringify(token)}', 1)`);
        const fs = await import('node:fs');
        const os = await import('node:os');
        const path = await import('node:path');
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legacy-tokens-'));
        const file = path.join(dir, 'oauth-tokens.json');
        fs.writeFileSync(file, JSON.stringify({ fromfile: { ...token, access_token: 'AT-file' }, old: { ...token, access_token: 'AT-older' } }));
        try {
          const keyless = await f!.shared({ encryption: null });
          expect(await keyless.tokens.upgrade(file)).toEqual({ sealed: 0, resealed: 0, legacyFileRemoved: false, unreadable: [], plaintextLeft: 2 });
          await keyless.close();
          expect(await s.tokens.upgrade(file)).toEqual({ sealed: 2, resealed: 0, legacyFileRemoved: true, unreadable: [], plaintextLeft: 0 });
          expect(fs.existsSync(file)).toBe(false);
          expect(await f!.sql('SELECT * FROM oauth_tokens')).toEqual([]);
          expect(await s.tokens.get('old')).toEqual(token);
          expect((await s.tokens.get('fromfile'))!.access_token).toBe('AT-file');
          expect(JSON.stringify(await f!.sql('SELECT sealed FROM oauth_sealed_tokens'))).not.toContain('AT-');
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });

      it('the refresh lock is held by one replica at a time, per connector', async () => {
        const other = await f!.shared();
        try {
          const events: string[] = [];
          const hold = (store: DeliveryStore, name: string, id: string, ms: number) =>
            store.tokens.withRefreshLock(id, async () => {
              events.push(`${name} in`);
              await new Promise((r) => setTimeout(r, ms));
              events.push(`${name} out`);
            });
          const a = hold(s, 'a', 'zd', 150);
          await new Promise((r) => setTimeout(r, 20));
          const b = hold(other, 'b', 'zd', 10);
          const c = hold(other, 'c', 'another-connector', 10);
          await Promise.all([a, b, c]);
          expect(events.indexOf('b in')).toBeGreaterThan(events.indexOf('a out'));
          expect(events.indexOf('c out')).toBeLessThan(events.indexOf('a out'));
          // Released after a failure too.
          await expect(
            s.tokens.withRefreshLock('zd', async () => {
              throw new Error('boom');
            }),
          ).rejects.toThrow('boom');
          await other.tokens.withRefreshLock('zd', async () => undefined);
        } finally {
          await other.close();
        }
      });
    });

    describe('retention', () => {
      const file = { data: Buffer.from('RECORDING-BYTES'), name: 'call.wav', type: 'audio/wav', kind: 'call_recording' };
      const runAndFinish = async (c: Completion, at: number) => {
        const [d] = await s.claim(1, at, LEASE);
        expect(await s.complete(d.id, d.leaseToken!, c, at)).toBe(true);
        return d.id;
      };

      it('a delivered file is dropped at once; a dead one keeps it until retention', async () => {
        await s.enqueue(newDelivery({ file }), T0);
        const ok = await runAndFinish(delivered(), T0);
        await s.enqueue(newDelivery({ file }), T0);
        const failed = await runAndFinish(dead, T0);
        expect(await s.file(ok)).toBeUndefined();
        expect((await s.get(ok))!.fileMeta).toMatchObject({ name: 'call.wav' });
        expect((await s.file(failed))!.toString()).toBe('RECORDING-BYTES');
      });

      it('finished deliveries older than the cutoff lose variables and file; ids, status, times, results and history stay; unfinished work is untouched', async () => {
        const vars = { PHONE_NUMBER: '+15551234567', EMAIL: 'kim@example.com' };
        await s.enqueue(newDelivery({ variables: vars }), T0);
        const ok = await runAndFinish(delivered({ ACCOUNT_ID: 42 }), T0);
        await s.enqueue(newDelivery({ variables: vars, file }), T0);
        const failed = await runAndFinish(dead, T0);
        const cancelled = (await s.enqueue(newDelivery({ variables: vars }), T0 + 10_000)).delivery.id;
        await s.cancel(cancelled, T0);
        const recent = (await s.enqueue(newDelivery({ variables: vars }), T0)).delivery.id;
        const pending = (await s.enqueue(newDelivery({ variables: vars, file }), T0 + 40 * DAY)).delivery.id;
        const running = (await s.enqueue(newDelivery({ variables: vars }), T0)).delivery.id;
        const [first] = await s.claim(1, T0 + 5, LEASE);
        const [second] = await s.claim(1, T0 + 5, LEASE);
        expect([first.id, second.id]).toEqual([recent, running]);
        // `recent` finished after the cutoff.
        expect(await s.complete(recent, first.leaseToken!, delivered(), T0 + 20 * DAY)).toBe(true);
        const before = await s.get(ok);
        expect(await s.saveSession('zendesk', 'old-session', { events: [{ phone: '+15551234567' }] }, 0, {}, T0)).toBe(true);
        expect(await s.saveSession('zendesk', 'live-session', { events: [] }, 0, {}, T0 + 20 * DAY)).toBe(true);

        const now = T0 + 30 * DAY + 1;
        expect(await s.purgeFinished(now - 30 * DAY, now, 500)).toEqual({ deliveries: 3, sessions: 1 });
        for (const id of [ok, failed, cancelled]) {
          const d = (await s.get(id))!;
          expect(d.variables).toEqual({});
          expect(d.purgedAt).toBe(now);
          expect(await s.file(id)).toBeUndefined();
        }
        expect(await s.get(ok)).toEqual({ ...before, variables: {}, purgedAt: now });
        expect(await s.attempts(ok)).toHaveLength(1);
        expect((await s.get(failed))!.status).toBe('dead');
        for (const id of [recent, pending, running]) {
          expect((await s.get(id))!.variables).toEqual(vars);
          expect((await s.get(id))!.purgedAt).toBeUndefined();
        }
        expect((await s.file(pending))!.toString()).toBe('RECORDING-BYTES');
        expect(await s.loadSession('zendesk', 'old-session')).toBeUndefined();
        expect(await s.loadSession('zendesk', 'live-session')).toBeDefined();
        // Idempotent, and batched by `limit`.
        expect(await s.purgeFinished(now - 30 * DAY, now, 500)).toEqual({ deliveries: 0, sessions: 0 });
        const later = T0 + 60 * DAY;
        expect(await s.purgeFinished(later - 30 * DAY, later, 1)).toEqual({ deliveries: 1, sessions: 1 });
        expect(await s.purgeFinished(later - 30 * DAY, later, 1)).toEqual({ deliveries: 0, sessions: 0 });
      });
    });
  });
}
