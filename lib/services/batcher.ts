interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit: items added while a flush is under way go together in the next one, so under load many
 * writes share one statement and one commit, and when idle an item waits no longer than the next tick.
 */
export class Batcher<T, R> {
  private queue: Array<Pending<T, R>> = [];
  private flushing?: Promise<void>;

  constructor(
    /** Must return one result per item, in order. */
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 1000,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flushing ??= new Promise<void>((tick) => setImmediate(tick)).then(() => this.drain());
    });
  }

  /** Resolves when everything added so far has been written (or has failed). */
  idle(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.write(batch.map((p) => p.item));
        batch.forEach((p, i) => p.resolve(results[i]));
      } catch (error) {
        batch.forEach((p) => p.reject(error));
      }
    }
    this.flushing = undefined;
  }
}
