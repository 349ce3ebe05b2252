import type { ClaimedJobRow } from '../job-row';
import type { JobLease } from '../job-writes';
import type { QueueDatabase } from '../queue-database';
import { repeatedTimestamps } from '../repeated-timestamps';
import type { StatementRunner } from '../statement-runner';
import { byId, idsOf, tokensOf } from './lease-order';

/** One claim: up to `limit` jobs, at most `perType[i]` of `types[i]`. */
export interface ClaimRequest {
  types: string[];
  /** Per type: its handler's default max attempts, for jobs enqueued without one. */
  defaultMaxAttempts: number[];
  perType: number[];
  limit: number;
  workerId: string;
  leaseMs: number;
}

/** Runs what a worker does to hold jobs (sql/claim-sql.ts): claim them, keep their leases, hear of cancellations. */
export class ClaimStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  async claim({ types, defaultMaxAttempts, perType, limit, workerId, leaseMs }: ClaimRequest): Promise<ClaimedJobRow[]> {
    const values = [types, defaultMaxAttempts, limit, workerId, leaseMs, this.db.channels.events, perType];
    const { rows } = await this.statements.run<ClaimedJobRow>(this.db.pool, {
      ...this.statements.prepared(this.db.sql.claimJobs, values),
      types: repeatedTimestamps,
    });
    return rows;
  }

  /** Returns the ids whose leases were extended; the others are no longer this worker's. Bounded by `timeoutMs`. */
  async extendLeases(leases: JobLease[], leaseMs: number, timeoutMs: number): Promise<Set<string>> {
    leases = byId(leases);
    const { rows } = await this.statements.run<{ id: string }>(
      this.db.control,
      this.statements.prepared(this.db.sql.extendLeases, [idsOf(leases), tokensOf(leases), leaseMs]),
      undefined,
      timeoutMs,
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Which of these jobs were cancelled. */
  async cancelledAmong(jobIds: string[], timeoutMs: number): Promise<Set<string>> {
    const { rows } = await this.statements.run<{ id: string }>(this.db.control, this.db.sql.selectCancelled, [jobIds], timeoutMs);
    return new Set(rows.map((row) => row.id));
  }
}
