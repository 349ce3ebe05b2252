import type { OutcomeStore } from '../db/stores/outcome-store';
import type { JobLease, ProgressUpdate } from '../db/job-writes';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { PeriodicTask } from '../services/periodic-task';

const FLUSH_INTERVAL_MS = 200;

/**
 * Coalesces ctx.progress() calls: only the latest value per job is written, all jobs in one statement per
 * interval. The completion and failure writes carry the latest values too, so the last one is never lost.
 */
export class ProgressBuffer implements BackgroundService {
  readonly name = 'Saving progress';
  private readonly latest = new Map<string, ProgressUpdate>();
  private readonly dirty = new Set<string>();
  private readonly flusher = new PeriodicTask(() => this.flush(), FLUSH_INTERVAL_MS);

  constructor(
    private readonly store: OutcomeStore,
    private readonly failures: FailureLog,
  ) {}

  start(): void {
    this.flusher.start();
  }

  record(lease: JobLease, percent: number, stage: string | undefined): void {
    const previous = this.latest.get(lease.id);
    this.latest.set(lease.id, { ...lease, percent, stage: stage ?? previous?.stage ?? null });
    this.dirty.add(lease.id);
  }

  latestFor(id: string): ProgressUpdate | undefined {
    return this.latest.get(id);
  }

  forget(id: string): void {
    this.latest.delete(id);
    this.dirty.delete(id);
  }

  /** Stops the timer and writes what is still buffered. */
  async stop(): Promise<void> {
    await this.flusher.stop();
    await this.flusher.runNow();
  }

  private async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const updates = [...this.dirty].map((id) => this.latest.get(id)).filter((u): u is ProgressUpdate => u !== undefined);
    this.dirty.clear();
    try {
      await this.store.saveProgress(updates);
    } catch (error) {
      this.failures.failed(this.name, error);
      updates.forEach((u) => this.latest.has(u.id) && this.dirty.add(u.id));
    }
  }
}
