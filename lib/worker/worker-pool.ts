import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClaimedJobRow } from '../db/job-row';
import type { JobStores } from '../db/stores/job-stores';
import type { ScheduleStore } from '../db/stores/schedule-store';
import type { JobCompletion } from '../db/job-writes';
import type { SlotLender } from '../producer/slot-lender';
import type { PgListener } from '../db/pg-listener';
import type { QueueDatabase } from '../db/queue-database';
import type { HandlerRegistry } from '../discovery/handler-registry';
import { DEFAULT_MAX_ATTEMPTS } from '../pg-queue.constants';
import type { ResolvedRetention, ResolvedWorkerOptions } from '../pg-queue.options';
import { ActiveJob } from './active-job';
import { Batcher } from '../services/batcher';
import { reportBoot } from './boot-report';
import { Prefetch } from './prefetch';
import { Claimer } from './claimer';
import { FailureLog } from '../services/failure-log';
import { writeCompletions, type CompletionOutcome } from './completion-writer';
import { drainJobs, FINAL_WRITE_MS, jobList } from './drain';
import { JobRunner } from './job-runner';
import { OutcomeWriter } from './outcome-writer';
import { LeaseKeeper } from './lease-keeper';
import type { JobEventBus } from '../events/job-event-bus';
import type { JobTelemetry } from '../telemetry/job-telemetry';
import type { QueueLogger } from '../services/queue-logger';
import { workerEvents } from '../events/worker-events';
import type { JobEventListenerDefinition } from '../events/job-event-listener.definition';
import { LogBuffer } from './log-buffer';
import { ProgressBuffer } from './progress-buffer';
import { untilDeadline } from '../services/until-deadline';
import { JobAborts } from './job-aborts';
import type { CodeSchedules } from '../schedule/code-schedules';
import type { BackgroundService, PeriodicService } from '../services/background-service';
import { maintenanceServices } from './maintenance-services';
import { SlotTable } from './slot-table';

type State = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * Claims jobs for the types this process handles and runs them, up to the worker's and each handler's
 * concurrency. Wakes on NOTIFY, on a finished job and on the poll floor; stops in the order docs/ARCHITECTURE.md (Wiring) gives.
 */
export class WorkerPool implements SlotLender {
  /** A random id per process start, so a restarted process never passes for its predecessor. */
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger: QueueLogger;
  private readonly failures: FailureLog;
  private readonly slots: SlotTable;
  private readonly prefetch: Prefetch;
  private readonly claimer: Claimer;
  private readonly progress: ProgressBuffer;
  private readonly logs: LogBuffer;
  /** What happens to this worker's jobs, told to @OnJobEvent listeners, events() subscribers and the throughput counts. */
  private readonly events: JobEventBus;
  private readonly eventServices: BackgroundService[];
  private readonly completer: Batcher<JobCompletion, CompletionOutcome>;
  private readonly runner: JobRunner;
  private readonly outcomes: OutcomeWriter;
  private readonly leaseKeeper: LeaseKeeper;
  /** Null when this process fires no schedules (`worker.schedules: false`). */
  private readonly codeSchedules: CodeSchedules | null;
  /** Rescuer, schedule firer, serial-queue keeper and pruner: started after the schedules are declared, stopped with claiming. */
  private readonly services: PeriodicService[];
  private readonly aborts: JobAborts;
  private readonly unsubscribe: Array<() => void> = [];
  private unsubscribeCancel?: () => void;
  private state: State = 'idle';
  private stopped?: Promise<void>;
  private shutdownDeadline?: number;

