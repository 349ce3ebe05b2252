import type { TransactionClient } from '../../interfaces';
import { newRow, type InsertedRow, type JobRow } from '../job-row';
import type { NewJobRow, TraceCarrier } from '../job-writes';
import { jobsDocument } from '../jobs-document';
import type { QueueDatabase } from '../queue-database';
import { repeatedTimestamps } from '../repeated-timestamps';
import type { StatementRunner } from '../statement-runner';
import { queryInTransaction } from '../transaction-clients';
import { compareIds } from './lease-order';

/** Which worker may claim jobs as they are inserted (see insertPlainJobsClaiming). */
export interface ClaimInInsert {
  /** Per job: its handler's default max attempts when this worker has reserved a slot for it, else null. */
  claimMaxAttempts: Array<number | null>;
  workerId: string;
  leaseMs: number;
  /** The job types the worker handles. */
  types: string[];
}

/** A row as the claiming insert returns it: a claimed one carries its claim token. */
export type MaybeClaimedRow = JobRow & { claim_token: string | null; trace_context: TraceCarrier | null };

/** Runs the inserts (sql/insert-sql.ts): on the module's pool, or inside a caller's transaction (../transaction-clients.ts). */
export class InsertStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  /** Inserts jobs and returns one row per input, in input order. */
  insert(jobs: NewJobRow[], client?: TransactionClient): Promise<JobRow[]> {
    return jobs.every((job) => job.jobKey === null && job.queue === null) ? this.insertPlain(jobs, client) : this.insertAny(jobs, client);
  }

  /** Jobs without key or queue are always new rows: only their ids and times come back from the database. */
  private async insertPlain(jobs: NewJobRow[], client?: TransactionClient): Promise<JobRow[]> {
    const { sql } = this.db;
    const values = [jobsDocument(jobs)];
    const { rows } = client
      ? await queryInTransaction<InsertedRow>(client, sql.insertPlainJobs, values)
      : await this.statements.run<InsertedRow>(this.db.pool, {
          ...this.statements.prepared(sql.insertPlainJobs, values),
          types: repeatedTimestamps,
        });
    rows.sort((a, b) => compareIds(a.id, b.id)); // ids were given in input order
    return jobs.map((job, i) => newRow(job, rows[i]));
  }

  /** Jobs without key or queue, some of which the worker claims as they are inserted. Whole rows, in input order. */
  async insertClaiming(jobs: NewJobRow[], claim: ClaimInInsert): Promise<MaybeClaimedRow[]> {
    const values = [jobsDocument(jobs, claim.claimMaxAttempts), claim.workerId, claim.leaseMs, claim.types];
    const { rows } = await this.statements.run<MaybeClaimedRow>(this.db.pool, {
      ...this.statements.prepared(this.db.sql.insertPlainJobsClaiming, values),
      types: repeatedTimestamps,
    });
    return rows.sort((a, b) => compareIds(a.id, b.id)); // ids were given in input order
  }

  /**
   * Any job, with keys and serial queues. A keyed job may meet the job holding its key, so whole rows come back.
   * A `replace` that met a job being claimed at that instant comes back empty from the statement; it is tried again,
   * then finds the job running and queues anew.
   */
  private async insertAny(jobs: NewJobRow[], client?: TransactionClient): Promise<JobRow[]> {
    const { sql } = this.db;
    const results = new Array<JobRow | undefined>(jobs.length);
    let remaining = jobs.map((job, index) => ({ job, index }));
    for (let round = 0; remaining.length > 0; round++) {
      if (round === 10) throw new Error(`Enqueue of ${remaining.length} replace-mode job(s) kept racing with claims; giving up.`);
      const values = [jobsDocument(remaining.map((r) => r.job))];
      // A caller's client is the application's connection: no statement of ours is left prepared on it.
      const { rows } = client
        ? await queryInTransaction<JobRow>(client, sql.insertJobs, values)
        : await this.statements.run<JobRow>(this.db.pool, this.statements.prepared(sql.insertJobs, values));
      // Keyed rows are matched by key (unique in a batch); unkeyed ones were inserted in input order.
      const byKey = new Map(rows.filter((row) => row.job_key !== null).map((row) => [row.job_key, row]));
      const unkeyed = rows.filter((row) => row.job_key === null).sort((a, b) => compareIds(a.id, b.id));
      const missing: typeof remaining = [];
      for (const entry of remaining) {
        const row = entry.job.jobKey === null ? unkeyed.shift() : byKey.get(entry.job.jobKey);
        if (row) results[entry.index] = row;
        else missing.push(entry);
      }
      remaining = missing;
    }
    return results as JobRow[];
  }
}
