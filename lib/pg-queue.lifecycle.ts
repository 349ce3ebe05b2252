import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { PgListener } from './db/pg-listener';
import { QueueDatabase } from './db/queue-database';
import { HandlerExplorer } from './discovery/handler-explorer';
import { JobEventStream } from './events/job-event-stream';
import { HandlerRegistry } from './discovery/handler-registry';
import { PgQueueConfigError } from './errors';
import { messages } from './errors/messages';
import type { ResolvedModuleOptions } from './pg-queue.options';
import { JOB_TELEMETRY, RESOLVED_OPTIONS } from './pg-queue.tokens';
import type { JobTelemetry } from './telemetry/job-telemetry';
import { JobInserter } from './producer/job-inserter';
import { JobWatcher } from './producer/job-watcher';
import { untilDeadline } from './services/until-deadline';
import { WorkerPool } from './worker/worker-pool';

/** How long closing the listener or the pools may take before shutdown goes on without them. */
const CLOSE_STEP_MS = 2000;

/** One worker per application, however many times the module is imported. */
const workerOwners = new WeakMap<ModulesContainer, PgQueueLifecycle>();

/**
 * The Nest hooks, and nothing else: check the configuration once every provider exists, start the worker at
 * bootstrap, drain it, then close connections.
 */
@Injectable()
export class PgQueueLifecycle
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    private readonly db: QueueDatabase,
    private readonly listener: PgListener,
    private readonly watcher: JobWatcher,
    private readonly eventStream: JobEventStream,
    private readonly inserter: JobInserter,
    /** Null in a producer-only application. */
    @Inject(WorkerPool) private readonly worker: WorkerPool | null,
    private readonly registry: HandlerRegistry,
    private readonly explorer: HandlerExplorer,
    private readonly modules: ModulesContainer,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedModuleOptions,
    @Inject(JOB_TELEMETRY) private readonly telemetry: JobTelemetry,
  ) {}

  /**
   * Fails before any worker starts. Nest runs no shutdown hook after a failed init, so connections are
   * released here before throwing.
   */
  async onModuleInit(): Promise<void> {
    if (!this.worker) return;
    const owner = workerOwners.get(this.modules);
    if (owner && owner !== this) {
      await Promise.all([owner.releaseConnections(), this.releaseConnections()]);
      throw new PgQueueConfigError(messages.duplicateWorker());
    }
    workerOwners.set(this.modules, this);
    try {
      this.registry.addAll(this.explorer.explore());
      this.worker.setEventListeners(this.explorer.exploreListeners());
    } catch (error) {
      await this.releaseConnections();
      throw error;
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.worker?.start();
  }

  /** Nest destroys modules before any shutdown hook: stop claiming now, so no job starts against torn-down providers. */
  async onModuleDestroy(): Promise<void> {
    await this.worker?.stopClaiming();
  }

  /**
   * Runs while QueueService and the pool still work, so draining handlers can enqueue follow-ups. Open watch() and
   * events() streams end here: Nest closes the HTTP server next and would wait for their server-sent-event connections.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.stop();
    this.watcher.close();
    this.eventStream.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.stop();
    if (workerOwners.get(this.modules) === this) workerOwners.delete(this.modules);
    await this.releaseConnections();
  }

  /**
   * Each step is bounded: a connection that stopped answering (a dead network, a hung pooler) must not hold the
   * shutdown. Statements still in flight end at the query timeout; their sockets are dropped with the process.
   */
  private async releaseConnections(): Promise<void> {
    this.telemetry.close();
    this.watcher.close();
    this.eventStream.close();
    await untilDeadline(this.listener.close(), Date.now() + CLOSE_STEP_MS);
    // Enqueues accepted before shutdown still get written, within the shutdown deadline.
    await untilDeadline(this.inserter.idle(), Date.now() + this.options.worker.shutdownTimeoutMs);
    await untilDeadline(this.db.close(), Date.now() + CLOSE_STEP_MS);
  }
}
