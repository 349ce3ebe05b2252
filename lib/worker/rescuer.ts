import type { QueueLogger } from '../services/queue-logger';
import type { MaintenanceStore } from '../db/stores/maintenance-store';
import type { JobEventBus } from '../events/job-event-bus';
import { messages } from '../errors/messages';
import { PeriodicService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import type { JobTelemetry } from '../telemetry/job-telemetry';

const BATCH_SIZE = 1000;

/** Recovers jobs whose lease expired (their worker died or hung); the attempt they used counts. */
export class Rescuer extends PeriodicService {
  constructor(
    private readonly store: MaintenanceStore,
    intervalMs: number,
    private readonly onRescued: () => void,
    private readonly events: JobEventBus,
    private readonly telemetry: JobTelemetry,
    private readonly logger: QueueLogger,
    failures: FailureLog,
  ) {
    super('Recovering expired jobs', intervalMs, failures, true);
  }

  protected async runOnce(): Promise<void> {
    let rows;
    do {
      rows = await this.store.rescueExpired(BATCH_SIZE, messages.leaseExpired());
      if (rows.length > 0) {
        this.logger.warn(
          `Recovered ${rows.length} job(s) whose worker stopped heartbeating: ${rows.map((r) => `#${r.id} -> ${r.status}`).join(', ')}`,
        );
        this.onRescued();
        for (const row of rows) {
          this.events.emit('rescued', row, { error: messages.leaseExpired() });
          this.telemetry.rescued(row);
        }
      }
    } while (rows.length === BATCH_SIZE);
  }
}
