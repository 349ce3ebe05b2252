import type { QueryResult, QueryResultRow } from 'pg';
import type { JobRow } from '../job-row';
import type { JobSelection } from '../job-selection';
import { isDeadlock, isJobKeyConflict } from '../pg-errors';
import type { QueueDatabase } from '../queue-database';
import type { ActionBatch, BuiltStatement, RetryWrite } from '../sql/operations-sql';
import type { StatementRunner } from '../statement-runner';

/** Jobs an action statement locks and changes at most: short enough that workers never wait long for its locks. */
export const ACTION_BATCH_SIZE = 500;

/** What one batch of an action saw and did. */
interface BatchOutcome {
  scanned: number;
  last_id: string | null;
  changed: number;
}

/** Runs the listings, counts and actions of the operating API (sql/operations-sql.ts). */
export class OperationsStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  /** Up to `limit + 1` jobs, newest first: the one past `limit` says that another page follows. */
  async list(selection: JobSelection, page: { afterId?: string; limit: number }, timeoutMs?: number): Promise<JobRow[]> {
    return (await this.planned<JobRow>(this.db.operations.listJobs(selection, page), timeoutMs)).rows;
  }

  async count(selection: JobSelection, timeoutMs?: number): Promise<number> {
    const { rows } = await this.planned<{ count: string }>(this.db.operations.countJobs(selection), timeoutMs);
    return Number(rows[0].count);
  }

  /** Runs a listing or a count planned for its values (see planForValues), cancelled by PostgreSQL after `timeoutMs`. */
  private planned<R extends QueryResultRow>({ text, values }: BuiltStatement, timeoutMs?: number): Promise<QueryResult<R>> {
    return this.statements.transaction(async (query) => {
      await query(this.db.operations.planForValues, [timeoutMs ?? null]);
      return query<R>(text, values);
    });
  }

  /** The promoted job, or undefined when it was not a delayed pending job. */
  async promote(id: string): Promise<JobRow | undefined> {
    const { channels } = this.db;
    const { rows } = await this.statements.run<JobRow>(this.db.pool, this.db.operations.promoteJob, [
      id,
      channels.newJobs,
      channels.events,
    ]);
    return rows[0];
  }

  retry(selection: JobSelection, write: RetryWrite, batchSize = ACTION_BATCH_SIZE): Promise<number> {
    return this.inBatches(batchSize, (at) => this.db.operations.retryJobs(selection, write, at));
  }

  cancel(selection: JobSelection, batchSize = ACTION_BATCH_SIZE): Promise<number> {
    return this.inBatches(batchSize, (at) => this.db.operations.cancelJobs(selection, at));
  }

  remove(selection: JobSelection, batchSize = ACTION_BATCH_SIZE): Promise<number> {
    return this.inBatches(batchSize, (at) => this.db.operations.removeJobs(selection, at));
  }

  /**
   * One statement per batch, each its own transaction, in id order from where the last one stopped, until a batch
   * finds fewer jobs than it could take. Returns how many jobs were changed in all.
   */
  private async inBatches(size: number, build: (at: ActionBatch) => BuiltStatement): Promise<number> {
    let changed = 0;
    let afterId: string | undefined;
    for (;;) {
      const outcome = await this.runBatch(build({ afterId, size, channels: this.db.channels }));
      changed += outcome.changed;
      if (outcome.scanned < size || outcome.last_id === null) return changed;
      afterId = outcome.last_id;
    }
  }

  private async runBatch({ text, values }: BuiltStatement): Promise<BatchOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.statements.run<BatchOutcome>(this.db.pool, text, values)).rows[0];
      } catch (error) {
        // An enqueue took a retried job's key after the batch looked (the batch, run again, leaves that job), or a
        // worker's write locked a serial queue's next job while this batch waited for its running one: each batch is
        // its own transaction, so running it again is safe.
        if (!(isJobKeyConflict(error) || isDeadlock(error)) || attempt === 3) throw error;
      }
    }
  }
}
