import type { JobLease } from '../db/job-writes';
import type { LogLine, OutcomeStore } from '../db/stores/outcome-store';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { PeriodicTask } from '../services/periodic-task';

const FLUSH_INTERVAL_MS = 200;
/** Longer lines are cut here: a log line is for a person, and a stack trace fits. */
export const MAX_LOG_LINE_CHARS = 2000;
/** Lines an attempt may store; past it, one line says how many more there were. */
export const MAX_LOG_LINES_PER_ATTEMPT = 200;
/** Lines a job may store over all its attempts. */
export const MAX_LOG_LINES_PER_JOB = 1000;

/**
 * Coalesces ctx.log() lines: every job's lines in one statement per interval, never a write per call. The outcome
 * writer flushes before it writes a job's outcome, so a job's last lines are stored while its lease still holds.
 */
export class LogBuffer implements BackgroundService {
  readonly name = 'Saving job logs';
  private pending: LogLine[] = [];
  /** Lines each running attempt has stored or buffered, and those it dropped past the limit. */
  private readonly counts = new Map<string, { kept: number; dropped: number }>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly flusher = new PeriodicTask(
    () => this.flush().catch((error: unknown) => this.failures.failed(this.name, error)),
    FLUSH_INTERVAL_MS,
  );

  constructor(
    private readonly store: OutcomeStore,
    private readonly failures: FailureLog,
  ) {}

  start(): void {
    this.flusher.start();
  }

  record(lease: JobLease, attempt: number, message: string): void {
    const count = this.counts.get(lease.id) ?? { kept: 0, dropped: 0 };
    this.counts.set(lease.id, count);
    if (count.kept >= MAX_LOG_LINES_PER_ATTEMPT) {
      count.dropped++;
      return;
    }
    count.kept++;
    this.pending.push({ ...lease, attempt, message: cleanLine(message), at: performance.now() });
  }

  /**
   * Writes every buffered line, after any write already under way: once it resolves, the lines logged so far are
   * stored (or their job was no longer this worker's). Rejects when the write fails; its lines stay buffered.
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.catch(() => undefined).then(() => this.write());
    return this.flushing;
  }

  /** Whether the running attempt of job `id` logged anything. */
  hasLogged(id: string): boolean {
    return this.counts.has(id);
  }

  /** Before a job's outcome is written: its lines, and a last one for those it dropped. */
  async flushFor(lease: JobLease, attempt: number): Promise<void> {
    const count = this.counts.get(lease.id);
    if (count?.dropped) {
      this.pending.push({
        ...lease,
        attempt,
        message: `(${count.dropped} more lines of this attempt were not stored)`,
        at: performance.now(),
      });
      count.dropped = 0;
    }
    // A timed write may hold this job's lines already: it must land before the outcome is written, or be redone.
    await this.flushing.catch(() => undefined);
    if (this.pending.some((line) => line.id === lease.id)) await this.flush();
  }

  forget(id: string): void {
    this.counts.delete(id);
  }

  async stop(): Promise<void> {
    await this.flusher.stop();
    await this.flush().catch((error: unknown) => this.failures.failed(this.name, error));
  }

  private async write(): Promise<void> {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    try {
      await this.store.saveLogs(lines, performance.now(), MAX_LOG_LINES_PER_JOB);
    } catch (error) {
      this.pending = [...lines, ...this.pending];
      throw error;
    }
  }
}

function cleanLine(message: unknown): string {
  const text = typeof message === 'string' ? message : String(message);
  const clean = text.replace(/\u0000/g, '');
  return clean.length > MAX_LOG_LINE_CHARS ? `${clean.slice(0, MAX_LOG_LINE_CHARS - 1)}…` : clean;
}
