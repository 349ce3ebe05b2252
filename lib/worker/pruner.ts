import type { FailureLog } from './failure-log';
import type { JobStore } from '../db/job-store';
import type { ResolvedRetention } from '../pg-queue.options';
import { PeriodicTask } from './periodic-task';

/** Small enough that one statement holds few locks and little WAL, large enough to keep up with any queue. */
export const PRUNE_BATCH_SIZE = 1000;

/**
 * Deletes finished jobs that outlived their retention, batch after batch while batches come back full. Every worker
 * process runs one; they skip each other's rows, so the shortest retention configured in any process applies.
 */
export class Pruner {
  private readonly task: PeriodicTask;
  private stopping = false;

  constructor(
    private readonly store: JobStore,
    private readonly retention: ResolvedRetention,
    private readonly failures: FailureLog,
  ) {
    this.task = new PeriodicTask(() => this.pruneAll(), retention.pruneIntervalMs);
  }

  start(): void {
    void this.task.runNow();
    this.task.start();
  }

  /** Stops after the batch under way: a long backlog does not hold up the shutdown. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.task.stop();
  }

  private async pruneAll(): Promise<void> {
    try {
      let pruned;
      do pruned = await this.store.pruneFinished(this.retention, PRUNE_BATCH_SIZE);
      while (pruned >= PRUNE_BATCH_SIZE && !this.stopping);
    } catch (error) {
      this.failures.failed('Deleting finished jobs past their retention', error);
    }
  }
}
