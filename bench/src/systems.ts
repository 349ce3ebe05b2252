import type { SystemDefinition } from './adapter';

export interface SystemEntry {
  key: string;
  /** Column name in the report. */
  name: string;
  /** PostgreSQL peers are compared; the Redis line is a reference. */
  backend: 'postgres' | 'redis';
  /** Loaded lazily: a child process loads only the library it measures, so its peak RSS holds no other's code. */
  load: () => SystemDefinition;
}

export const SUBJECT = 'nestjs-pgqueue';

/** Every system of the side-by-side table, in report order. */
export const SYSTEMS: SystemEntry[] = [
  { key: SUBJECT, name: SUBJECT, backend: 'postgres', load: () => require('./adapters/nestjs-pgqueue').nestjsPgqueue },
  {
    key: 'graphile-worker',
    name: 'graphile-worker',
    backend: 'postgres',
    load: () => require('./adapters/graphile-worker').graphileWorker,
  },
  { key: 'pg-boss', name: 'pg-boss', backend: 'postgres', load: () => require('./adapters/pg-boss').pgBoss },
  { key: 'bullmq-pg', name: 'bullmq (pg)', backend: 'postgres', load: () => require('./adapters/bullmq').bullmqPostgres },
  { key: 'bullmq-redis', name: 'bullmq (redis)', backend: 'redis', load: () => require('./adapters/bullmq').bullmqRedis },
];
