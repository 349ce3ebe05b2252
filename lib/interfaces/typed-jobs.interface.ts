import type { EnqueueOptions } from './job.interface';

/**
 * The payload of each job type, for the compiler. Empty here; augment it in your application and `enqueue`,
 * `enqueueMany`, `schedule`, the snapshots they return and `@JobHandler` methods are checked against it:
 *
 *     declare module 'nestjs-pgqueue' {
 *       interface PgQueueJobs {
 *         'invoice.render': { invoiceId: string };
 *       }
 *     }
 *
 * Job types that are not in the map stay allowed, with whatever payload.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface PgQueueJobs {}

/** The result of each job type, augmented like `PgQueueJobs`: a handler's return value is checked against it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface PgQueueJobResults {}

/** The job types of the map. */
export type KnownJobType = Extract<keyof PgQueueJobs, string>;

/** The payload of jobs of `T`: from `PgQueueJobs` when `T` is in it, else `Otherwise`. */
export type JobPayloadOf<T extends string, Otherwise = unknown> = string extends T
  ? Otherwise
  : T extends KnownJobType
    ? PgQueueJobs[T]
    : Otherwise;

/** The result of jobs of `T`: from `PgQueueJobResults` when `T` is in it, else `Otherwise`. */
export type JobResultOf<T extends string, Otherwise = unknown> = string extends T
  ? Otherwise
  : T extends keyof PgQueueJobResults
    ? PgQueueJobResults[T]
    : Otherwise;

/**
 * One job of an `enqueueMany` batch. Distributed over the batch's types, so each job's payload is checked against its
 * own `type` (a discriminated union), and a type not in the map takes any payload.
 */
export type JobToEnqueue<T extends string = string> = T extends KnownJobType
  ? Omit<EnqueueOptions, 'client'> & { type: T; payload: PgQueueJobs[T] }
  : Omit<EnqueueOptions, 'client'> & { type: T; payload: unknown };
