import type { ClaimedJobRow } from '../db/job-row';
import type { TraceCarrier } from '../db/job-writes';
import type { RescuedJob } from '../db/stores/maintenance-store';

/** How one attempt ended, as its outcome was written. */
export type AttemptEnd =
  | { outcome: 'completed' }
  | { outcome: 'retrying' | 'failed'; error: unknown; description: string; delayMs?: number }
  | { outcome: 'snoozed'; delayMs: number }
  | { outcome: 'cancelled' }
  /** Nothing was written: the lease was lost, the job was handed back at shutdown, or the write failed. */
  | { outcome: 'interrupted'; reason: string };

/** One attempt of a claimed job, as telemetry follows it. */
export interface AttemptTelemetry {
  /** Calls the handler with the attempt's span active, so the handler's own spans nest under it. */
  run<T>(handler: () => T): T;
  end(end: AttemptEnd): void;
}

/** A job as an enqueue returns it. */
export interface EnqueuedJob {
  id: string;
  type: string;
}

/**
 * What the queue tells its telemetry (traces and metrics through OpenTelemetry, see open-telemetry-jobs.ts). The
 * queue's parts depend on this interface only, never on `@opentelemetry/api`, which is an optional peer dependency.
 */
export interface JobTelemetry {
  /** Runs the write of one enqueue call of jobs of `types`; `write` gets the trace context to store with them. */
  enqueue<R extends EnqueuedJob>(types: readonly string[], write: (trace: TraceCarrier | null) => Promise<R[]>): Promise<R[]>;
  /** An attempt of `row` starts now; null when nothing follows attempts. */
  startAttempt(row: ClaimedJobRow): AttemptTelemetry | null;
  /** A rescuer found the lease of `row` expired and put it back or failed it for good. */
  rescued(row: RescuedJob): void;
  /** Stops reading the queue's gauges (at application shutdown). */
  close(): void;
}

/** Telemetry off (`telemetry: false`), or `@opentelemetry/api` not installed: costs one call per enqueue, nothing per job. */
export const NO_TELEMETRY: JobTelemetry = {
  enqueue: (_types, write) => write(null),
  startAttempt: () => null,
  rescued: () => undefined,
  close: () => undefined,
};
