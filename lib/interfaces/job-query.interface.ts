import type { JobSnapshot, JobStatus } from './job.interface';

/** Which jobs `countJobs`, `listJobs` and the bulk actions apply to. Every field narrows; none means every job. */
export interface JobFilter {
  type?: string;
  /** One status or several. */
  status?: JobStatus | JobStatus[];
  /** Jobs of this serial queue. */
  queue?: string;
  jobKey?: string;
  /** Created at or after this time. */
  createdAfter?: Date;
  /** Created before this time. */
  createdBefore?: Date;
}

/** A page of `listJobs`: jobs newest first (highest id first). */
export interface ListJobsQuery extends JobFilter {
  /** @default 50, at most 1000 */
  limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  cursor?: string;
}

export interface JobPage<TPayload = unknown, TResult = unknown> {
  jobs: Array<JobSnapshot<TPayload, TResult>>;
  /** Pass as `cursor` for the next page (same filter); null on the last page. */
  nextCursor: string | null;
}

/** Options of `listJobs` and `countJobs`. */
export interface ReadOptions {
  /** PostgreSQL cancels the statement after this long (a QueryTimeoutError is not involved: its error is code 57014). */
  timeoutMs?: number;
}

/** Options of `retry`: when the job runs again, and its new attempt budget. */
export interface RetryOptions {
  /** Earliest time it may run. Not with `delayMs`. @default now */
  runAt?: Date;
  /** Run no sooner than this many milliseconds from now. Not with `runAt`. */
  delayMs?: number;
  /** Attempts it gets from now on. @default the limit it had */
  maxAttempts?: number;
}

/** What `stats()` reports of one job type. */
export interface TypeStats {
  type: string;
  /** Whether `pause(type)` holds its jobs back. */
  paused: boolean;
  /** Jobs per status (a status without jobs is absent). */
  counts: Partial<Record<JobStatus, number>>;
  /** Age of its oldest due pending job in milliseconds (how far the workers are behind); null when none is due. */
  lagMs: number | null;
  /** Jobs that completed in the last minute. */
  completedLastMinute: number;
  /** Jobs that failed for good in the last minute. */
  failedLastMinute: number;
}

/** Jobs of one type that completed and failed in one minute (`QueueService.throughput()`). */
export interface ThroughputPoint {
  /** The minute's start. */
  minute: Date;
  type: string;
  completed: number;
  failed: number;
}
