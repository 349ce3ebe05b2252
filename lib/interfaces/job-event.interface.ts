/**
 * What happens to a job while a worker holds it. `retrying`: an attempt failed and another will come; `failed`: it
 * failed for good; `rescued`: its lease ran out (its worker stopped heartbeating) and a rescuer took it back.
 */
export type JobEventName = 'started' | 'progress' | 'completed' | 'retrying' | 'failed' | 'cancelled' | 'snoozed' | 'rescued';

/** One event, as `@OnJobEvent` listeners and `QueueService.events()` get it. */
export interface JobEvent<TResult = unknown> {
  event: JobEventName;
  job: {
    id: string;
    type: string;
    /** The attempt the event is about (1-based). */
    attempt: number;
    maxAttempts: number | null;
  };
  /** When the process that ran the job saw it happen. */
  at: Date;
  /** `completed`: the handler's result. */
  result?: TResult;
  /** `retrying`, `failed`, `rescued`: the error as stored (the job's lastError). */
  error?: string;
  /** `retrying`, `failed`: the value the handler threw; only for `@OnJobEvent` listeners of the process that ran it. */
  cause?: unknown;
  /** `progress`: the percent and stage reported. */
  progress?: number;
  stage?: string | null;
  /** `retrying`, `snoozed`: milliseconds until it may run again. */
  delayMs?: number;
}

/** Which events `QueueService.events()` emits; every field narrows. */
export interface JobEventFilter {
  event?: JobEventName | JobEventName[];
  type?: string | string[];
}

/** Options of `@OnJobEvent`. */
export interface OnJobEventOptions {
  /** Only events of jobs of this type (or these types). */
  type?: string | string[];
}
