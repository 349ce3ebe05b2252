import type { MaintenanceStore } from '../db/stores/maintenance-store';
import { PeriodicService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';

const BATCH_SIZE = 1000;

/**
 * Keeps claims blind to jobs waiting behind a busy serial queue: marks them blocked, so however many queues are
 * busy, a claim reads only the jobs it could start. Releasing a queue unblocks its head in the same statement;
 * this service also repairs the rare free queue whose head stayed blocked.
 */
export class SerialQueueKeeper extends PeriodicService {
  constructor(
    private readonly store: MaintenanceStore,
    intervalMs: number,
    private readonly onUnblocked: () => void,
    failures: FailureLog,
  ) {
    super('Maintaining serial queues', intervalMs, failures, false);
  }

  protected async runOnce(): Promise<void> {
    while ((await this.store.blockJobsBehindHolders(BATCH_SIZE)) === BATCH_SIZE);
    let unblocked;
    do {
      unblocked = await this.store.unblockStalledQueues(BATCH_SIZE);
      if (unblocked > 0) this.onUnblocked();
    } while (unblocked === BATCH_SIZE);
  }
}
