/**
 * One holder at a time per key, within this process: callers queue in arrival order. The
 * stores put this in front of their cross-process lock, so that waiting callers of one process
 * queue here instead of each holding a database connection (or polling a lock row).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // The last one out leaves no entry behind (the map does not grow with old keys).
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
