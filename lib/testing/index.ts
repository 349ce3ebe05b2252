export { QueueTester, QueueDrainError, JobsFailedError } from './queue-tester';
export type { DrainOptions, DrainResult } from './queue-tester';
export { TestJobContext } from './test-job-context';
export { PgQueueTestingModule } from './pg-queue-testing.module';
