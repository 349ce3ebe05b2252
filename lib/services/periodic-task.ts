/** Runs an async task every interval, never two runs at once; `runNow()` joins a run already under way. */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  /** `task` reports its own errors (PeriodicService does, to the failure log): a rejection here is dropped. */
  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.runNow(), this.intervalMs);
  }

  runNow(): Promise<void> {
    this.running ??= this.task()
      .catch(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
