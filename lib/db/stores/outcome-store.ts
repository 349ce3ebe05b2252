import { messages } from '../../errors/messages';
import type { JobCompletion, JobFailure, JobLease, ProgressUpdate } from '../job-writes';
import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';
import { byId, idsOf, tokensOf } from './lease-order';

/** A job handed back by this worker: unstarted (claimed ahead, or at shutdown) or interrupted at shutdown. */
export interface HandBack extends JobLease {
  started: boolean;
}

/** A line a handler logged, buffered until written; `at` is the worker's performance.now() when it was logged. */
export interface LogLine extends JobLease {
  attempt: number;
  message: string;
  at: number;
}

/** Runs the fenced writes a worker makes about its jobs (sql/outcome-sql.ts): each names the lease it holds. */
export class OutcomeStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  async saveProgress(updates: ProgressUpdate[]): Promise<void> {
    updates = byId(updates);
    const values = [idsOf(updates), tokensOf(updates), updates.map((u) => u.percent), updates.map((u) => u.stage), this.db.channels.events];
    await this.statements.run(this.db.pool, this.statements.prepared(this.db.sql.saveProgress, values));
  }

  /** Stores the lines of jobs this worker still holds, in the order given; `nowMs` is performance.now() at the write. */
  async saveLogs(lines: LogLine[], nowMs: number, maxPerJob: number): Promise<void> {
    const values = [
      lines.map((line) => line.id),
      lines.map((line) => line.token),
      lines.map((line) => line.attempt),
      lines.map((line) => Math.max(0, nowMs - line.at)),
      lines.map((line) => line.message),
      maxPerJob,
    ];
    await this.statements.run(this.db.pool, this.statements.prepared(this.db.sql.saveLogs, values));
  }

  /** Returns the ids whose completion was accepted. With `deleteAtOnce` (retention 0) the jobs are deleted instead. */
  async complete(completions: JobCompletion[], deleteAtOnce = false): Promise<Set<string>> {
    completions = byId(completions);
    const { sql, channels } = this.db;
    const statement = deleteAtOnce
      ? this.statements.prepared(sql.completeAndDeleteJobs, [idsOf(completions), tokensOf(completions), channels.events, channels.newJobs])
      : this.statements.prepared(sql.completeJobs, [
          idsOf(completions),
          tokensOf(completions),
          completions.map((c) => c.result),
          completions.map((c) => c.stage),
          channels.events,
          channels.newJobs,
        ]);
    const { rows } = await this.statements.run<{ id: string }>(this.db.pool, statement);
    return new Set(rows.map((row) => row.id));
  }

  /** Returns the job's new status, or undefined when the write was fenced off. */
  async fail(failure: JobFailure): Promise<'pending' | 'failed' | undefined> {
    const { channels } = this.db;
    const { rows } = await this.statements.run<{ status: 'pending' | 'failed' }>(this.db.pool, this.db.sql.failJob, [
      failure.id,
      failure.token,
      failure.error,
      failure.retryDelayMs,
      failure.progress,
      failure.stage,
      channels.events,
      channels.newJobs,
      failure.final,
    ]);
    return rows[0]?.status;
  }

  /** Returns false when the write was fenced off. */
  async snooze(lease: JobLease, delayMs: number, progress: number, stage: string | null): Promise<boolean> {
    const values = [lease.id, lease.token, delayMs, progress, stage, this.db.channels.events];
    const { rows } = await this.statements.run(this.db.pool, this.db.sql.snoozeJob, values);
    return rows.length > 0;
  }

  /**
   * Gives claimed jobs back. An unstarted one gets its attempt back; a started one (interrupted at shutdown)
   * keeps it, and fails if that was its last. Returns the ids handed back.
   */
  async handBack(jobs: HandBack[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    jobs = byId(jobs);
    const { channels } = this.db;
    const { rows } = await this.statements.run<{ id: string }>(this.db.pool, this.db.sql.handBackJobs, [
      idsOf(jobs),
      tokensOf(jobs),
      channels.newJobs,
      channels.events,
      jobs.map((job) => job.started),
      messages.interruptedAtShutdown(),
    ]);
    return rows.map((row) => row.id);
  }
}
