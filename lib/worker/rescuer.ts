import type { Logger } from '@nestjs/common';
import type { JobStore } from '../db/job-store';
import { messages } from '../errors/messages';
import type { FailureLog } from './failure-log';
import { PeriodicTask } from './periodic-task';

const BATCH_SIZE = 1000;

/** Recovers jobs whose lease expired (their worker died or hung); the attempt they used counts. */
export class Rescuer {
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: JobStore,
    intervalMs: number,
    private readonly onRescued: () => void,
    private readonly logger: Logger,
    private readonly failures: FailureLog,
  ) {
    this.task = new PeriodicTask(() => this.rescueAll(), intervalMs);
  }

  start(): void {
    void this.task.runNow();
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private async rescueAll(): Promise<void> {
    try {
      let rows;
      do {
        rows = await this.store.rescueExpired(BATCH_SIZE, messages.leaseExpired());
        if (rows.length > 0) {
          this.logger.warn(
            `Recovered ${rows.length} job(s) whose worker stopped heartbeating: ${rows.map((r) => `#${r.id} -> ${r.status}`).join(', ')}`,
          );
          this.onRescued();
        }
      } while (rows.length === BATCH_SIZE);
    } catch (error) {
      this.failures.failed('Recovering expired jobs', error);
    }
  }
}
