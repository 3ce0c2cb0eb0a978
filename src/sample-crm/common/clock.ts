import { createHash, randomBytes } from 'node:crypto';

/** Milliseconds since the epoch. Injected so tests can move time (token expiry, timestamps). */
export type Clock = () => number;

/** Zendesk renders timestamps without milliseconds, e.g. "2024-05-01T10:00:00Z". */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Integer id sequences, one per record kind. Kinds start at different bases so that a
 * client mixing up e.g. a user id and a ticket id gets a 404 instead of a silent hit.
 */
export class IdSequences<K extends string> {
  private next: Record<K, number>;

  constructor(private readonly bases: Record<K, number>) {
    this.next = { ...bases };
  }

  take(kind: K): number {
    const id = this.next[kind];
    this.next[kind] = id + 1;
    return id;
  }

  reset(): void {
    this.next = { ...this.bases };
  }
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('hex');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
