import type { Logger } from '@nestjs/common';
import type { JobStore } from '../db/job-store';
import { messages } from '../errors/messages';

const BATCH_SIZE = 1000;

/** Recovers jobs whose lease expired (their worker died or hung); the attempt they used counts. */
export class Rescuer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: JobStore,
    private readonly intervalMs: number,
    private readonly onRescued: () => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.rescue();
    this.timer = setInterval(() => void this.rescue(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  rescue(): Promise<void> {
    this.running ??= this.rescueAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async rescueAll(): Promise<void> {
    try {
      let rows;
      do {
        rows = await this.store.rescueExpired(BATCH_SIZE, messages.leaseExpired());
        if (rows.length > 0) {
          this.logger.warn(
            `Recovered ${rows.length} job(s) whose worker stopped heartbeating: ${rows.map((r) => `#${r.id} -> ${r.status}`).join(', ')}`,
          );
          this.onRescued();
        }
      } while (rows.length === BATCH_SIZE);
    } catch (error) {
      this.logger.warn(`Recovering expired jobs failed: ${(error as Error).message}`);
    }
  }
}
