import type { JobInfo } from '../interfaces';
import { JobExecutionContext } from '../worker/job-execution-context';

/**
 * The worker's own job context, for `QueueTester.run()`, recording instead of writing: the progress reported (as the
 * worker would store it: rounded, the stage cleaned), the lines logged, a snooze asked for (`snoozeMs`). Its checks
 * are the worker's, so a handler that passes here passes there. `abort()` aborts its signal as a timeout or a cancel
 * would.
 */
export class TestJobContext extends JobExecutionContext {
  readonly progressUpdates: Array<{ percent: number; stage?: string }>;
  readonly logs: string[];
  private readonly controller: AbortController;

  constructor(job: Partial<JobInfo> = {}) {
    const now = new Date();
    const controller = new AbortController();
    const progressUpdates: Array<{ percent: number; stage?: string }> = [];
    const logs: string[] = [];
    super(
      {
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
      },
      controller,
      (percent, stage) => progressUpdates.push(stage === undefined ? { percent } : { percent, stage }),
      (message) => logs.push(message),
    );
    [this.controller, this.progressUpdates, this.logs] = [controller, progressUpdates, logs];
  }

  /** Aborts the signal, with `reason` as `signal.reason`. */
  abort(reason: unknown = new Error('aborted by the test')): void {
    this.controller.abort(reason);
  }
}
