import type { Provider } from '@nestjs/common';
import { openQueueDatabase } from './db/open-queue-database';
import { PgListener } from './db/pg-listener';
import { QueueDatabase } from './db/queue-database';
import { JobStores } from './db/stores/job-stores';
import { ScheduleStore } from './db/stores/schedule-store';
import { StatementRunner } from './db/statement-runner';
import { HandlerExplorer } from './discovery/handler-explorer';
import { JobEventStream } from './events/job-event-stream';
import { QueueHealth } from './health/queue-health';
import { HandlerMetadataAccessor } from './discovery/handler-metadata.accessor';
import { HandlerRegistry } from './discovery/handler-registry';
import type { PgQueueModuleOptions } from './interfaces';
import { PgQueueLifecycle } from './pg-queue.lifecycle';
import { PGQUEUE_MODULE_OPTIONS } from './pg-queue.module-definition';
import { resolveModuleOptions, type ResolvedModuleOptions } from './pg-queue.options';
import { JOB_TELEMETRY, RESOLVED_OPTIONS } from './pg-queue.tokens';
import { JobInserter } from './producer/job-inserter';
import { JobWatcher } from './producer/job-watcher';
import { QueueService } from './queue.service';
import type { JobTelemetry } from './telemetry/job-telemetry';
import { loadTelemetry } from './telemetry/load-telemetry';
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
    provide: StatementRunner,
    inject: [QueueDatabase, RESOLVED_OPTIONS],
    useFactory: (db: QueueDatabase, options: ResolvedModuleOptions) =>
      new StatementRunner(db, options.preparedStatements, options.queryTimeoutMs),
  },
  {
    provide: JobStores,
    inject: [QueueDatabase, StatementRunner],
    useFactory: (db: QueueDatabase, statements: StatementRunner) => new JobStores(db, statements),
  },
  {
    provide: ScheduleStore,
    inject: [QueueDatabase, StatementRunner],
    useFactory: (db: QueueDatabase, statements: StatementRunner) => new ScheduleStore(db, statements),
  },
  { provide: PgListener, inject: [QueueDatabase], useFactory: (db: QueueDatabase) => new PgListener(db) },
  {
    provide: JOB_TELEMETRY,
    inject: [JobStores, RESOLVED_OPTIONS],
    useFactory: (stores: JobStores, options: ResolvedModuleOptions) =>
      loadTelemetry(options.telemetry, () => stores.admin.queueGauges(options.queryTimeoutMs)),
  },
  { provide: HandlerRegistry, useFactory: () => new HandlerRegistry() },
  {
    provide: WorkerPool,
    inject: [QueueDatabase, JobStores, ScheduleStore, PgListener, HandlerRegistry, RESOLVED_OPTIONS, JOB_TELEMETRY],
    useFactory: (
      db: QueueDatabase,
      stores: JobStores,
      schedules: ScheduleStore,
      listener: PgListener,
      registry: HandlerRegistry,
      { worker, maxPayloadBytes, retention }: ResolvedModuleOptions,
      telemetry: JobTelemetry,
    ) => (worker.enabled ? new WorkerPool(db, stores, schedules, listener, registry, worker, maxPayloadBytes, retention, telemetry) : null),
  },
  {
    provide: JobInserter,
    inject: [JobStores, WorkerPool],
    useFactory: (stores: JobStores, worker: WorkerPool | null) => new JobInserter(stores.inserts, worker),
  },
  {
    provide: JobWatcher,
    inject: [QueueDatabase, JobStores, PgListener, RESOLVED_OPTIONS],
    useFactory: (db: QueueDatabase, stores: JobStores, listener: PgListener, options: ResolvedModuleOptions) =>
      new JobWatcher(db, stores.admin, listener, options.worker.pollIntervalMs),
  },
  {
    provide: JobEventStream,
    inject: [QueueDatabase, JobStores, PgListener],
    useFactory: (db: QueueDatabase, stores: JobStores, listener: PgListener) =>
      new JobEventStream(stores.events, stores.admin, listener, db.channels.jobEvents, db.logs.for('PgQueue')),
  },
  {
    provide: QueueHealth,
    inject: [QueueDatabase, StatementRunner, PgListener, WorkerPool],
    useFactory: (db: QueueDatabase, statements: StatementRunner, listener: PgListener, worker: WorkerPool | null) =>
      new QueueHealth(db, statements, listener, worker),
  },
  HandlerMetadataAccessor,
  HandlerExplorer,
  QueueService,
  PgQueueLifecycle,
];
