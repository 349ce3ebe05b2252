import type { CatchUpPolicy } from './schedule.interface';
import type { StandardSchemaV1 } from './standard-schema.interface';

/** Exponential backoff between attempts: min(maxMs, baseMs * 2^(attempt-1)), with jitter. */
export interface BackoffOptions {
  /** @default 1000 */
  baseMs?: number;
  /** @default 3600000 (1 hour) */
  maxMs?: number;
  /** Randomize each delay between half and all of it, so retries of many jobs spread out. @default true */
  jitter?: boolean;
}

/** Computes the delay before the next attempt; `attempt` is the attempt that just failed (1-based). */
export type BackoffFunction = (attempt: number, error: unknown) => number;

/** Options of `@JobHandler(type, options)`. */
export interface JobHandlerOptions {
  /** Jobs of this type this process runs at once (never more than worker.concurrency). @default worker.concurrency */
  concurrency?: number;
  /** Attempts before the job is failed, when the enqueue did not set maxAttempts. @default 3 */
  maxAttempts?: number;
  /** Delay between attempts. @default { baseMs: 1000, maxMs: 3600000, jitter: true } */
  backoff?: BackoffOptions | BackoffFunction;
  /**
   * A job type to enqueue one job of when a job of this type fails for good, in the same transaction as the failure.
   * Its payload is a `DeadLetterPayload`: the failed job's id, type, payload, last error and attempts.
   */
  deadLetter?: string;
  /**
   * A Standard Schema v1 object (zod, valibot, arktype...) the payload must match. An enqueue in a process that runs
   * this handler is refused with `InvalidPayloadError` (nothing written); before each run the payload is checked again,
   * and one that fails fails the job at once, without retries, and the handler never sees it. The handler receives
   * the schema's output (its defaults and coercions applied).
   */
  schema?: StandardSchemaV1;
  /** Abort `ctx.signal` and fail the attempt after this long. @default no timeout */
  timeoutMs?: number;
  /** Run this handler on a schedule too: a cron expression (5 fields), stored as the schedule named after the type. */
  cron?: string;
  /** Time zone of `cron`. @default 'UTC' */
  timezone?: string;
  /** Missed slots policy of `cron`. @default 'skip' */
  catchUp?: CatchUpPolicy;
}

/** The payload of a dead-letter job (handler option `deadLetter`). */
export interface DeadLetterPayload<TPayload = unknown> {
  failedJob: { id: string; type: string; payload: TPayload; lastError: string | null; attempts: number };
}
