import type { Logger } from '@nestjs/common';
import { InvalidJobError } from '../errors';
import { messages } from '../errors/messages';
import type { JobContext, JobInfo } from '../interfaces';

const MAX_STAGE_CHARS = 500;

/** The `ctx` a handler receives. Progress goes to a buffer that the worker flushes in batches. */
export class JobExecutionContext implements JobContext {
  constructor(
    readonly job: JobInfo,
    readonly signal: AbortSignal,
    private readonly report: (percent: number, stage: string | undefined) => void,
    readonly logger: Logger,
  ) {}

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

  log(message: string): void {
    this.logger.log(`[${this.job.type} #${this.job.id}] ${message}`);
  }
}
