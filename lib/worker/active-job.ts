import type { ClaimedJobRow } from '../db/job-row';
import type { JobLease } from '../db/job-writes';
import type { JobHandlerDefinition } from '../discovery/job-handler.definition';

/** A job this process has claimed: waiting for a slot of its type, running, or writing its outcome. */
export class ActiveJob {
  readonly lease: JobLease;
  started = false;
  /** The handler has settled; only the outcome write remains. */
  finishing = false;
  /** When its outcome write stops being retried: past it, the heartbeat no longer keeps the lease alive. */
  writeDeadline?: number;
  /** The heartbeat found the lease gone: nothing more may be written about this job. */
  leaseLost = false;
  settled?: Promise<void>;
  /** Called when the job is aborted; the runner uses it to stop waiting for the handler. */
  onAbort?: (reason: unknown) => void;
  // Created on the first read of `signal`: most handlers never read it, and an AbortController is not free.
  private controller?: AbortController;
  private abortedWith?: { reason: unknown };

  constructor(
    readonly row: ClaimedJobRow,
    readonly handler: JobHandlerDefinition,
  ) {
    this.lease = { id: row.id, token: row.claim_token };
  }

  get type(): string {
    return this.row.type;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** Why the job was aborted (timeout, cancellation, lost lease, shutdown deadline), if it was. */
  get abortReason(): unknown {
    return this.abortedWith?.reason;
  }

  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
    this.onAbort?.(reason);
  }
}
