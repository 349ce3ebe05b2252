export { PgQueueModule } from './pg-queue.module';
export { PGQUEUE_MODULE_OPTIONS } from './pg-queue.module-definition';
export type { PgQueueForRootOptions, PgQueueForRootAsyncOptions } from './pg-queue.module-definition';
export { QueueService } from './queue.service';
export { JobHandler, OnJobEvent } from './decorators';
export * from './errors';
export * from './interfaces';
export { PgQueueExceptionFilter } from './http/pg-queue-exception.filter';
export { toHttpException } from './http/http-errors';
