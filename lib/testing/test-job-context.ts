import { Logger } from '@nestjs/common';
import { InvalidJobError, JobSnoozedSignal } from '../errors';
import { messages } from '../errors/messages';
import type { JobContext, JobInfo } from '../interfaces';

/**
 * A `JobContext` for `QueueTester.run()` that records instead of writing: the progress reported, the lines logged, a
 * snooze asked for. Pass one in to read them afterwards; `abort()` aborts its signal as a timeout or a cancel would.
 */
export class TestJobContext implements JobContext {
  readonly progressUpdates: Array<{ percent: number; stage?: string }> = [];
  readonly logs: string[] = [];
  /** Set when the handler called `snooze(ms)`. */
  snoozedMs?: number;
  readonly job: JobInfo;
  readonly logger: Logger;
  private readonly controller = new AbortController();

  constructor(job: Partial<JobInfo> = {}) {
    const now = new Date();
    this.job = {
      id: 'test-job',
      type: 'test',
      attempt: 1,
      maxAttempts: 3,
      priority: 100,
      queue: null,
      createdAt: now,
      runAt: now,
      startedAt: now,
      ...job,
    };
    this.logger = new Logger(`PgQueue:${this.job.type} #${this.job.id}`);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts the signal, with `reason` as `signal.reason`. */
  abort(reason: unknown = new Error('aborted by the test')): void {
    this.controller.abort(reason);
  }

  async progress(percent: number, stage?: string): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
      throw new InvalidJobError(messages.invalidProgress(percent));
    this.progressUpdates.push(stage === undefined ? { percent } : { percent, stage });
  }

  snooze(delayMs: number): never {
    this.snoozedMs = delayMs;
    throw new JobSnoozedSignal(messages.snoozed(delayMs));
  }

  log(message: string): void {
    this.logs.push(message);
  }
}
