import type { TypeStats } from '../../interfaces';
import type { JobRow } from '../job-row';
import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';

/** One job type's unfinished jobs, as the metrics' gauges read them. */
export interface QueueGauge {
  type: string;
  pending: number;
  running: number;
  /** Seconds since the oldest due pending job was due; 0 when none is. */
  lagSeconds: number;
}

/** A row of the stats statement. */
interface TypeStatsRow {
  type: string;
  counts: TypeStats['counts'];
  paused: boolean;
  lag_ms: number | null;
  completed_last_minute: number;
  failed_last_minute: number;
}

/** Runs the reads and actions of the producer API (sql/admin-sql.ts): find, cancel, pause, counts, the clock. */
export class AdminStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  async find(ids: string[]): Promise<JobRow[]> {
    const { rows } = await this.statements.run<JobRow>(this.db.pool, this.db.sql.selectJobs, [ids]);
    return rows;
  }

  /** Returns the cancelled job, or undefined when it does not exist or had already ended. */
  async cancel(id: string): Promise<JobRow | undefined> {
    const { channels } = this.db;
    const { rows } = await this.statements.run<JobRow>(this.db.pool, this.db.sql.cancelJob, [
      id,
      channels.cancel,
      channels.events,
      channels.newJobs,
    ]);
    return rows[0];
  }

  /** The log lines stored for job `id`, oldest first. */
  async logs(id: string): Promise<Array<{ at: Date; attempt: number; message: string }>> {
    return (await this.statements.run<{ at: Date; attempt: number; message: string }>(this.db.pool, this.db.sql.selectLogs, [id])).rows;
  }

  /** The database's clock: schedules, delays and leases never use the app server's. */
  async now(): Promise<number> {
    const { rows } = await this.statements.run<{ now: Date }>(this.db.pool, this.db.sql.now);
    return rows[0].now.getTime();
  }

  async pause(type: string): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.pauseType, [type]);
  }

  async resume(type: string): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.resumeType, [type, this.db.channels.newJobs]);
  }

  /** Stores which job types this worker sends to a dead-letter type when they fail for good (`targets[i]` null: none). */
  async declareDeadLetters(types: string[], targets: Array<string | null>): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.declareDeadLetters, [types, targets]);
  }

  async isPaused(type: string): Promise<boolean> {
    const { rows } = await this.statements.run<{ paused: boolean }>(this.db.pool, this.db.sql.isPaused, [type]);
    return rows[0].paused;
  }

  /** With `timeoutMs`, PostgreSQL cancels the count after that long. */
  async stats(timeoutMs?: number): Promise<TypeStats[]> {
    const { sql } = this.db;
    const { rows } =
      timeoutMs === undefined
        ? await this.statements.run<TypeStatsRow>(this.db.pool, sql.stats)
        : await this.statements.transaction(async (query) => {
            await query(sql.boundRead, [timeoutMs]);
            return query<TypeStatsRow>(sql.stats);
          });
    return rows.map((row) => ({
      type: row.type,
      paused: row.paused,
      counts: row.counts,
      lagMs: row.lag_ms,
      completedLastMinute: row.completed_last_minute,
      failedLastMinute: row.failed_last_minute,
    }));
  }

  /** The metrics' gauges: unfinished jobs and lag per type (see queueGauges), bounded by `timeoutMs`. */
  async queueGauges(timeoutMs: number): Promise<QueueGauge[]> {
    const { sql } = this.db;
    const { rows } = await this.statements.transaction(async (query) => {
      await query(sql.boundRead, [timeoutMs]);
      return query<{ type: string; pending: number; running: number; lag_seconds: number }>(sql.queueGauges);
    });
    return rows.map((row) => ({ type: row.type, pending: row.pending, running: row.running, lagSeconds: row.lag_seconds }));
  }

  /** Jobs of `types` that are due and pending, or running (paused types left out). */
  async outstanding(types: string[]): Promise<number> {
    const { rows } = await this.statements.run<{ outstanding: number }>(this.db.pool, this.db.sql.outstandingJobs, [types]);
    return rows[0].outstanding;
  }

  /** Jobs of `types` that completed or failed at or after `since` (database time), oldest first. */
  async finishedSince(types: string[], since: Date): Promise<JobRow[]> {
    return (await this.statements.run<JobRow>(this.db.pool, this.db.sql.finishedSince, [types, since])).rows;
  }

  /** Types of pending jobs that are not among `types` (at most 20). */
  async pendingTypesOutside(types: string[]): Promise<string[]> {
    const { rows } = await this.statements.run<{ type: string }>(this.db.pool, this.db.sql.pendingTypesOutside, [types]);
    return rows.map((row) => row.type);
  }
}
