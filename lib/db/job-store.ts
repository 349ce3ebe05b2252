import type { ClientBase } from 'pg';
import { messages } from '../errors/messages';
import { newRow, type ClaimedJobRow, type InsertedRow, type JobRow } from './job-row';
import { serialized } from './serialized-client';
import { jobsDocument } from './jobs-document';
import { StatementRunner } from './statement-runner';
import { repeatedTimestamps } from './repeated-timestamps';
import type { QueueDatabase } from './queue-database';
import type { JobCompletion, JobFailure, JobLease, NewJobRow, ProgressUpdate } from './job-writes';

/** Runs the statements about jobs (sql/insert, claim, outcome, maintenance and admin) with their parameters; schedules have their own store. */
export class JobStore {
  private readonly statements: StatementRunner;

  constructor(
    private readonly db: QueueDatabase,
    preparedStatements = true,
    queryTimeoutMs = 30_000,
  ) {
    this.statements = new StatementRunner(db, preparedStatements, queryTimeoutMs);
  }

  private get sql() {
    return this.db.sql;
  }

  private get channels() {
    return this.db.channels;
  }

  /** Inserts jobs and returns one row per input, in input order. */
  insert(jobs: NewJobRow[], client?: ClientBase): Promise<JobRow[]> {
    return jobs.every((job) => job.jobKey === null && job.queue === null) ? this.insertPlain(jobs, client) : this.insertAny(jobs, client);
  }

  /** Jobs without key or queue are always new rows: only their ids and times come back from the database. */
  private async insertPlain(jobs: NewJobRow[], client?: ClientBase): Promise<JobRow[]> {
    const values = [jobsDocument(jobs)];
    const { rows } = client
      ? await serialized(client, () => client.query<InsertedRow>(this.sql.insertPlainJobs, values))
      : await this.statements.run<InsertedRow>(this.db.pool, {
          ...this.statements.prepared(this.sql.insertPlainJobs, values),
          types: repeatedTimestamps,
        });
    rows.sort((a, b) => compareIds(a.id, b.id)); // ids were given in input order
    return jobs.map((job, i) => newRow(job, rows[i]));
  }

  /**
   * Jobs without key or queue, some of which (`claimMaxAttempts[i]` set) this worker may claim as they are inserted;
   * see insertPlainJobsClaiming. Rows come back whole, in input order; a claimed one carries its claim token.
   */
  async insertClaiming(
    jobs: NewJobRow[],
    claimMaxAttempts: Array<number | null>,
    workerId: string,
    leaseMs: number,
    types: string[],
  ): Promise<Array<JobRow & { claim_token: string | null }>> {
    const { rows } = await this.statements.run<JobRow & { claim_token: string | null }>(this.db.pool, {
      ...this.statements.prepared(this.sql.insertPlainJobsClaiming, [jobsDocument(jobs, claimMaxAttempts), workerId, leaseMs, types]),
      types: repeatedTimestamps,
    });
    return rows.sort((a, b) => compareIds(a.id, b.id)); // ids were given in input order
  }

