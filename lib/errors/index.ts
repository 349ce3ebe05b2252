export * from './pg-queue.errors';
