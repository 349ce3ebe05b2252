import type { JobEvent, JobEventName } from '../interfaces';

/** A discovered @OnJobEvent method. */
export interface JobEventListenerDefinition {
  events: JobEventName[];
  /** Only events of these job types; all when undefined. */
  types: string | string[] | undefined;
  /** `Class#method`, for messages. */
  name: string;
  invoke(event: JobEvent): Promise<unknown>;
}
