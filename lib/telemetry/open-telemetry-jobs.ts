import type * as OpenTelemetryApi from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import type { ClaimedJobRow } from '../db/job-row';
import type { TraceCarrier } from '../db/job-writes';
import type { RescuedJob } from '../db/stores/maintenance-store';
import { messages } from '../errors/messages';
import type { QueueGauge } from '../db/stores/admin-store';
import { JobMetrics } from './job-metrics';
import { JobSpans } from './job-spans';
import { INSTRUMENTATION_SCOPE } from './messaging-attributes';
import type { AttemptEnd, AttemptTelemetry, EnqueuedJob, JobTelemetry } from './job-telemetry';

/** The queue's traces and metrics through `@opentelemetry/api`, each part on or off. */
export class OpenTelemetryJobs implements JobTelemetry {
  private readonly spans: JobSpans | null;
  private readonly metrics: JobMetrics | null;

  constructor(
    private readonly api: typeof OpenTelemetryApi,
    parts: { traces: boolean; metrics: boolean },
    readGauges: () => Promise<QueueGauge[]>,
  ) {
    this.spans = parts.traces ? new JobSpans(api) : null;
    // Metric instruments are bound to the provider registered now: with none, every one would be a no-op.
    const meterRegistered =
      api.metrics.getMeterProvider().getMeter(INSTRUMENTATION_SCOPE).constructor !== api.createNoopMeter().constructor;
    this.metrics = parts.metrics && meterRegistered ? new JobMetrics(api, readGauges) : null;
  }

  async enqueue<R extends EnqueuedJob>(types: readonly string[], write: (trace: TraceCarrier | null) => Promise<R[]>): Promise<R[]> {
    const started = this.safely('an enqueue span', () => (this.spans?.active ? this.spans.startEnqueue(types) : undefined));
    let jobs: R[];
    try {
      jobs = await write(started?.trace ?? null);
    } catch (error) {
      if (started) this.safely('an enqueue span', () => this.spans?.endEnqueue(started.span, null, error));
      throw error;
    }
    // The jobs are committed: nothing telemetry does may make the caller think otherwise (and enqueue them again).
    this.safely('an enqueue span', () => {
      if (started) this.spans?.endEnqueue(started.span, jobs);
      this.metrics?.enqueued(types);
    });
    return jobs;
  }

  startAttempt(row: ClaimedJobRow): AttemptTelemetry | null {
    const { api, metrics } = this;
    const spans = this.spans?.active ? this.spans : null;
    if (!spans && !metrics) return null;
    const started = this.safely('an attempt span', () => {
      metrics?.started(row);
      return spans?.startAttempt(row);
    });
    const startedAt = performance.now();
    return {
      run: (handler) => (started ? api.context.with(started.context, handler) : handler()),
      end: (end: AttemptEnd) =>
        this.safely('an attempt span', () => {
          if (started) spans?.endAttempt(started.span, end);
          metrics?.ended(row, end, (performance.now() - startedAt) / 1000);
        }),
    };
  }

  rescued(row: RescuedJob): void {
    this.safely('a rescue span', () => {
      if (this.spans?.active) this.spans.rescued(row, messages.leaseExpired());
      this.metrics?.rescued(row);
    });
  }

  /**
   * Telemetry never fails the queue: an SDK, propagator, sampler or span processor that throws is reported to
   * OpenTelemetry's own diagnostic logger, and the job goes on as if nothing recorded it.
   */
  private safely<T>(what: string, work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      this.api.diag.error(`nestjs-pgqueue: recording ${what} failed`, error);
      return undefined;
    }
  }

  close(): void {
    this.metrics?.close();
  }
}
