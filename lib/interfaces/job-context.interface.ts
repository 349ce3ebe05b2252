import type { LoggerService } from '@nestjs/common';

/** What a handler knows about the job it runs. */
export interface JobInfo {
  id: string;
  type: string;
  /** This attempt, 1-based. */
  attempt: number;
  maxAttempts: number;
  priority: number;
  queue: string | null;
  createdAt: Date;
  runAt: Date;
  startedAt: Date;
}

/** The second argument of every handler. */
export interface JobContext {
  readonly job: JobInfo;
  /** Aborted on timeout, cancellation, lost lease and the shutdown deadline; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** Records progress (0-100) and an optional stage; writes are coalesced, the last value always lands. */
  progress(percent: number, stage?: string): Promise<void>;
  /**
   * Ends the handler (by throwing) and runs the job again after `delayMs` (0 to 7 days) without using up an
   * attempt. The request stands even if the handler catches the throw.
   */
  snooze(delayMs: number): never;
  /**
   * Logs with the job's id and type in the context, and stores the line with the job and this attempt (read back
   * with `QueueService.getJobLogs`). Lines are written in batches, the last ones before the job's outcome; a line is
   * cut at 2,000 characters, an attempt stores 200 lines and a job 1,000.
   */
  log(message: string): void;
  /** A Nest logger with the job's id and type in its context; its lines are not stored with the job. */
  readonly logger: LoggerService;
}
