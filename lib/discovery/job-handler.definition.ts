import type { JobContext, JobHandlerOptions } from '../interfaces';

/** A discovered handler, validated and ready to be run. */
export interface JobHandlerDefinition {
  type: string;
  options: JobHandlerOptions;
  /** `Class#method`, for messages. */
  name: string;
  /** Resolves the provider instance (a fresh one per job for request-scoped providers) and calls the method. */
  invoke(payload: unknown, ctx: JobContext): Promise<unknown>;
}
