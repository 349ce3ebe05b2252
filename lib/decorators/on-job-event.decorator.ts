import { SetMetadata } from '@nestjs/common';
import type { JobEventName, OnJobEventOptions } from '../interfaces';
import { JOB_EVENT_LISTENER_METADATA } from '../pg-queue.constants';

/** What @OnJobEvent attaches to a method. */
export interface JobEventListenerMetadata {
  events: JobEventName[];
  options: OnJobEventOptions;
}

/**
 * Marks a provider method as a listener of events of the jobs this process runs; it is called with a `JobEvent`.
 * Listeners run after the worker's own writes and never delay them; one that throws is logged and changes nothing.
 */
export const OnJobEvent = (events: JobEventName | JobEventName[], options: OnJobEventOptions = {}): MethodDecorator =>
  SetMetadata<string, JobEventListenerMetadata>(JOB_EVENT_LISTENER_METADATA, {
    events: Array.isArray(events) ? events : [events],
    options,
  });
