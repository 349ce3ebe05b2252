import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClaimedJobRow } from '../db/job-row';
import type { Completion, JobLease, JobStore } from '../db/job-store';
import type { SlotLender } from '../producer/local-worker';
import type { PgListener } from '../db/pg-listener';
import type { QueueDatabase } from '../db/queue-database';
import type { HandlerRegistry } from '../discovery/handler-registry';
import { JobCancelledError, LeaseLostError, WorkerShutdownError } from '../errors';
import { messages } from '../errors/messages';
import { DEFAULT_MAX_ATTEMPTS } from '../pg-queue.constants';
import type { ResolvedRetention, ResolvedWorkerOptions } from '../pg-queue.options';
import { ActiveJob } from './active-job';
import { Batcher } from './batcher';
import { reportBoot } from './boot-report';
import { ClaimAhead } from './claim-ahead';
import { FailureLog } from './failure-log';
import { writeCompletions, type CompletionOutcome } from './completion-writer';
import { JobRunner } from './job-runner';
import { LeaseKeeper } from './lease-keeper';
import { ProgressBuffer } from './progress-buffer';
import { Pruner } from './pruner';
import { Rescuer } from './rescuer';
import { untilDeadline } from './bounded';
import { RecentIds } from './recent-ids';
import { Scheduler } from '../schedule/scheduler';
import { SerialQueueKeeper } from './serial-queue-keeper';
import { toScheduleParams } from '../schedule/schedule-input';

type State = 'idle' | 'running' | 'stopping' | 'stopped';

/** Last writes at shutdown (final progress, a hand-back) may not wait longer than this for a dead database. */
const FINAL_WRITE_MS = 2000;

/**
 * Claims jobs for the types this process handles and runs them, up to the worker's and each handler's
 * concurrency. Wakes on NOTIFY, on a finished job and on the poll floor; stops in the order DESIGN.md §2 gives.
 */
export class WorkerPool implements SlotLender {
  /** A random id per process start, so a restarted process never passes for its predecessor. */
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('PgQueueWorker');
  private readonly failures = new FailureLog(this.logger);
  /** Claimed jobs waiting for a slot or running. */
  private readonly active = new Map<string, ActiveJob>();
  /** The claimed jobs not started yet, in claim order. */
  private waiting: ActiveJob[] = [];
  /** Jobs whose handler has settled, while their outcome is written: no longer holding a slot. */
  private readonly settling = new Map<string, ActiveJob>();
  /** Claimed jobs (waiting or running) of each type. */
  private readonly activeByType = new Map<string, number>();
  private readonly runningByType = new Map<string, number>();
  private running = 0;
  /** Jobs out of `active` whose handler has not returned (for a moment, or ignoring its aborted signal): slots still taken. */
  private readonly overstayingByType = new Map<string, number>();
  private overstaying = 0;
  private readonly claimAhead: ClaimAhead;
  /** Slots held for jobs this process is enqueueing and may claim in the insert (see reserve). */
  private readonly reserved = new Map<string, number>();
  /** Jobs the claim in flight asked for. */
  private claimRequested = 0;
  private readonly progress: ProgressBuffer;
  private readonly completer: Batcher<Completion, CompletionOutcome>;
  private readonly runner: JobRunner;
  private readonly leaseKeeper: LeaseKeeper;
  private readonly rescuer: Rescuer;
  private readonly pruner: Pruner;
  private readonly scheduler: Scheduler;
  private readonly serialQueues: SerialQueueKeeper;
  /** Cancellations of jobs not (yet) known here: one may overtake the claim of its job. */
  private readonly cancelled = new RecentIds();
  private readonly unsubscribe: Array<() => void> = [];
  private unsubscribeCancel?: () => void;
  private state: State = 'idle';
  private claiming?: Promise<void>;
  private claimAgain = false;
  /**
   * Claimable jobs may be waiting that this worker left for lack of room (a full claim, a type at its limit, no free
   * slot when woken): a slot that frees then claims again. Otherwise a finished job claims nothing: new jobs notify.
   */
  private leftBehind = false;
  private pollTimer?: NodeJS.Timeout;
  private stopped?: Promise<void>;
  private shutdownDeadline?: number;

