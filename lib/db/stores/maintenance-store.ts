import type { TraceCarrier } from '../job-writes';
import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';

/** How long finished jobs of each status are kept, in milliseconds. */
export interface RetentionWindow {
  completedMs: number;
  failedMs: number;
  cancelledMs: number;
}

/** A job whose lease expired, back to pending or failed for good. */
export interface RescuedJob {
  id: string;
  status: 'pending' | 'failed';
  type: string;
  attempts: number;
  max_attempts: number;
  trace_context: TraceCarrier | null;
}

/** Runs the background services' statements (sql/maintenance-sql.ts): rescue, serial-queue upkeep, pruning. */
export class MaintenanceStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  /** Takes back up to `limit` jobs whose lease expired: retried, or failed when that was their last attempt. */
  async rescueExpired(limit: number, error: string): Promise<RescuedJob[]> {
    const { channels } = this.db;
    const { rows } = await this.statements.run<RescuedJob>(this.db.control, this.db.sql.rescueExpiredJobs, [
      limit,
      error,
      channels.newJobs,
      channels.events,
    ]);
    return rows;
  }

  /** Marks up to `limit` jobs waiting behind a held serial queue as blocked; returns how many. */
  async blockJobsBehindHolders(limit: number): Promise<number> {
    const { rowCount } = await this.statements.run(this.db.control, this.db.sql.blockJobsBehindHolders, [limit]);
    return rowCount ?? 0;
  }

  /** Unblocks the head of up to `limit` free serial queues whose head is blocked; returns how many. */
  async unblockStalledQueues(limit: number): Promise<number> {
    const { rowCount } = await this.statements.run(this.db.control, this.db.sql.unblockStalledQueues, [limit, this.db.channels.newJobs]);
    return rowCount ?? 0;
  }

  /** Deletes up to `limit` finished jobs of each status that outlived its retention; returns how many. */
  async pruneFinished(retention: RetentionWindow, limit: number): Promise<number> {
    const values = [retention.completedMs, retention.failedMs, retention.cancelledMs, limit];
    const { rows } = await this.statements.run<{ pruned: number }>(this.db.pool, this.db.sql.pruneFinishedJobs, values);
    return rows[0].pruned;
  }
}
