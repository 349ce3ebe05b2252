import type { ClientBase } from 'pg';

/** The states a job moves through. */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A job as stored, returned by `enqueue`, `getJob` and `watch`. */
export interface JobSnapshot<TPayload = unknown, TResult = unknown> {
  /** Database id (int8 as a string, exact beyond 2^53). */
  id: string;
  type: string;
  status: JobStatus;
  /** Higher runs first. */
  priority: number;
  /** Named serial queue, or null. */
  queue: string | null;
  payload: TPayload;
  /** 0-100, as last reported by the handler. */
  progress: number;
  stage: string | null;
  /** Attempts started so far. */
  attempts: number;
  /** Null until the first claim when neither the enqueue nor the handler set it; then the effective limit. */
  maxAttempts: number | null;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastError: string | null;
  result: TResult | null;
  /** The job key it was enqueued with, or null (a running job gives its key up to a `replace` enqueue). */
  jobKey: string | null;
}

/**
 * What an enqueue with a `jobKey` does when an unfinished job (pending or running) already holds the key:
 * - `dedupe`: returns that job; nothing new is queued.
 * - `replace`: a pending job gets the new payload, priority, maxAttempts and run time; a running one keeps
 *   running (without the key) and a new job is queued with the key.
 */
export type JobKeyMode = 'dedupe' | 'replace';

/** Options of `enqueue` and of each job of `enqueueMany`. */
export interface EnqueueOptions {
  /** Integer, higher runs first. @default 100 */
  priority?: number;
  /** Earliest time the job may run. Not with `delayMs`. */
  runAt?: Date;
  /** Run no sooner than this many milliseconds from now (database clock). Not with `runAt`. */
  delayMs?: number;
  /** Attempts before the job is `failed`. @default the handler's maxAttempts, else 3 */
  maxAttempts?: number;
  /** At most one unfinished job per key (up to 512 characters); see `jobKeyMode`. */
  jobKey?: string;
  /** @default 'dedupe' */
  jobKeyMode?: JobKeyMode;
  /** Named serial queue: at most one job of a queue runs at a time, across all processes, in priority order. */
  queue?: string;
  /** A `pg` client inside your transaction: the job exists only if that transaction commits. */
  client?: ClientBase;
}

/** Options that apply to a whole `enqueueMany` batch. */
export interface EnqueueManyOptions {
  /** A `pg` client inside your transaction (see EnqueueOptions.client). */
  client?: ClientBase;
}
