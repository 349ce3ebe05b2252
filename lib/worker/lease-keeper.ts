import type { ClaimStore } from '../db/stores/claim-store';
import type { JobLease } from '../db/job-writes';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { PeriodicTask } from '../services/periodic-task';

/**
 * Heartbeat: one statement extends the leases of every job this process holds. A job whose lease was not
 * extended (token gone: cancelled, rescued, re-claimed) is reported lost. The lease is judged on this process's
 * own timer: when no heartbeat has succeeded for most of a lease (failing, or hanging on a dead network), every
 * job is reported lost before the database lease runs out, since another worker may soon recover them.
 */
export class LeaseKeeper implements BackgroundService {
  readonly name = 'Heartbeat';
  private readonly heartbeat: PeriodicTask;
  private readonly intervalMs: number;
  private lastExtendedAt = Date.now();

  constructor(
    private readonly store: ClaimStore,
    private readonly leaseMs: number,
    private readonly currentLeases: () => JobLease[],
    /** Jobs whose lease is gone; `cancelled` names those of them that were cancelled. */
    private readonly onLost: (ids: string[], cancelled: Set<string>) => void,
    private readonly failures: FailureLog,
  ) {
    this.intervalMs = Math.max(100, Math.floor(leaseMs / 3));
    this.heartbeat = new PeriodicTask(() => this.extend(), this.intervalMs);
  }

  /** How long since the last heartbeat that kept every lease (or found none to keep). */
  get sinceLastBeatMs(): number {
    return Date.now() - this.lastExtendedAt;
  }

  /** Past this, the heartbeat is late: it runs every third of a lease. */
  get lateAfterMs(): number {
    return this.intervalMs * 3;
  }

  start(): void {
    this.lastExtendedAt = Date.now();
    this.heartbeat.start();
  }

  stop(): Promise<void> {
    return this.heartbeat.stop();
  }

  private async extend(): Promise<void> {
    const leases = this.currentLeases();
    const startedAt = Date.now();
    if (leases.length === 0) {
      this.lastExtendedAt = startedAt;
      return;
    }
    try {
      const held = await this.store.extendLeases(leases, this.leaseMs, this.intervalMs);
      this.lastExtendedAt = startedAt;
      this.failures.succeeded();
      const lost = leases.filter((lease) => !held.has(lease.id)).map((lease) => lease.id);
      if (lost.length > 0) this.onLost(lost, await this.cancelledAmong(lost));
    } catch (error) {
      this.failures.failed(this.name, error);
      if (Date.now() - this.lastExtendedAt >= this.leaseMs * 0.8)
        this.onLost(
          leases.map((lease) => lease.id),
          new Set(),
        );
    }
  }

  /**
   * A cancelled job also loses its lease. The cancel notification usually aborts it first, but it can be missed
   * (behind a transaction pooler, or while the listener reconnects): the handler must still learn it was cancelled.
   */
  private async cancelledAmong(ids: string[]): Promise<Set<string>> {
    try {
      return await this.store.cancelledAmong(ids, this.intervalMs);
    } catch {
      return new Set();
    }
  }
}
