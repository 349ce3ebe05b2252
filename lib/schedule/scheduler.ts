import type { FailureLog } from '../worker/failure-log';
import type { JobStore } from '../db/job-store';
import { PeriodicTask } from '../worker/periodic-task';
import { planDueSchedule } from './schedule-planner';

/**
 * Fires due recurring schedules. Every worker process runs one: schedule rows are locked with SKIP LOCKED
 * and each slot's job has a unique key, so however many run, a slot gives exactly one job.
 */
export class Scheduler {
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: JobStore,
    intervalMs: number,
    private readonly onFired: () => void,
    private readonly failures: FailureLog,
  ) {
    this.task = new PeriodicTask(() => this.tick(), intervalMs);
  }

  start(): void {
    void this.task.runNow();
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private async tick(): Promise<void> {
    try {
      if ((await this.store.fireDueSchedules(planDueSchedule)) > 0) this.onFired();
    } catch (error) {
      this.failures.failed('Firing recurring schedules', error);
    }
  }
}
