/**
 * What to do about slots that passed while no process was running to fire them:
 * - `skip`: nothing; the schedule resumes at its next slot.
 * - `last`: fire the most recent missed slot once, then resume.
 * A slot counts as missed when it is more than a minute late.
 */
export type CatchUpPolicy = 'skip' | 'last';

/** Options of `QueueService.schedule()`. */
export interface ScheduleOptions {
  /** IANA time zone the expression is read in. @default 'UTC' */
  timezone?: string;
  /** Accept a 6-field expression whose first field is seconds. @default false */
  seconds?: boolean;
  /** @default 'skip' */
  catchUp?: CatchUpPolicy;
  /** No slot before this instant. */
  startAt?: Date;
  /** No slot after this instant. */
  endAt?: Date;
  /** Priority of the jobs it creates. @default 100 */
  priority?: number;
  /** maxAttempts of the jobs it creates. @default the handler's */
  maxAttempts?: number;
  /** Serial queue of the jobs it creates. */
  queue?: string;
}

/** A recurring schedule as stored. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  payload: unknown;
  priority: number;
  maxAttempts: number | null;
  queue: string | null;
  catchUp: CatchUpPolicy;
  startAt: Date | null;
  endAt: Date | null;
  /** The next slot to fire, or null once the schedule has ended. */
  nextRunAt: Date | null;
  /** The last slot fired or skipped. */
  lastSlot: Date | null;
  /** `code` for schedules declared with @JobHandler's `cron` option. */
  declaredIn: 'runtime' | 'code';
}
