import type { ClaimedJobRow } from '../db/job-row';
import type { JobLease } from '../db/job-writes';
import type { JobHandlerDefinition } from '../discovery/job-handler.definition';

/**
 * Where a claimed job is, as seen by this process. It only moves forward:
 * - `waiting`: claimed, waiting for a slot of its type;
 * - `running`: its handler runs;
 * - `finishing`: the handler has settled (or was abandoned after an abort); only the outcome write remains;
 * - `leaseLost`: the heartbeat found the lease gone, while running or finishing: nothing more may be written about
 *   the job, and a write in flight is fenced out by the database. A handler that settles afterwards leaves it here.
 */
export type JobPhase = 'waiting' | 'running' | 'finishing' | 'leaseLost';

/** A job this process has claimed: waiting for a slot of its type, running, or writing its outcome. */
export class ActiveJob {
  readonly lease: JobLease;
  private current: JobPhase = 'waiting';
  /** When its outcome write stops being retried: past it, the heartbeat no longer keeps the lease alive. */
  writeDeadline?: number;
  /** Resolves once the job has run and its outcome is written (or given up on). */
  outcomeWritten?: Promise<void>;
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

  get phase(): JobPhase {
    return this.current;
  }

  /** It got a slot (the slot table starts it). */
  start(): void {
    if (this.current === 'waiting') this.current = 'running';
  }

  /** Its handler settled or was abandoned (the runner): the outcome is written next. */
  handlerSettled(): void {
    if (this.current === 'running') this.current = 'finishing';
  }

  /** The heartbeat found its lease gone (the worker pool). */
  loseLease(): void {
    if (this.current === 'running' || this.current === 'finishing') this.current = 'leaseLost';
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