  constructor(
    private readonly db: QueueDatabase,
    private readonly store: JobStore,
    private readonly listener: PgListener,
    private readonly registry: HandlerRegistry,
    private readonly options: ResolvedWorkerOptions,
    private readonly maxPayloadBytes: number,
    retention: ResolvedRetention,
  ) {
    this.claimAhead = new ClaimAhead(options.prefetch);
    this.progress = new ProgressBuffer(store, this.failures);
    this.completer = new Batcher((completions) => writeCompletions(store, completions, retention.completedMs === 0));
    // A job due again at once is claimed now; later ones are found by the poll, as delayed jobs are.
    this.runner = new JobRunner(store, this.progress, this.completer, options.leaseMs, maxPayloadBytes, (dueInMs) => {
      if (dueInMs <= 0) this.wake();
    });
    this.leaseKeeper = new LeaseKeeper(
      store,
      options.leaseMs,
      () => this.leasesToKeep(),
      (ids, cancelled) => this.leasesLost(ids, cancelled),
      this.failures,
    );
    this.rescuer = new Rescuer(
      store,
      Math.min(5000, Math.max(250, Math.floor(options.leaseMs / 2))),
      () => this.wake(),
      this.logger,
      this.failures,
    );
    this.scheduler = new Scheduler(store, options.pollIntervalMs, () => this.wake(), this.failures);
    this.serialQueues = new SerialQueueKeeper(store, options.pollIntervalMs, () => this.wake(), this.failures);
    this.pruner = new Pruner(store, retention, this.failures);
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
    if (this.state !== 'running' || !handler) return null;
    if (this.active.size + this.overstaying + this.reservedTotal() + this.claimRequested >= this.options.concurrency) return null;
    if (this.claimedOf(type) >= this.typeConcurrency(type)) return null;
    this.reserved.set(type, (this.reserved.get(type) ?? 0) + 1);
    return this.defaultMaxAttempts(type);
  }

  release(type: string): void {
    this.reserved.set(type, (this.reserved.get(type) ?? 1) - 1);
  }

  private reservedTotal(): number {
    let total = 0;
    for (const count of this.reserved.values()) total += count;
    return total;
  }

