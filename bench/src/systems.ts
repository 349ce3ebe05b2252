import type { SystemDefinition } from './adapter';

export interface SystemEntry {
  key: string;
  /** Column name in the report. */
  name: string;
  /** PostgreSQL peers are compared; the Redis line is a reference. */
  backend: 'postgres' | 'redis';
  /** The key of the system this one runs with something added: shown as a column, never counted as a peer. */
  variantOf?: string;
  /** Loaded lazily: a child process loads only the library it measures, so its peak RSS holds no other's code. */
  load: () => SystemDefinition;
}

export const SUBJECT = 'nestjs-pgqueue';
/** The same adapter and scenarios as SUBJECT, with a real OpenTelemetry SDK registered in its child (adapters/otel-sdk.ts). */
export const SUBJECT_OTEL = 'nestjs-pgqueue-otel';

/** Every system of the side-by-side table, in report order. */
export const SYSTEMS: SystemEntry[] = [
  { key: SUBJECT, name: SUBJECT, backend: 'postgres', load: () => require('./adapters/nestjs-pgqueue').nestjsPgqueue },
  {
    key: SUBJECT_OTEL,
    name: `${SUBJECT} + OTel SDK`,
    backend: 'postgres',
    variantOf: SUBJECT,
    load: () => require('./adapters/otel-sdk').nestjsPgqueueOtel,
  },
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
