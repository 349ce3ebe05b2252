import { SetMetadata } from '@nestjs/common';
import type { JobContext, JobHandlerOptions, JobPayloadOf, JobResultOf } from '../interfaces';
import { JOB_HANDLER_METADATA } from '../pg-queue.constants';

/** What @JobHandler attaches to a method. */
export interface JobHandlerMetadata {
  type: string;
  options: JobHandlerOptions;
}

/**
 * The methods `@JobHandler(type)` accepts: they take the payload of `type` (from `PgQueueJobs`, when the type is in
 * it) and the context, and return its result (from `PgQueueJobResults`, when it is in that).
 */
export type JobHandlerMethod<T extends string> = (
  payload: JobPayloadOf<T, any>, // eslint-disable-line @typescript-eslint/no-explicit-any -- a type not in the map takes any payload
  ctx: JobContext,
) => JobResultOf<T> | Promise<JobResultOf<T>>;

/** Marks a provider method as the handler of one job type; it is called with `(payload, ctx: JobContext)`. */
export const JobHandler =
  <T extends string>(type: T, options: JobHandlerOptions = {}) =>
  <M extends JobHandlerMethod<T>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>): void =>
    void SetMetadata<string, JobHandlerMetadata>(JOB_HANDLER_METADATA, { type, options })(target, key, descriptor);
