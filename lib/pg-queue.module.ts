import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JobStore } from './db/job-store';
import { ScheduleStore } from './db/schedule-store';
import { openQueueDatabase } from './db/open-queue-database';
import { PgListener } from './db/pg-listener';
import { QueueDatabase } from './db/queue-database';
import { HandlerExplorer } from './discovery/handler-explorer';
import type { PgQueueModuleOptions } from './interfaces';
import { ConfigurablePgQueueModule, PGQUEUE_MODULE_OPTIONS } from './pg-queue.module-definition';
import { resolveModuleOptions, type ResolvedModuleOptions } from './pg-queue.options';
import { RESOLVED_OPTIONS } from './pg-queue.tokens';
import { JobInserter } from './producer/job-inserter';
import { JobWatcher } from './producer/job-watcher';
import { LocalWorker } from './producer/local-worker';
import { QueueService } from './queue.service';
import { PgQueueLifecycle } from './worker/pg-queue.lifecycle';

/** PostgreSQL job queue: `PgQueueModule.forRoot(options)` or `forRootAsync(asyncOptions)`. Exports QueueService. */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: RESOLVED_OPTIONS, inject: [PGQUEUE_MODULE_OPTIONS], useFactory: resolveModuleOptions },
    {
      provide: QueueDatabase,
      inject: [PGQUEUE_MODULE_OPTIONS, RESOLVED_OPTIONS],
      useFactory: (options: PgQueueModuleOptions, resolved: ResolvedModuleOptions) => openQueueDatabase(options, resolved),
    },
    {
      provide: JobStore,
      inject: [QueueDatabase, RESOLVED_OPTIONS],
      useFactory: (db: QueueDatabase, options: ResolvedModuleOptions) =>
        new JobStore(db, options.preparedStatements, options.queryTimeoutMs),
    },
    {
      provide: ScheduleStore,
      inject: [QueueDatabase, RESOLVED_OPTIONS],
      useFactory: (db: QueueDatabase, options: ResolvedModuleOptions) => new ScheduleStore(db, options.queryTimeoutMs),
    },
    LocalWorker,
    {
      provide: JobInserter,
      inject: [JobStore, LocalWorker],
      useFactory: (store: JobStore, local: LocalWorker) => new JobInserter(store, local),
    },
    { provide: PgListener, inject: [QueueDatabase], useFactory: (db: QueueDatabase) => new PgListener(db) },
    {
      provide: JobWatcher,
      inject: [QueueDatabase, JobStore, PgListener, RESOLVED_OPTIONS],
      useFactory: (db: QueueDatabase, store: JobStore, listener: PgListener, options: ResolvedModuleOptions) =>
        new JobWatcher(db, store, listener, options.worker.pollIntervalMs),
    },
    HandlerExplorer,
    QueueService,
    PgQueueLifecycle,
  ],
  exports: [QueueService],
})
export class PgQueueModule extends ConfigurablePgQueueModule {}
