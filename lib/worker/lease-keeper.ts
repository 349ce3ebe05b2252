import type { Logger } from '@nestjs/common';
import type { JobLease, JobStore } from '../db/job-store';
import { PeriodicTask } from './periodic-task';

/**
 * Heartbeat: one statement extends the leases of every job this process holds. A job whose lease was not
 * extended (token gone: cancelled, rescued, re-claimed) is reported lost. When heartbeats keep failing for a
 * whole lease, every job is reported lost: another worker may already have recovered them.
 */
export class LeaseKeeper {
  private readonly heartbeat: PeriodicTask;
  private lastExtendedAt = Date.now();

  constructor(
    private readonly store: JobStore,
    private readonly leaseMs: number,
    private readonly currentLeases: () => JobLease[],
    private readonly onLost: (ids: string[]) => void,
    private readonly logger: Logger,
  ) {
    this.heartbeat = new PeriodicTask(() => this.extend(), Math.max(100, Math.floor(leaseMs / 3)));
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
      const held = await this.store.extendLeases(leases, this.leaseMs);
      this.lastExtendedAt = startedAt;
      const lost = leases.filter((lease) => !held.has(lease.id)).map((lease) => lease.id);
      if (lost.length > 0) this.onLost(lost);
    } catch (error) {
      this.logger.warn(`Heartbeat failed: ${(error as Error).message}`);
      if (Date.now() - this.lastExtendedAt >= this.leaseMs) this.onLost(leases.map((lease) => lease.id));
    }
  }
}
