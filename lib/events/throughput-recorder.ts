import type { EventStore } from '../db/stores/event-store';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { PeriodicTask } from '../services/periodic-task';

const FLUSH_INTERVAL_MS = 10_000;
const MINUTE_MS = 60_000;

/**
 * Counts the jobs this worker completes and fails, per type and minute, and writes its counts every ten seconds: one
 * statement, never one per job, and rows no other worker writes. What the dashboard's throughput chart reads.
 */
export class ThroughputRecorder implements BackgroundService {
  readonly name = 'Recording throughput';
  /** `${minute} ${type}` -> counts of that minute. */
  private readonly counts = new Map<string, { type: string; minute: number; completed: number; failed: number }>();
  private readonly dirty = new Set<string>();
  private readonly flusher = new PeriodicTask(() => this.flush(), FLUSH_INTERVAL_MS);

  constructor(
    private readonly store: EventStore,
    private readonly workerId: string,
    private readonly failures: FailureLog,
  ) {}

  start(): void {
    this.flusher.start();
  }

  record(type: string, outcome: 'completed' | 'failed'): void {
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const key = `${minute} ${type}`;
    let count = this.counts.get(key);
    if (!count) this.counts.set(key, (count = { type, minute, completed: 0, failed: 0 }));
    count[outcome]++;
    this.dirty.add(key);
  }

  async stop(): Promise<void> {
    await this.flusher.stop();
    await this.flusher.runNow();
  }

  private async flush(): Promise<void> {
    if (this.dirty.size === 0) return this.forgetOld();
    const keys = [...this.dirty];
    this.dirty.clear();
    try {
      await this.store.saveThroughput(
        this.workerId,
        keys.map((key) => this.counts.get(key)!),
      );
    } catch (error) {
      keys.forEach((key) => this.dirty.add(key));
      this.failures.failed(this.name, error);
    }
    this.forgetOld();
  }

  /** Minutes that ended more than two minutes ago are written for good. */
  private forgetOld(): void {
    const before = Date.now() - 2 * MINUTE_MS;
    for (const [key, count] of this.counts) if (count.minute + MINUTE_MS < before && !this.dirty.has(key)) this.counts.delete(key);
  }
}
