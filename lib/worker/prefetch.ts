/** With `prefetch: 'auto'`, each type prefetches about this much of its own work, measured by how fast it starts jobs. */
const AUTO_PREFETCH_MS = 10;
/** The most jobs `prefetch: 'auto'` prefetches, across types. */
const AUTO_PREFETCH_MAX = 1000;
/** How fast the measured start rate follows a change: about two thirds of the way within this time. */
const RATE_SMOOTHING_MS = 100;

interface StartRate {
  /** Jobs started since `at`. */
  started: number;
  at: number;
  /** Smoothed jobs per millisecond. */
  perMs: number;
}

/**
 * The `worker.prefetch` option at work: how many jobs to claim beyond the free slots. A fixed number, or (`'auto'`)
 * for each type the jobs it starts in AUTO_PREFETCH_MS at its recent pace: none while it starts fewer than one per
 * AUTO_PREFETCH_MS, so a prefetched job waits in memory for its slot about that long, never seconds.
 */
export class Prefetch {
  private readonly rates = new Map<string, StartRate>();

  constructor(private readonly setting: number | 'auto') {}

  /** Counts a job of `type` starting. */
  started(type: string): void {
    if (this.setting !== 'auto') return;
    const rate = this.rates.get(type);
    if (rate) rate.started++;
    else this.rates.set(type, { started: 1, at: performance.now(), perMs: 0 });
  }

  /** Folds the starts counted since the last call into each type's rate; call once before sizing a claim. */
  measure(): void {
    const now = performance.now();
    for (const rate of this.rates.values()) {
      const elapsed = now - rate.at;
      if (elapsed <= 0) continue;
      const weight = 1 - Math.exp(-elapsed / RATE_SMOOTHING_MS);
      rate.perMs += weight * (rate.started / elapsed - rate.perMs);
      rate.started = 0;
      rate.at = now;
    }
  }

  /** Jobs of `type` to claim beyond its free slots. */
  forType(type: string): number {
    if (this.setting !== 'auto') return this.setting;
    return Math.min(AUTO_PREFETCH_MAX, Math.floor((this.rates.get(type)?.perMs ?? 0) * AUTO_PREFETCH_MS));
  }

  /** Jobs to claim beyond the free slots, across `types`. */
  total(types: readonly string[]): number {
    if (this.setting !== 'auto') return this.setting;
    let sum = 0;
    for (const type of types) sum += this.forType(type);
    return Math.min(AUTO_PREFETCH_MAX, sum);
  }
}
