import type { ClaimedJobRow, JobRow } from '../db/job-row';
import type { InsertStore } from '../db/stores/insert-store';
import type { NewJobRow } from '../db/job-writes';
import { Batcher } from '../services/batcher';
import { writeInserts, type InsertOutcome, type PendingInsert } from './insert-writer';
import type { SlotLender } from './slot-lender';

/**
 * Group commit for enqueues outside a caller's transaction: jobs enqueued while a statement is in flight go
 * together in the next one (one round trip, one commit, one NOTIFY). Each caller's promise settles once its row
 * is committed, with its own job or its own error. A job this application's worker has a free slot for is claimed
 * in the same statement when nothing else is waiting for that slot (see insertPlainJobsClaiming).
 */
export class JobInserter {
  private readonly batcher: Batcher<PendingInsert, InsertOutcome>;

  constructor(
    store: InsertStore,
    /** This application's worker, when it runs one. */
    private readonly lender: SlotLender | null,
  ) {
    this.batcher = new Batcher(async (inserts) => {
      let outcomes: InsertOutcome[] = [];
      try {
        outcomes = await writeInserts(store, inserts);
        return outcomes;
      } finally {
        // Only a job claimed in its insert has anything to wait for: no promise per enqueue otherwise.
        await Promise.all(inserts.flatMap((insert, i) => settleReservation(insert, outcomes[i]) ?? []));
      }
    });
  }

  async insert(job: NewJobRow): Promise<JobRow> {
    const lender = job.queue === null && job.runAt === null && !job.delayMs ? this.lender : null;
    const claimMaxAttempts = lender?.reserve(job.type) ?? null;
    const outcome = await this.batcher.add({
      job,
      claimMaxAttempts,
      lender: claimMaxAttempts === null ? undefined : (lender ?? undefined),
    });
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /** Resolves once every job handed in so far is written or has failed. */
  idle(): Promise<void> {
    return this.batcher.idle();
  }
}

/** A reserved slot is either filled by the job claimed as it was inserted (its adoption), or given back. */
function settleReservation({ job, lender }: PendingInsert, outcome: InsertOutcome | undefined): Promise<void> | undefined {
  if (!lender) return undefined;
  if (outcome && !(outcome instanceof Error) && outcome.status === 'running' && outcome.claim_token)
    return lender.adopt(outcome as unknown as ClaimedJobRow); // the claiming insert returns what a claim does
  lender.release(job.type);
  return undefined;
}