  private defaultMaxAttempts(type: string): number {
    return this.registry.get(type)?.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** Runs a job claimed by its own insert, in its reserved slot; one that arrives while stopping is handed back. */
  async adopt(row: ClaimedJobRow): Promise<void> {
    this.release(row.type);
    const handler = this.registry.get(row.type);
    if (this.state === 'running' && handler) {
      this.track(new ActiveJob(row, handler));
      this.startWaiting();
      return;
    }
    await this.store.handBack([{ id: row.id, token: row.claim_token, started: false }]).catch((error: Error) => {
      this.logger.warn(`Handing back job ${row.id} failed; it will be recovered when its lease expires: ${error.message}`);
    });
  }

  /** Jobs this process may hold claimed: its slots plus those claimed ahead. */
  private get claimLimit(): number {
    return this.options.concurrency + this.claimAhead.total(this.registry.types);
  }

  private get refillAt(): number {
    return Math.max(1, Math.floor(this.claimLimit / 4));
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const { channels } = this.db;
    this.unsubscribe.push(
      this.listener.on(channels.newJobs, () => this.wake()),
      this.listener.onReconnect(() => this.wake()),
    );
    this.unsubscribeCancel = this.listener.on(channels.cancel, (id) => {
      this.cancelled.add(id);
      this.abortCancelled(id);
    });
    await this.listener.start();
    await this.declareSchedules();
    if (this.state !== 'running') return; // stopped while starting
    this.progress.start();
    this.leaseKeeper.start();
    this.rescuer.start();
    this.scheduler.start();
    this.serialQueues.start();
    this.pruner.start();
    this.schedulePoll();
    this.wake();
    void reportBoot(this.logger, this.store, this.registry, `Worker ${this.workerId} started (concurrency ${this.options.concurrency}).`);
  }

  /** First shutdown step, run while other modules are being destroyed: claim nothing more, hand back what has not started. */
  async stopClaiming(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    clearTimeout(this.pollTimer);
    this.unsubscribe.splice(0).forEach((off) => off());
    const deadline = (this.shutdownDeadline = Date.now() + this.options.shutdownTimeoutMs);
    await untilDeadline(
      Promise.all([this.rescuer.stop(), this.scheduler.stop(), this.serialQueues.stop(), this.pruner.stop(), this.claiming]),
      deadline,
    );
    const unstarted = this.waiting;
    this.waiting = [];
    unstarted.forEach((job) => this.untrack(job));
    if (unstarted.length === 0) return;
    await untilDeadline(
      this.store.handBack(unstarted.map((job) => ({ ...job.lease, started: false }))).then(
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
    if (this.state !== 'running') return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claimWhileCapacity().finally(() => (this.claiming = undefined));
  }

  private async claimWhileCapacity(): Promise<void> {
    do {
      // One turn of the event loop first: jobs finishing together free their slots before the claim is sized.
      await new Promise((resolve) => setImmediate(resolve));
      this.claimAgain = false;
      this.claimAhead.measure();
      const free = new Map(this.registry.types.map((type) => [type, this.typeClaimLimit(type) - this.claimedOf(type)]));
      const types = [...free.keys()].filter((type) => (free.get(type) as number) > 0);
      const capacity = this.capacity();
      if (this.state !== 'running') return;
      if (capacity <= 0 || types.length === 0) {
        this.leftBehind = true;
        return;
      }
      const perType = types.map((type) => Math.min(capacity, free.get(type) as number));
      let rows;
      this.claimRequested = capacity;
      try {
        rows = await this.store.claim(
          types,
          types.map((type) => this.defaultMaxAttempts(type)),
          perType,
          capacity,
          this.workerId,
          this.options.leaseMs,
        );
      } catch (error) {
        this.leftBehind = true;
        this.failures.failed('Claiming jobs', error);
        return;
      } finally {
        this.claimRequested = 0;
      }
      this.failures.succeeded();
      this.leftBehind = rows.length === capacity || types.length < free.size || filledAnyType(rows, types, perType);
      for (const row of rows) {
        const handler = this.registry.get(row.type);
        // A cancellation may overtake its job's claim: the job is cancelled in the database, nothing to run.
        if (handler && !this.cancelled.has(row.id)) this.track(new ActiveJob(row, handler));
      }
      this.startWaiting();
      if (rows.length === capacity) this.claimAgain = true;
    } while (this.claimAgain && this.state === 'running');
  }

  private track(job: ActiveJob): void {
    this.active.set(job.lease.id, job);
    this.waiting.push(job);
    this.activeByType.set(job.type, (this.activeByType.get(job.type) ?? 0) + 1);
  }

  /** Forgets a claimed job that leaves `active` (its caller has taken it out of `waiting` if it had not started). */
  private untrack(job: ActiveJob): void {
    this.active.delete(job.lease.id);
    this.activeByType.set(job.type, (this.activeByType.get(job.type) ?? 1) - 1);
  }

  /** Starts claimed jobs, in claim order, as far as the worker's and their handlers' concurrency allow. */
  private startWaiting(): void {
    if (this.state !== 'running') return;
    const skipped: ActiveJob[] = [];
    let next = 0;
    for (; next < this.waiting.length && this.running < this.options.concurrency; next++) {
      const job = this.waiting[next];
      if ((this.runningByType.get(job.type) ?? 0) >= this.typeConcurrency(job.type)) skipped.push(job);
      else this.startJob(job);
    }
    if (next > 0) this.waiting.splice(0, next, ...skipped);
  }

  private startJob(job: ActiveJob): void {
    job.started = true;
    this.running++;
    this.runningByType.set(job.type, (this.runningByType.get(job.type) ?? 0) + 1);
    this.claimAhead.started(job.type);
    // The slot frees as soon as the handler returns; the outcome is written meanwhile (and batched with others).
    // An aborted handler that has not returned keeps its slot: its outcome is written, the job is no longer ours.
    job.settled = this.runner
      .run(job, {
        outcomeReady: () => {
          this.untrack(job);
          this.settling.set(job.lease.id, job);
          this.overstaying++;
          this.overstayingByType.set(job.type, (this.overstayingByType.get(job.type) ?? 0) + 1);
        },
        returned: () => {
          this.overstaying--;
          this.overstayingByType.set(job.type, (this.overstayingByType.get(job.type) ?? 1) - 1);
          this.running--;
          this.runningByType.set(job.type, (this.runningByType.get(job.type) ?? 1) - 1);
          this.startWaiting();
          this.refill();
        },
      })
      .finally(() => {
        this.settling.delete(job.lease.id);
        this.refill();
      });
  }

  /**
   * After a job frees its slot, claims again only if jobs were left behind, and then in batches, not a claim per
   * finished job: once a quarter of what may be held is free, or when idle. Notifications and the poll floor still
   * claim for any free slot.
   */
  private refill(): void {
    if (this.leftBehind && (this.capacity() >= this.refillAt || this.active.size === 0)) this.wake();
  }

  /**
   * How many more jobs to claim: up to the slots plus those claimed ahead, while the outcomes still being written stay
   * under the same number again (a claim overlaps one round of writes; a database that falls behind slows claims).
   */
  private capacity(): number {
    const claimed = this.active.size + this.overstaying + this.reservedTotal();
    return Math.min(this.claimLimit - claimed, 2 * this.claimLimit - claimed - this.settling.size);
  }

  private abort(id: string, reason: Error): void {
    const job = this.active.get(id);
    if (!job) return;
    if (!job.started) {
      this.untrack(job);
      this.waiting = this.waiting.filter((waiting) => waiting !== job);
      this.wake();
    } else if (!job.finishing) job.abort(reason);
  }

  private abortCancelled(id: string): void {
    this.abort(id, new JobCancelledError(messages.jobCancelled()));
  }

  /** Upserts the schedules that handlers declare with `cron`; an unchanged one keeps its next slot. */
  private async declareSchedules(): Promise<void> {
    const scheduled = this.registry.scheduled;
    if (scheduled.length === 0) return;
    const now = await this.store.now();
    for (const { type, options } of scheduled) {
      const params = toScheduleParams(
        {
          name: type,
          cron: options.cron as string,
          type,
          payload: {},
          options: { timezone: options.timezone, catchUp: options.catchUp },
          declaredIn: 'code',
        },
        now,
        this.maxPayloadBytes,
      );
      await this.store.upsertSchedule(params);
    }
  }

  private leasesLost(ids: string[], cancelled: Set<string>): void {
    for (const id of ids) {
      const job = this.active.get(id) ?? this.settling.get(id);
      if (!job) continue;
      job.leaseLost = true;
      if (job.finishing) continue; // its outcome write raced the heartbeat; the write's fence decides
      if (cancelled.has(id)) {
        this.abortCancelled(id);
        continue;
      }
      this.logger.warn(`Lost the lease on job #${id} (${job.type}); aborting it here.`);
      this.abort(id, new LeaseLostError(messages.leaseLost()));
    }
  }

  /**
   * The leases the heartbeat extends: claimed jobs, and jobs whose outcome is being written until that write gives up.
   * A write that hangs must not keep the lease alive: past its deadline the job is left to the lease and the rescuer.
   */
  private leasesToKeep(): JobLease[] {
    const now = Date.now();
    const leases = [...this.active.values()].map((job) => job.lease);
    for (const job of this.settling.values()) if (job.writeDeadline === undefined || now < job.writeDeadline) leases.push(job.lease);
    return leases;
  }

  private claimedOf(type: string): number {
    return (this.reserved.get(type) ?? 0) + (this.activeByType.get(type) ?? 0) + (this.overstayingByType.get(type) ?? 0);
  }

  /** A type's slots plus the jobs of that type to claim ahead. */
  private typeClaimLimit(type: string): number {
    return this.typeConcurrency(type) + this.claimAhead.forType(type);
  }

  private typeConcurrency(type: string): number {
    return Math.min(this.options.concurrency, this.registry.get(type)?.options.concurrency ?? Infinity);
  }

  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      this.wake();
      if (this.state === 'running') this.schedulePoll();
    }, this.options.pollIntervalMs);
  }

