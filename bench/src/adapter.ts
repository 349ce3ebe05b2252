/** What every job of the benchmark carries: its index, and for the latency scenario the enqueue time. */
export interface BenchPayload {
  i: number;
  /** performance.now() just before the enqueue call (same process as the worker). */
  t?: number;
}

export type OnJob = (payload: BenchPayload) => void;

/**
 * One queue system, driven the same way for every scenario. Each adapter is configured the way its own
 * documentation recommends for speed; the notes say where that came from and end up in RESULTS.md.
 */
export interface QueueAdapter {
  /** Connects, migrates and creates what the queue needs. No worker runs yet. */
  open(): Promise<void>;
  enqueueSingle(payload: BenchPayload): Promise<void>;
  /** One call of the system's bulk API. */
  enqueueBulk(payloads: BenchPayload[]): Promise<void>;
  /** Starts processing with a no-op handler that calls onJob when it starts, at most `concurrency` jobs at once. */
  startWorker(concurrency: number, onJob: OnJob): Promise<void>;
  /** Jobs not yet durably finished (waiting, running, or completed in memory but not yet written back). */
  unfinished(): Promise<number>;
  /** Stops the worker and closes every connection. */
  stop(): Promise<void>;
}

export interface SystemDefinition {
  /** How it is configured for speed, and where its docs say so (printed in RESULTS.md). */
  config: string;
  create(databaseUrl: string): QueueAdapter;
}