  constructor(
    private readonly db: QueueDatabase,
    private readonly stores: JobStores,
    private readonly schedules: ScheduleStore,
    private readonly listener: PgListener,
    private readonly registry: HandlerRegistry,
    private readonly options: ResolvedWorkerOptions,
    maxPayloadBytes: number,
    retention: ResolvedRetention,
    telemetry: JobTelemetry,
  ) {
    this.logger = db.logs.for('PgQueueWorker');
    this.failures = new FailureLog(this.logger);
    this.prefetch = new Prefetch(options.prefetch);
    this.slots = new SlotTable(options.concurrency, registry);
    this.aborts = new JobAborts(this.slots, this.logger, () => this.wake());
    this.claimer = new Claimer(
      this.slots,
      stores.claims,
      registry,
      this.prefetch,
      { ...options, workerId: this.workerId, defaultMaxAttempts: (type) => this.defaultMaxAttempts(type) },
      this.failures,
      (rows) => this.claimed(rows),
    );
    const eventParts = workerEvents(stores.events, listener, db.channels.subscribers, this.workerId, this.failures, db.logs.for('PgQueue'));
    [this.events, this.eventServices] = [eventParts.bus, eventParts.services];
    this.progress = new ProgressBuffer(stores.outcomes, this.failures);
    this.logs = new LogBuffer(stores.outcomes, this.failures);
    this.completer = new Batcher((completions) => writeCompletions(stores.outcomes, completions, retention.completedMs === 0));
    // A job due again at once is claimed now; later ones are found by the poll, as delayed jobs are.
    this.outcomes = new OutcomeWriter(
      stores.outcomes,
      this.progress,
      this.logs,
      this.completer,
      options.leaseMs,
      maxPayloadBytes,
      (dueInMs) => dueInMs <= 0 && this.wake(),
      this.events,
      db.logs,
    );
    this.runner = new JobRunner(this.progress, this.logs, this.outcomes, this.events, telemetry, db.logs);
    this.leaseKeeper = new LeaseKeeper(
      stores.claims,
      options.leaseMs,
      () => this.slots.leasesToKeep(Date.now()),
      (ids, cancelled) => this.aborts.leasesLost(ids, cancelled),
      this.failures,
    );
    const maintenance = maintenanceServices(
      { stores, schedules, registry, telemetry },
      { options, retention, maxPayloadBytes },
      { events: this.events, logger: this.logger, failures: this.failures, wake: () => this.wake() },
    );
    [this.services, this.codeSchedules] = [maintenance.services, maintenance.codeSchedules];
  }

  /** The @OnJobEvent listeners found at module init. */
  setEventListeners(listeners: JobEventListenerDefinition[]): void {
    this.events.setListeners(listeners);
  }

  /** For health checks: whether the worker runs, and whether its heartbeat is on time. */
  get heartbeat(): { running: boolean; sinceLastBeatMs: number; lateAfterMs: number } {
    const { sinceLastBeatMs, lateAfterMs } = this.leaseKeeper;
    return { running: this.state === 'running', sinceLastBeatMs, lateAfterMs };
  }