  /**
   * Any job, with keys and serial queues. A keyed job may meet the job holding its key, so whole rows come back.
   * A `replace` that met a job being claimed at that instant comes back empty from the statement; it is tried again,
   * then finds the job running and queues anew.
   */
  private async insertAny(jobs: NewJobRow[], client?: ClientBase): Promise<JobRow[]> {
    const results = new Array<JobRow | undefined>(jobs.length);
    let remaining = jobs.map((job, index) => ({ job, index }));
    for (let round = 0; remaining.length > 0; round++) {
      if (round === 10) throw new Error(`Enqueue of ${remaining.length} replace-mode job(s) kept racing with claims; giving up.`);
      const values = [jobsDocument(remaining.map((r) => r.job))];
      // A caller's client is the application's connection: no statement of ours is left prepared on it.
      const { rows } = client
        ? await serialized(client, () => client.query<JobRow>(this.sql.insertJobs, values))
        : await this.statements.run<JobRow>(this.db.pool, this.statements.prepared(this.sql.insertJobs, values));
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

  async find(ids: string[]): Promise<JobRow[]> {
    const { rows } = await this.statements.run<JobRow>(this.db.pool, this.sql.selectJobs, [ids]);
    return rows;
  }

  /** Returns the cancelled job, or undefined when it does not exist or had already ended. */
  async cancel(id: string): Promise<JobRow | undefined> {
    const { rows } = await this.statements.run<JobRow>(this.db.pool, this.sql.cancelJob, [
      id,
      this.channels.cancel,
      this.channels.events,
      this.channels.newJobs,
    ]);
    return rows[0];
  }

  /** Claims up to `limit` jobs, at most `perType[i]` of `types[i]`. */
  async claim(
    types: string[],
    defaultMaxAttempts: number[],
    perType: number[],
    limit: number,
    workerId: string,
    leaseMs: number,
  ): Promise<ClaimedJobRow[]> {
    const { rows } = await this.statements.run<ClaimedJobRow>(this.db.pool, {
      ...this.statements.prepared(this.sql.claimJobs, [types, defaultMaxAttempts, limit, workerId, leaseMs, this.channels.events, perType]),
      types: repeatedTimestamps,
    });
    return rows;
  }

  /** Returns the ids whose leases were extended; the others are no longer this worker's. Bounded by `timeoutMs`. */
  async extendLeases(leases: JobLease[], leaseMs: number, timeoutMs: number): Promise<Set<string>> {
    leases = byId(leases);
    const { rows } = await this.statements.run<{ id: string }>(
      this.db.control,
      this.statements.prepared(this.sql.extendLeases, [ids(leases), tokens(leases), leaseMs]),
      undefined,
      timeoutMs,
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Which of these jobs were cancelled. */
  async cancelledAmong(jobIds: string[], timeoutMs: number): Promise<Set<string>> {
    const { rows } = await this.statements.run<{ id: string }>(this.db.control, this.sql.selectCancelled, [jobIds], timeoutMs);
    return new Set(rows.map((row) => row.id));
  }

  async saveProgress(updates: ProgressUpdate[]): Promise<void> {
    updates = byId(updates);
    await this.statements.run(
      this.db.pool,
      this.statements.prepared(this.sql.saveProgress, [
        ids(updates),
        tokens(updates),
        updates.map((u) => u.percent),
        updates.map((u) => u.stage),
        this.channels.events,
      ]),
    );
  }

  /** Returns the ids whose completion was accepted. With `deleteAtOnce` (retention 0) the jobs are deleted instead. */
  async complete(completions: JobCompletion[], deleteAtOnce = false): Promise<Set<string>> {
    completions = byId(completions);
    const { rows } = deleteAtOnce
      ? await this.statements.run<{ id: string }>(
          this.db.pool,
          this.statements.prepared(this.sql.completeAndDeleteJobs, [
            ids(completions),
            tokens(completions),
            this.channels.events,
            this.channels.newJobs,
          ]),
        )
      : await this.statements.run<{ id: string }>(
          this.db.pool,
          this.statements.prepared(this.sql.completeJobs, [
            ids(completions),
            tokens(completions),
            completions.map((c) => c.result),
            completions.map((c) => c.stage),
            this.channels.events,
            this.channels.newJobs,
          ]),
        );
    return new Set(rows.map((row) => row.id));
  }

  /** Returns the job's new status, or undefined when the write was fenced off. */
  async fail(failure: JobFailure): Promise<'pending' | 'failed' | undefined> {
    const { rows } = await this.statements.run<{ status: 'pending' | 'failed' }>(this.db.pool, this.sql.failJob, [
      failure.id,
      failure.token,
      failure.error,
      failure.retryDelayMs,
      failure.progress,
      failure.stage,
      this.channels.events,
      this.channels.newJobs,
      failure.final,
    ]);
    return rows[0]?.status;
  }

  /** Returns false when the write was fenced off. */
  async snooze(lease: JobLease, delayMs: number, progress: number, stage: string | null): Promise<boolean> {
    const { rows } = await this.statements.run(this.db.pool, this.sql.snoozeJob, [
      lease.id,
      lease.token,
      delayMs,
      progress,
      stage,
      this.channels.events,
    ]);
    return rows.length > 0;
  }

  /**
   * Gives claimed jobs back. An unstarted one gets its attempt back; a started one (interrupted at shutdown)
   * keeps it, and fails if that was its last.
   */
  async handBack(leases: Array<JobLease & { started: boolean }>): Promise<string[]> {
    if (leases.length === 0) return [];
    leases = byId(leases);
    const { rows } = await this.statements.run<{ id: string }>(this.db.pool, this.sql.handBackJobs, [
      ids(leases),
      tokens(leases),
      this.channels.newJobs,
      this.channels.events,
      leases.map((l) => l.started),
      messages.interruptedAtShutdown(),
    ]);
    return rows.map((row) => row.id);
  }

  async rescueExpired(limit: number, error: string): Promise<Array<{ id: string; status: 'pending' | 'failed' }>> {
    const { rows } = await this.statements.run<{ id: string; status: 'pending' | 'failed' }>(this.db.control, this.sql.rescueExpiredJobs, [
      limit,
      error,
      this.channels.newJobs,
      this.channels.events,
    ]);
    return rows;
  }

  /** Marks up to `limit` jobs waiting behind a held serial queue as blocked; returns how many. */
  async blockJobsBehindHolders(limit: number): Promise<number> {
    const { rowCount } = await this.statements.run(this.db.control, this.sql.blockJobsBehindHolders, [limit]);
    return rowCount ?? 0;
  }

  /** Unblocks the head of up to `limit` free serial queues whose head is blocked; returns how many. */
  async unblockStalledQueues(limit: number): Promise<number> {
    const { rowCount } = await this.statements.run(this.db.control, this.sql.unblockStalledQueues, [limit, this.channels.newJobs]);
    return rowCount ?? 0;
  }

  /** Deletes up to `limit` finished jobs of each status that outlived its retention; returns how many. */
  async pruneFinished(retention: { completedMs: number; failedMs: number; cancelledMs: number }, limit: number): Promise<number> {
    const { rows } = await this.statements.run<{ pruned: number }>(this.db.pool, this.sql.pruneFinishedJobs, [
      retention.completedMs,
      retention.failedMs,
      retention.cancelledMs,
      limit,
    ]);
    return rows[0].pruned;
  }

  /** The database's clock: schedules, delays and leases never use the app server's. */
  async now(): Promise<number> {
    const { rows } = await this.statements.run<{ now: Date }>(this.db.pool, this.sql.now);
    return rows[0].now.getTime();
  }

  async pause(type: string): Promise<void> {
    await this.statements.run(this.db.pool, this.sql.pauseType, [type]);
  }

  async resume(type: string): Promise<void> {
    await this.statements.run(this.db.pool, this.sql.resumeType, [type, this.channels.newJobs]);
  }

  async isPaused(type: string): Promise<boolean> {
    const { rows } = await this.statements.run<{ paused: boolean }>(this.db.pool, this.sql.isPaused, [type]);
    return rows[0].paused;
  }

  async stats(): Promise<Array<{ type: string; counts: Record<string, number>; paused: boolean }>> {
    const { rows } = await this.statements.run<{ type: string; counts: Record<string, number>; paused: boolean }>(
      this.db.pool,
      this.sql.stats,
    );
    return rows;
  }

  /** Types of pending jobs that are not among `types` (at most 20). */
  async pendingTypesOutside(types: string[]): Promise<string[]> {
    const { rows } = await this.statements.run<{ type: string }>(this.db.pool, this.sql.pendingTypesOutside, [types]);
    return rows.map((row) => row.type);
  }
}

const ids = (leases: JobLease[]) => leases.map((l) => l.id);
/** Rows are locked in id order by every statement, so two statements of one process never deadlock. */
const byId = <T extends JobLease>(leases: T[]) => [...leases].sort((a, b) => compareIds(a.id, b.id));
const tokens = (leases: JobLease[]) => leases.map((l) => l.token);

/** Orders int8 ids given as strings without converting them to numbers. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
