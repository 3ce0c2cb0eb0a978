/**
 * Collects the calls made during one turn of the event loop and runs them as one batch: one
 * database round trip (and one commit) for many writes instead of one each. Every caller gets
 * its own result, or the batch's error.
 */
export class TickBatcher<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];

  /**
   * @param run       the batch: one result per item, in order
   * @param fallback  when the batch fails because of its data, each item is run alone, so one bad
   *                  item (e.g. a value the database refuses) fails only its own caller, not the
   *                  others of its turn
   * @param dataError which failures are the data's (others, e.g. a lost connection, fail the whole
   *                  batch at once rather than multiply the load on a struggling database)
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly fallback?: (item: I) => Promise<O>,
    private readonly dataError: (e: unknown) => boolean = () => true,
    private readonly max = 256,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.max) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.run(batch.map((b) => b.item)).then(
      (out) => batch.forEach((b, i) => b.resolve(out[i])),
      (e: unknown) => {
        if (!this.fallback || batch.length === 1 || !this.dataError(e)) return batch.forEach((b) => b.reject(e));
        for (const b of batch) this.fallback(b.item).then(b.resolve, b.reject);
      },
    );
  }
}