  get types(): string[] {
    return this.registry.types;
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * A slot for a job of `type` this process is about to enqueue, if one is free now: not taken by a claimed job,
   * another reservation or the claim in flight (prefetched jobs come first). Returns the handler's default max attempts.
   */
  reserve(type: string): number | null {
    const handler = this.registry.get(type);
    if (this.state !== 'running' || !handler || !this.slots.reserve(type)) return null;
    return this.defaultMaxAttempts(type);
  }

  release(type: string): void {
    this.slots.release(type);
  }

  private defaultMaxAttempts(type: string): number {
    return this.registry.get(type)?.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** Runs a job claimed by its own insert, in its reserved slot; one that arrives while stopping is handed back. */
  async adopt(row: ClaimedJobRow): Promise<void> {
    this.release(row.type);
    const handler = this.registry.get(row.type);
    if (this.state === 'running' && handler) {
      this.slots.track(new ActiveJob(row, handler));
      this.startWaiting();
      return;
    }
    await this.stores.outcomes.handBack([{ id: row.id, token: row.claim_token, started: false }]).catch((error: Error) => {
      this.logger.warn(`Handing back job ${row.id} failed; it will be recovered when its lease expires: ${error.message}`);
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const { channels } = this.db;
    this.unsubscribe.push(
      this.listener.on(channels.newJobs, () => this.wake()),
      this.listener.onReconnect(() => this.wake()),
    );
    this.unsubscribeCancel = this.listener.on(channels.cancel, (payload) => this.aborts.heardCancellation(payload));
    await this.listener.start();
    await this.stores.admin.declareDeadLetters(...this.registry.deadLetters());
    await this.codeSchedules?.start();
    if (this.state !== 'running') return; // stopped while starting
    this.progress.start();
    this.logs.start();
    for (const service of this.eventServices) void service.start();
    this.leaseKeeper.start();
    for (const service of this.services) service.start();
    this.claimer.start();
    void reportBoot(
      this.logger,
      { jobs: this.stores.admin, schedules: this.schedules },
      this.registry,
      `Worker ${this.workerId} started (concurrency ${this.options.concurrency}).`,
    );
  }

  /** First shutdown step, run while other modules are being destroyed: claim nothing more, hand back what has not started. */
  async stopClaiming(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.unsubscribe.splice(0).forEach((off) => off());
    const deadline = (this.shutdownDeadline = Date.now() + this.options.shutdownTimeoutMs);
    await untilDeadline(Promise.all([...this.services.map((service) => service.stop()), this.claimer.stop()]), deadline);
    const unstarted = this.slots.takeUnstarted();
    if (unstarted.length === 0) return;
    await untilDeadline(
      this.stores.outcomes.handBack(unstarted.map((job) => ({ ...job.lease, started: false }))).then(
        () => this.logger.log(`Handed back ${unstarted.length} claimed job(s) that had not started ${jobList(unstarted)}.`),
        (error: Error) =>
          this.logger.warn(
            `Handing back ${unstarted.length} unstarted job(s) failed; they will be recovered when their leases expire: ${error.message}`,
          ),
      ),
      Math.max(deadline, Date.now() + FINAL_WRITE_MS),
    );
  }

  /** Stops claiming, hands back unstarted jobs, drains running ones up to the deadline, then aborts and hands back the rest. */
  stop(): Promise<void> {
    this.stopped ??= this.drain();
    return this.stopped;
  }

  /** Looks for jobs now; concurrent calls coalesce into one more round. */
  wake(): void {
    this.claimer.wake();
  }

  private claimed(rows: ClaimedJobRow[]): void {
    for (const row of rows) {
      const handler = this.registry.get(row.type);
      // A cancellation may overtake its job's claim: the job is cancelled in the database, nothing to run.
      if (handler && !this.aborts.wasCancelled(row.claim_token)) this.slots.track(new ActiveJob(row, handler));
    }
    this.startWaiting();
  }

  /** Starts claimed jobs, in claim order, as far as the worker's and their handlers' concurrency allow. */
  private startWaiting(): void {
    if (this.state !== 'running') return;
    for (const job of this.slots.nextToStart()) this.startJob(job);
  }

  private startJob(job: ActiveJob): void {
    this.prefetch.started(job.type);
    // The slot frees as soon as the handler returns; the outcome is written meanwhile (and batched with others).
    // An aborted handler that has not returned keeps its slot: its outcome is written, the job is no longer ours.
    job.outcomeWritten = this.runner
      .run(job, {
        outcomeReady: () => this.slots.outcomeReady(job),
        returned: () => {
          this.slots.returned(job);
          this.startWaiting();
          this.claimer.refill();
        },
      })
      .finally(() => {
        this.slots.settled(job);
        this.claimer.refill();
      });
  }

  private async drain(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      return;
    }
    await this.stopClaiming();
    // One deadline for the whole shutdown, counted from when claiming stopped (Nest's module destroy hook).
    const deadline = this.shutdownDeadline ?? Date.now() + this.options.shutdownTimeoutMs;
    const { slots, outcomes, completer, leaseKeeper, progress, logs, logger, options } = this;
    await drainJobs(
      { slots, outcomes, completer, leaseKeeper, reports: [progress, logs, ...this.eventServices], logger, options },
      deadline,
    );
    this.unsubscribeCancel?.();
    this.state = 'stopped';
    this.logger.log(`Worker ${this.workerId} stopped.`);
  }
}
