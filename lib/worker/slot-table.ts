import type { JobLease } from '../db/job-writes';
import type { HandlerRegistry } from '../discovery/handler-registry';
import type { ActiveJob } from './active-job';

/**
 * Who holds this worker's slots, and the counts the capacity rules read: claimed jobs (waiting for a slot or
 * running), jobs whose outcome is being written, handlers that have not returned yet, reservations for jobs this
 * process is enqueueing, and the claim in flight. A job moves through it in one order: claimed (`track`), started
 * (`nextToStart`), outcome ready (`outcomeReady`), handler returned (`returned`), outcome written (`settled`).
 */
export class SlotTable {
  /** Claimed jobs waiting for a slot or running. */
  readonly active = new Map<string, ActiveJob>();
  /** Jobs whose handler has settled, while their outcome is written: no longer holding a slot. */
  readonly settling = new Map<string, ActiveJob>();
  /** The claimed jobs not started yet, in claim order. */
  private waiting: ActiveJob[] = [];
  /** Claimed jobs (waiting or running) of each type. */
  private readonly activeByType = new Map<string, number>();
  private readonly runningByType = new Map<string, number>();
  private running = 0;
  /** Jobs out of `active` whose handler has not returned (for a moment, or ignoring its aborted signal): slots still taken. */
  private readonly overstayingByType = new Map<string, number>();
  private overstaying = 0;
  /** Slots held for jobs this process is enqueueing and may claim in the insert (see WorkerPool.reserve). */
  private readonly reserved = new Map<string, number>();
  /** Jobs the claim in flight asked for. */
  claimRequested = 0;

  constructor(
    private readonly concurrency: number,
    private readonly registry: HandlerRegistry,
  ) {}

  /** Slots taken or promised: claimed jobs, handlers that have not returned, reservations. */
  get taken(): number {
    return this.active.size + this.overstaying + this.reservedTotal();
  }

  /** Reserves a slot for a job of `type` if one is free now: not taken, not reserved, not asked for by the claim in flight. */
  reserve(type: string): boolean {
    if (this.taken + this.claimRequested >= this.concurrency) return false;
    if (this.claimedOf(type) >= this.typeConcurrency(type)) return false;
    this.reserved.set(type, (this.reserved.get(type) ?? 0) + 1);
    return true;
  }

  release(type: string): void {
    this.reserved.set(type, (this.reserved.get(type) ?? 1) - 1);
  }

  /** A job this worker claimed: it waits for a slot. */
  track(job: ActiveJob): void {
    this.active.set(job.lease.id, job);
    this.waiting.push(job);
    this.activeByType.set(job.type, (this.activeByType.get(job.type) ?? 0) + 1);
  }

  /** A claimed job that never started (aborted, or handed back at shutdown) leaves the table. */
  dropUnstarted(job: ActiveJob): void {
    this.untrack(job);
    this.waiting = this.waiting.filter((waiting) => waiting !== job);
  }

  /** Every claimed job not started yet, taken out of the table (shutdown hands them back). */
  takeUnstarted(): ActiveJob[] {
    const unstarted = this.waiting;
    this.waiting = [];
    unstarted.forEach((job) => this.untrack(job));
    return unstarted;
  }

  /**
   * The waiting jobs that may start now, in claim order, as far as the worker's and their handlers' concurrency
   * allow; each is counted as running.
   */
  nextToStart(): ActiveJob[] {
    const starting: ActiveJob[] = [];
    const skipped: ActiveJob[] = [];
    let next = 0;
    for (; next < this.waiting.length && this.running < this.concurrency; next++) {
      const job = this.waiting[next];
      if ((this.runningByType.get(job.type) ?? 0) >= this.typeConcurrency(job.type)) {
        skipped.push(job);
        continue;
      }
      job.start();
      this.running++;
      this.runningByType.set(job.type, (this.runningByType.get(job.type) ?? 0) + 1);
      starting.push(job);
    }
    if (next > 0) this.waiting.splice(0, next, ...skipped);
    return starting;
  }

  /** The handler settled or was aborted: the job's outcome is written now; its slot stays taken until `returned`. */
  outcomeReady(job: ActiveJob): void {
    this.untrack(job);
    this.settling.set(job.lease.id, job);
    this.overstaying++;
    this.overstayingByType.set(job.type, (this.overstayingByType.get(job.type) ?? 0) + 1);
  }

  /** The handler's code has returned: its slot is free. */
  returned(job: ActiveJob): void {
    this.overstaying--;
    this.overstayingByType.set(job.type, (this.overstayingByType.get(job.type) ?? 1) - 1);
    this.running--;
    this.runningByType.set(job.type, (this.runningByType.get(job.type) ?? 1) - 1);
  }

  /** The job's outcome is written (or given up on). */
  settled(job: ActiveJob): void {
    this.settling.delete(job.lease.id);
  }

  /**
   * The leases the heartbeat extends: claimed jobs, and jobs whose outcome is being written until that write gives up.
   * A write that hangs must not keep the lease alive: past its deadline the job is left to the lease and the rescuer.
   */
  leasesToKeep(now: number): JobLease[] {
    const leases = [...this.active.values()].map((job) => job.lease);
    for (const job of this.settling.values()) if (job.writeDeadline === undefined || now < job.writeDeadline) leases.push(job.lease);
    return leases;
  }

  /**
   * How many more jobs to claim: up to `holdLimit` (the slots plus those prefetched), while the outcomes still
   * being written stay under the same number again (a claim overlaps one round of writes; a database that falls behind
   * slows claims).
   */
  capacity(holdLimit: number): number {
    const claimed = this.taken;
    return Math.min(holdLimit - claimed, 2 * holdLimit - claimed - this.settling.size);
  }

  /** Jobs of `type` claimed, reserved or still running after their outcome: what counts against its limit. */
  claimedOf(type: string): number {
    return (this.reserved.get(type) ?? 0) + (this.activeByType.get(type) ?? 0) + (this.overstayingByType.get(type) ?? 0);
  }

  typeConcurrency(type: string): number {
    return Math.min(this.concurrency, this.registry.get(type)?.options.concurrency ?? Infinity);
  }

  private untrack(job: ActiveJob): void {
    this.active.delete(job.lease.id);
    this.activeByType.set(job.type, (this.activeByType.get(job.type) ?? 1) - 1);
  }

  private reservedTotal(): number {
    let total = 0;
    for (const count of this.reserved.values()) total += count;
    return total;
  }
}
