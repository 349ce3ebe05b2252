import { InvalidJobError, JobSnoozedSignal } from '../errors';
import { messages } from '../errors/messages';
import type { JobContext, JobInfo } from '../interfaces';
import { QueueLogs, type QueueLogger } from '../services/queue-logger';

const MAX_STAGE_CHARS = 500;
/** Snoozes are bounded: a job that wants to wait longer should be enqueued with runAt. */
const MAX_SNOOZE_MS = 7 * 24 * 3600 * 1000;

/** The `ctx` a handler receives. Progress goes to a buffer that the worker flushes in batches. */
export class JobExecutionContext implements JobContext {
  /** Set by snooze(): the handler asked to run again later, without using up an attempt. */
  snoozeMs?: number;
  private jobLogger?: QueueLogger;

  constructor(
    readonly job: JobInfo,
    private readonly source: { readonly signal: AbortSignal },
    private readonly report: (percent: number, stage: string | undefined) => void,
    private readonly store: (message: string) => void = () => undefined,
    private readonly queueLogs: QueueLogs = new QueueLogs(),
  ) {}

  /** Created on first use (most handlers never log); its context names the job's type and id. */
  get logger(): QueueLogger {
    return (this.jobLogger ??= this.queueLogs.forJob({ id: this.job.id, type: this.job.type, attempt: this.job.attempt }));
  }

  get signal(): AbortSignal {
    return this.source.signal;
  }

  async progress(percent: number, stage?: string): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new InvalidJobError(messages.invalidProgress(percent));
    }
    const cleanStage =
      stage === undefined || stage === null
        ? undefined
        : String(stage)
            .replace(/\u0000/g, '')
            .slice(0, MAX_STAGE_CHARS);
    this.report(Math.round(percent), cleanStage);
  }

  snooze(delayMs: number): never {
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_SNOOZE_MS) {
      throw new InvalidJobError(messages.invalidSnooze(delayMs, MAX_SNOOZE_MS));
    }
    this.snoozeMs = delayMs;
    throw new JobSnoozedSignal(messages.snoozed(delayMs));
  }

  log(message: string): void {
    this.logger.log(message);
    this.store(message);
  }
}
