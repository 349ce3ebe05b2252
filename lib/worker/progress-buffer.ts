import type { Logger } from '@nestjs/common';
import type { JobLease, JobStore, ProgressUpdate } from '../db/job-store';

const FLUSH_INTERVAL_MS = 200;

/**
 * Coalesces ctx.progress() calls: only the latest value per job is written, all jobs in one statement per
 * interval. The completion and failure writes carry the latest values too, so the last one is never lost.
 */
export class ProgressBuffer {
  private readonly latest = new Map<string, ProgressUpdate>();
  private readonly dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly store: JobStore,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
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

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private flush(): Promise<void> {
    if (this.flushing || this.dirty.size === 0) return this.flushing ?? Promise.resolve();
    const updates = [...this.dirty].map((id) => this.latest.get(id)).filter((u): u is ProgressUpdate => u !== undefined);
    this.dirty.clear();
    this.flushing = this.store
      .saveProgress(updates)
      .catch((error: Error) => {
        this.logger.warn(`Saving progress failed, will retry: ${error.message}`);
        updates.forEach((u) => this.latest.has(u.id) && this.dirty.add(u.id));
      })
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }
}
