import type { ClientBase } from 'pg';
import type { ClaimedJobRow, JobRow } from './job-row';
import type { QueueDatabase } from './queue-database';

/** A job ready for insertion: validated, payload already JSON text. */
export interface NewJobRow {
  type: string;
  payload: string;
  priority: number;
  maxAttempts: number | null;
  runAt: Date | null;
  delayMs: number | null;
}

/** A fenced reference to a job this worker claimed. */
export interface JobLease {
  id: string;
  token: string;
}

export interface Completion extends JobLease {
  result: string;
  stage: string | null;
}

export interface ProgressUpdate extends JobLease {
  percent: number;
  stage: string | null;
}

export interface Failure extends JobLease {
  error: string;
  retryDelayMs: number;
  progress: number;
  stage: string | null;
}

/** Runs the statements of queue-sql.ts with their parameters. */
export class JobStore {
  constructor(private readonly db: QueueDatabase) {}

  private get sql() {
    return this.db.sql;
  }

  private get channels() {
    return this.db.channels;
  }

  async insert(jobs: NewJobRow[], client?: ClientBase): Promise<JobRow[]> {
    const { rows } = await (client ?? this.db.pool).query<JobRow>(this.sql.insertJobs, [
      jobs.map((j) => j.type),
      jobs.map((j) => j.payload),
      jobs.map((j) => j.priority),
      jobs.map((j) => j.maxAttempts),
      jobs.map((j) => j.runAt),
      jobs.map((j) => j.delayMs),
    ]);
    return rows.sort((a, b) => compareIds(a.id, b.id));
  }

  async find(ids: string[]): Promise<JobRow[]> {
    const { rows } = await this.db.pool.query<JobRow>(this.sql.selectJobs, [ids]);
    return rows;
  }

  /** Returns the cancelled job, or undefined when it does not exist or had already ended. */
  async cancel(id: string): Promise<JobRow | undefined> {
    const { rows } = await this.db.pool.query<JobRow>(this.sql.cancelJob, [id, this.channels.cancel, this.channels.events]);
    return rows[0];
  }

  async claim(types: string[], defaultMaxAttempts: number[], limit: number, workerId: string, leaseMs: number): Promise<ClaimedJobRow[]> {
    const { rows } = await this.db.pool.query<ClaimedJobRow>(this.sql.claimJobs, [
      types,
      defaultMaxAttempts,
      limit,
      workerId,
      leaseMs,
      this.channels.events,
    ]);
    return rows;
  }

  /** Returns the ids whose leases were extended; the others are no longer this worker's. */
  async extendLeases(leases: JobLease[], leaseMs: number): Promise<Set<string>> {
    const { rows } = await this.db.pool.query<{ id: string }>(this.sql.extendLeases, [ids(leases), tokens(leases), leaseMs]);
    return new Set(rows.map((row) => row.id));
  }

  async saveProgress(updates: ProgressUpdate[]): Promise<void> {
    await this.db.pool.query(this.sql.saveProgress, [
      ids(updates),
      tokens(updates),
      updates.map((u) => u.percent),
      updates.map((u) => u.stage),
      this.channels.events,
    ]);
  }

  /** Returns the ids whose completion was accepted. */
  async complete(completions: Completion[]): Promise<Set<string>> {
    const { rows } = await this.db.pool.query<{ id: string }>(this.sql.completeJobs, [
      ids(completions),
      tokens(completions),
      completions.map((c) => c.result),
      completions.map((c) => c.stage),
      this.channels.events,
    ]);
    return new Set(rows.map((row) => row.id));
  }

  /** Returns the job's new status, or undefined when the write was fenced off. */
  async fail(failure: Failure): Promise<'pending' | 'failed' | undefined> {
    const { rows } = await this.db.pool.query<{ status: 'pending' | 'failed' }>(this.sql.failJob, [
      failure.id,
      failure.token,
      failure.error,
      failure.retryDelayMs,
      failure.progress,
      failure.stage,
      this.channels.events,
    ]);
    return rows[0]?.status;
  }

  async handBack(leases: JobLease[]): Promise<string[]> {
    if (leases.length === 0) return [];
    const { rows } = await this.db.pool.query<{ id: string }>(this.sql.handBackJobs, [
      ids(leases),
      tokens(leases),
      this.channels.newJobs,
      this.channels.events,
    ]);
    return rows.map((row) => row.id);
  }

  async rescueExpired(limit: number, error: string): Promise<Array<{ id: string; status: 'pending' | 'failed' }>> {
    const { rows } = await this.db.pool.query<{ id: string; status: 'pending' | 'failed' }>(this.sql.rescueExpiredJobs, [
      limit,
      error,
      this.channels.newJobs,
      this.channels.events,
    ]);
    return rows;
  }
}

const ids = (leases: JobLease[]) => leases.map((l) => l.id);
const tokens = (leases: JobLease[]) => leases.map((l) => l.token);

/** Orders int8 ids given as strings without converting them to numbers. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
