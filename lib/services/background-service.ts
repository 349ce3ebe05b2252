import type { FailureLog } from './failure-log';
import { PeriodicTask } from './periodic-task';

/** A part of the worker that runs beside the claim loop: started when the worker starts, stopped when it stops. */
export interface BackgroundService {
  /** What it does, as the log names it: `Recovering expired jobs`. */
  readonly name: string;
  /** Idempotent. */
  start(): void | Promise<void>;
  /** Idempotent; resolves once a run under way has finished. */
  stop(): Promise<void>;
}

/**
 * A service that runs every interval, never two runs at once. A run that throws is reported under the service's name
 * to the worker's failure log, the one place that logs them (once per outage, not once per run).
 */
export abstract class PeriodicService implements BackgroundService {
  private readonly task: PeriodicTask;
  private started = false;

  protected constructor(
    readonly name: string,
    intervalMs: number,
    private readonly failures: FailureLog,
    /** Run once at start, not only after the first interval. */
    private readonly runAtStart: boolean,
  ) {
    this.task = new PeriodicTask(() => this.runSafely(), intervalMs);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.runAtStart) void this.task.runNow();
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One run of the service's work. */
  protected abstract runOnce(): Promise<void>;

  private async runSafely(): Promise<void> {
    try {
      await this.runOnce();
    } catch (error) {
      this.failures.failed(this.name, error);
    }
  }
}
