import { SetMetadata } from '@nestjs/common';
import type { JobHandlerOptions } from '../interfaces';
import { JOB_HANDLER_METADATA } from '../pg-queue.constants';

/** What @JobHandler attaches to a method. */
export interface JobHandlerMetadata {
  type: string;
  options: JobHandlerOptions;
}

/** Marks a provider method as the handler of one job type; it is called with `(payload, ctx: JobContext)`. */
export const JobHandler = (type: string, options: JobHandlerOptions = {}): MethodDecorator =>
  SetMetadata<string, JobHandlerMetadata>(JOB_HANDLER_METADATA, { type, options });
