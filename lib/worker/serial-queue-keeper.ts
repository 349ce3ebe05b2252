import type { FailureLog } from './failure-log';
import type { JobStore } from '../db/job-store';
import { PeriodicTask } from './periodic-task';

const BATCH_SIZE = 1000;

/**
 * Keeps claims blind to jobs waiting behind a busy serial queue: marks them blocked, so however many queues are
 * busy, a claim reads only the jobs it could start. Releasing a queue unblocks its head in the same statement;
 * this task also repairs the rare free queue whose head stayed blocked.
 */
export class SerialQueueKeeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: JobStore,
    intervalMs: number,
    private readonly onUnblocked: () => void,
    private readonly failures: FailureLog,
  ) {
    this.task = new PeriodicTask(() => this.keep(), intervalMs);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; resolves when done (tests use it instead of waiting for the timer). */
  runNow(): Promise<void> {
    return this.task.runNow();
  }

  private async keep(): Promise<void> {
    try {
      while ((await this.store.blockJobsBehindHolders(BATCH_SIZE)) === BATCH_SIZE);
      let unblocked;
      do {
        unblocked = await this.store.unblockStalledQueues(BATCH_SIZE);
        if (unblocked > 0) this.onUnblocked();
      } while (unblocked === BATCH_SIZE);
    } catch (error) {
      this.failures.failed('Maintaining serial queues', error);
    }
  }
}