  /**
   * The whole drain is bounded: running jobs get until the deadline, then their signals are aborted and they are handed
   * back; outcome writes stop retrying at the deadline, and the last writes get FINAL_WRITE_MS more. What could not be
   * written by then is left to the leases: another worker runs those jobs again once they expire (at-least-once).
   */
  private async drain(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      return;
    }
    await this.stopClaiming();
    // One deadline for the whole shutdown, counted from when claiming stopped (Nest's module destroy hook).
    const deadline = this.shutdownDeadline ?? Date.now() + this.options.shutdownTimeoutMs;
    const finalDeadline = deadline + FINAL_WRITE_MS;
    const settled = () => [...this.active.values(), ...this.settling.values()].map((job) => job.settled);
    if (this.active.size > 0)
      this.logger.log(
        `Shutting down: waiting up to ${Math.max(0, deadline - Date.now())} ms for ${this.active.size} running job(s) ${jobList(this.active.values())}.`,
      );
    await untilDeadline(Promise.all(settled()), deadline);
    this.runner.giveUpRetriesAt(deadline);
    const unfinished = [...this.active.values()].filter((job) => !job.finishing);
    if (unfinished.length > 0) {
      this.logger.warn(
        `Shutdown deadline (${this.options.shutdownTimeoutMs} ms) reached: aborting ${unfinished.length} job(s) ${jobList(unfinished)} ` +
          'and handing them back.',
      );
      const reason = new WorkerShutdownError(messages.shutdownDeadline(this.options.shutdownTimeoutMs));
      for (const job of unfinished) job.abort(reason);
    }
    await untilDeadline(Promise.all(settled()), finalDeadline);
    await untilDeadline(this.completer.idle(), finalDeadline);
    const unwritten = [...this.active.values(), ...this.settling.values()];
    if (unwritten.length > 0)
      this.logger.warn(
        `Shutdown: the outcome of ${unwritten.length} job(s) ${jobList(unwritten)} could not be written in time; they are left to ` +
          `their leases and will run again elsewhere once those expire (within ${this.options.leaseMs} ms).`,
      );
    // Heartbeats run until the last job has settled, so nobody rescues a job that is still running here.
    await untilDeadline(this.leaseKeeper.stop(), finalDeadline);
    await untilDeadline(this.progress.stop(), Math.max(finalDeadline, Date.now() + 100));
    this.unsubscribeCancel?.();
    this.state = 'stopped';
    this.logger.log(`Worker ${this.workerId} stopped.`);
  }
}

/** `#1, #2, #3` (at most ten ids, then a count), for log lines. */
function jobList(jobs: Iterable<ActiveJob>): string {
  const ids = [...jobs].map((job) => `#${job.lease.id}`);
  return ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
}

/** Whether a claim returned as many jobs of some type as it asked for: more of that type may be waiting. */
function filledAnyType(rows: ClaimedJobRow[], types: string[], perType: number[]): boolean {
  const claimed = new Map<string, number>();
  for (const row of rows) claimed.set(row.type, (claimed.get(row.type) ?? 0) + 1);
  return types.some((type, i) => (claimed.get(type) ?? 0) >= perType[i]);
}
