import type { QueueLogger } from '../services/queue-logger';
import { JobCancelledError, LeaseLostError } from '../errors';
import { messages } from '../errors/messages';
import { RecentIds } from './recent-ids';
import type { SlotTable } from './slot-table';

/**
 * Stops jobs this worker holds that are no longer its own: cancelled ones (heard on the cancel channel, or found by
 * the heartbeat) and those whose lease was lost. An unstarted job is dropped; a running one has its signal aborted.
 */
export class JobAborts {
  /** Claims cancelled while they ran, by token: a cancellation may overtake the claim it concerns. */
  private readonly cancelledClaims = new RecentIds();

  constructor(
    private readonly slots: SlotTable,
    private readonly logger: QueueLogger,
    private readonly wake: () => void,
  ) {}

  /**
   * A cancel notification: `id:token` of a job cancelled while it ran. By token, not id: a cancelled job can be
   * retried and claimed again, and that claim must run.
   */
  heardCancellation(payload: string): void {
    const [id, token] = payload.split(':');
    if (token) this.cancelledClaims.add(token);
    this.abort(id, new JobCancelledError(messages.jobCancelled()), token);
  }

  /** Whether a claim was cancelled before this worker saw it: nothing to run. */
  wasCancelled(claimToken: string): boolean {
    return this.cancelledClaims.has(claimToken);
  }

  /** The heartbeat found these leases gone; `cancelled` are those of them that were cancelled. */
  leasesLost(ids: string[], cancelled: Set<string>): void {
    for (const id of ids) {
      const job = this.slots.active.get(id) ?? this.slots.settling.get(id);
      if (!job) continue;
      // An outcome write raced the heartbeat: the write's fence decides; it is no longer retried.
      if (job.phase === 'finishing' || job.phase === 'leaseLost') {
        job.loseLease();
        continue;
      }
      if (cancelled.has(id)) this.abort(id, new JobCancelledError(messages.jobCancelled()));
      else {
        this.logger.warn(`Lost the lease on job #${id} (${job.type}); aborting it here.`);
        this.abort(id, new LeaseLostError(messages.leaseLost()));
      }
      job.loseLease();
    }
  }

  /** Aborts the job `id` this worker holds (only under claim `token`, when given). */
  private abort(id: string, reason: Error, token?: string): void {
    const job = this.slots.active.get(id);
    if (!job || (token !== undefined && job.lease.token !== token)) return;
    if (job.phase === 'waiting') {
      this.slots.dropUnstarted(job);
      this.wake();
    } else if (job.phase === 'running') job.abort(reason);
  }
}
