import type { ScheduleStore } from '../db/stores/schedule-store';
import { PeriodicService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { planDueSchedule } from './schedule-planner';

/**
 * Fires due recurring schedules. Every worker process runs one: schedule rows are locked with SKIP LOCKED
 * and each slot's job has a unique key, so however many run, a slot gives exactly one job.
 */
export class Scheduler extends PeriodicService {
  constructor(
    private readonly schedules: ScheduleStore,
    intervalMs: number,
    private readonly onFired: () => void,
    failures: FailureLog,
  ) {
    super('Firing recurring schedules', intervalMs, failures, true);
  }

  protected async runOnce(): Promise<void> {
    if ((await this.schedules.fireDueSchedules(planDueSchedule)) > 0) this.onFired();
  }
}
