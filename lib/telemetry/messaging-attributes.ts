/**
 * Names shared by the queue's spans and metrics: OpenTelemetry's messaging semantic conventions where they have one,
 * `pgqueue.*` for what only this queue has.
 */
export const INSTRUMENTATION_SCOPE = 'nestjs-pgqueue';
export const MESSAGING_SYSTEM = 'pgqueue';

export const ATTR = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  attempt: 'pgqueue.job.attempt',
  maxAttempts: 'pgqueue.job.max_attempts',
  priority: 'pgqueue.job.priority',
  serialQueue: 'pgqueue.job.queue',
  outcome: 'pgqueue.job.outcome',
  delayMs: 'pgqueue.job.delay_ms',
  status: 'pgqueue.job.status',
} as const;
