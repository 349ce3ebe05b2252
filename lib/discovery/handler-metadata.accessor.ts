import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { JobHandlerMetadata } from '../decorators/job-handler.decorator';
import type { JobEventListenerMetadata } from '../decorators/on-job-event.decorator';
import { JOB_EVENT_LISTENER_METADATA, JOB_HANDLER_METADATA } from '../pg-queue.constants';

/** The one reader of what @JobHandler and @OnJobEvent attach to a method. */
@Injectable()
export class HandlerMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  handlerOf(method: unknown): JobHandlerMetadata | undefined {
    if (typeof method !== 'function') return undefined;
    return this.reflector.get<JobHandlerMetadata | undefined>(JOB_HANDLER_METADATA, method);
  }

  listenerOf(method: unknown): JobEventListenerMetadata | undefined {
    if (typeof method !== 'function') return undefined;
    return this.reflector.get<JobEventListenerMetadata | undefined>(JOB_EVENT_LISTENER_METADATA, method);
  }
}
