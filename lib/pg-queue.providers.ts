import type { Provider } from '@nestjs/common';
import { JobStore } from './db/job-store';
import { openQueueDatabase } from './db/open-queue-database';
import { PgListener } from './db/pg-listener';
import { QueueDatabase } from './db/queue-database';
import { ScheduleStore } from './db/schedule-store';
import { HandlerExplorer } from './discovery/handler-explorer';
import { HandlerMetadataAccessor } from './discovery/handler-metadata.accessor';
import { HandlerRegistry } from './discovery/handler-registry';
import type { PgQueueModuleOptions } from './interfaces';
import { PgQueueLifecycle } from './pg-queue.lifecycle';
import { PGQUEUE_MODULE_OPTIONS } from './pg-queue.module-definition';
import { resolveModuleOptions, type ResolvedModuleOptions } from './pg-queue.options';
import { RESOLVED_OPTIONS } from './pg-queue.tokens';
import { JobInserter } from './producer/job-inserter';
import { JobWatcher } from './producer/job-watcher';
import { QueueService } from './queue.service';
import { WorkerPool } from './worker/worker-pool';

/**
 * The composition root: every object of the module is built here, once per module instance. The worker pool is
 * built with an empty handler registry (the lifecycle fills it at module init, before the pool starts) so that the
 * inserter can be given the pool as its claim-on-insert port from the start; a producer-only module has no pool.
 */
export const queueProviders: Provider[] = [
  { provide: RESOLVED_OPTIONS, inject: [PGQUEUE_MODULE_OPTIONS], useFactory: resolveModuleOptions },
  {
    provide: QueueDatabase,
    inject: [PGQUEUE_MODULE_OPTIONS, RESOLVED_OPTIONS],
    useFactory: (options: PgQueueModuleOptions, resolved: ResolvedModuleOptions) => openQueueDatabase(options, resolved),
  },
  {
    provide: JobStore,
    inject: [QueueDatabase, RESOLVED_OPTIONS],
    useFactory: (db: QueueDatabase, options: ResolvedModuleOptions) => new JobStore(db, options.preparedStatements, options.queryTimeoutMs),
  },
  {
    provide: ScheduleStore,
    inject: [QueueDatabase, RESOLVED_OPTIONS],
    useFactory: (db: QueueDatabase, options: ResolvedModuleOptions) => new ScheduleStore(db, options.queryTimeoutMs),
  },
  { provide: PgListener, inject: [QueueDatabase], useFactory: (db: QueueDatabase) => new PgListener(db) },
  { provide: HandlerRegistry, useFactory: () => new HandlerRegistry() },
  {
    provide: WorkerPool,
    inject: [QueueDatabase, JobStore, ScheduleStore, PgListener, HandlerRegistry, RESOLVED_OPTIONS],
    useFactory: (
      db: QueueDatabase,
      store: JobStore,
      schedules: ScheduleStore,
      listener: PgListener,
      registry: HandlerRegistry,
      { worker, maxPayloadBytes, retention }: ResolvedModuleOptions,
    ) => (worker.enabled ? new WorkerPool(db, store, schedules, listener, registry, worker, maxPayloadBytes, retention) : null),
  },
  {
    provide: JobInserter,
    inject: [JobStore, WorkerPool],
    useFactory: (store: JobStore, worker: WorkerPool | null) => new JobInserter(store, worker),
  },
  {
    provide: JobWatcher,
    inject: [QueueDatabase, JobStore, PgListener, RESOLVED_OPTIONS],
    useFactory: (db: QueueDatabase, store: JobStore, listener: PgListener, options: ResolvedModuleOptions) =>
      new JobWatcher(db, store, listener, options.worker.pollIntervalMs),
  },
  HandlerMetadataAccessor,
  HandlerExplorer,
  QueueService,
  PgQueueLifecycle,
];
