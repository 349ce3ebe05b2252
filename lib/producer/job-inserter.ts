import type { JobRow } from '../db/job-row';
import type { JobStore, NewJobRow } from '../db/job-store';
import { Batcher } from '../worker/batcher';
import { writeInserts, type InsertOutcome } from './insert-writer';

/**
 * Group commit for enqueues outside a caller's transaction: jobs enqueued while a statement is in flight go
 * together in the next one (one round trip, one commit, one NOTIFY). Each caller's promise settles once its row
 * is committed, with its own job or its own error.
 */
export class JobInserter {
  private readonly batcher: Batcher<NewJobRow, InsertOutcome>;

  constructor(store: JobStore) {
    this.batcher = new Batcher((jobs) => writeInserts(store, jobs));
  }

  async insert(job: NewJobRow): Promise<JobRow> {
    const outcome = await this.batcher.add(job);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /** Resolves once every job handed in so far is written or has failed. */
  idle(): Promise<void> {
    return this.batcher.idle();
  }
}
