import type { MaintenanceStore } from '../db/stores/maintenance-store';
import type { ResolvedRetention } from '../pg-queue.options';
import { PeriodicService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';

/** Small enough that one statement holds few locks and little WAL, large enough to keep up with any queue. */
export const PRUNE_BATCH_SIZE = 1000;

/**
 * Deletes finished jobs that outlived their retention, batch after batch while batches come back full. Every worker
 * process runs one; they skip each other's rows, so the shortest retention configured in any process applies.
 */
export class Pruner extends PeriodicService {
  private stopping = false;

  constructor(
    private readonly store: MaintenanceStore,
    private readonly retention: ResolvedRetention,
    failures: FailureLog,
  ) {
    super('Deleting finished jobs past their retention', retention.pruneIntervalMs, failures, true);
  }

  /** Stops after the batch under way: a long backlog does not hold up the shutdown. */
  override stop(): Promise<void> {
    this.stopping = true;
    return super.stop();
  }

  protected async runOnce(): Promise<void> {
    let pruned;
    do pruned = await this.store.pruneFinished(this.retention, PRUNE_BATCH_SIZE);
    while (pruned >= PRUNE_BATCH_SIZE && !this.stopping);
  }
}
