import { SetMetadata } from '@nestjs/common';
import type { JobContext, JobHandlerOptions, JobPayloadOf, JobResultOf, KnownJobType, PgQueueJobResults } from '../interfaces';
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

/** The decorator of a job type in `PgQueueJobs`: it accepts only a method that takes that payload and returns its result. */
export type TypedJobHandlerDecorator<T extends string> = <M extends JobHandlerMethod<T>>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * Marks a provider method as the handler of one job type; it is called with `(payload, ctx: JobContext)`. For a type
 * in `PgQueueJobs` the method's payload and result are checked against the map; any other type gives a plain
 * `MethodDecorator`, which `applyDecorators()` takes too.
 */
export const JobHandler = <T extends string>(
  type: T,
  options: JobHandlerOptions = {},
): T extends KnownJobType | keyof PgQueueJobResults ? TypedJobHandlerDecorator<T> : MethodDecorator =>
  SetMetadata<string, JobHandlerMetadata>(JOB_HANDLER_METADATA, { type, options }) as never;
