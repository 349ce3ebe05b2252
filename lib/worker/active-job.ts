import type { ClaimedJobRow } from '../db/job-row';
import type { JobLease } from '../db/job-store';
import type { JobHandlerDefinition } from '../discovery/job-handler.definition';

/** A job this process has claimed: waiting for a slot of its type, running, or writing its outcome. */
export class ActiveJob {
  readonly controller = new AbortController();
  readonly lease: JobLease;
  started = false;
  /** The handler has settled; only the outcome write remains. */
  finishing = false;
  /** The heartbeat found the lease gone: nothing more may be written about this job. */
  leaseLost = false;
  settled?: Promise<void>;

  constructor(
    readonly row: ClaimedJobRow,
    readonly handler: JobHandlerDefinition,
  ) {
    this.lease = { id: row.id, token: row.claim_token };
  }

  get type(): string {
    return this.row.type;
  }
}
