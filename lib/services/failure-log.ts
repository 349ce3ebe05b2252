import type { QueueLogger } from './queue-logger';

/**
 * One voice for the worker's background calls to PostgreSQL (claims, heartbeats, progress, maintenance): during an
 * outage they all fail, several times a second. The first failure is logged with its cause, the rest are counted,
 * and the first success after them says how long it lasted.
 */
export class FailureLog {
  private failingSince?: number;
  private failures = 0;

  constructor(private readonly logger: QueueLogger) {}

  failed(what: string, error: unknown): void {
    this.failures++;
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    this.logger.warn(
      `${what} failed: ${describe(error)}. Retrying; further failures are counted, not logged, until PostgreSQL answers again.`,
    );
  }

  succeeded(): void {
    if (this.failingSince === undefined) return;
    const seconds = ((Date.now() - this.failingSince) / 1000).toFixed(1);
    this.logger.log(`PostgreSQL answers again after ${seconds} s (${this.failures} failed call(s) meanwhile).`);
    this.failingSince = undefined;
    this.failures = 0;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
