export { PgQueueHealthIndicator } from './pg-queue-health.indicator';
export type { QueueHealthOptions } from '../health/queue-health';
