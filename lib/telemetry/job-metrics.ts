import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { ClaimedJobRow } from '../db/job-row';
import type { QueueGauge } from '../db/stores/admin-store';
import type { RescuedJob } from '../db/stores/maintenance-store';
import type { AttemptEnd } from './job-telemetry';
import { ATTR, INSTRUMENTATION_SCOPE, MESSAGING_SYSTEM } from './messaging-attributes';

type Api = typeof OpenTelemetryApi;

/** From a few milliseconds (a claimed-ahead job) to the hours a backlog can wait. */
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The queue's metrics through the OpenTelemetry metrics API: counters of jobs enqueued, started, completed, failed,
 * retried and rescued; wait time (due to started) and run time as histograms; and per type the queue's depth and lag as
 * observable gauges, read with one query only when a reader collects. Every instrument is labelled by job type
 * (`messaging.destination.name`).
 */
export class JobMetrics {
  private readonly meter: Meter;
  private readonly counters: Record<'enqueued' | 'started' | 'completed' | 'failed' | 'retried' | 'rescued', Counter>;
  private readonly waitTime: Histogram;
  private readonly runTime: Histogram;
  private readonly gauges: ObservableGauge[];
  private readonly observeGauges: BatchObservableCallback;
  /** The types the gauges have reported. */
  private readonly gaugedTypes = new Set<string>();
  /** One attribute set per type, so recording allocates nothing. */
  private readonly byType = new Map<string, Attributes>();

  constructor(api: Api, readGauges: () => Promise<QueueGauge[]>) {
    const meter = (this.meter = api.metrics.getMeter(INSTRUMENTATION_SCOPE));
    const counter = (name: string, description: string) => meter.createCounter(`pgqueue.jobs.${name}`, { unit: '{job}', description });
    this.counters = {
      enqueued: counter('enqueued', 'Jobs enqueued'),
      started: counter('started', 'Attempts started'),
      completed: counter('completed', 'Jobs completed'),
      failed: counter('failed', 'Jobs that failed for good'),
      retried: counter('retried', 'Failed attempts that will be retried'),
      rescued: counter('rescued', 'Jobs recovered after their lease expired'),
    };
    const histogram = (name: string, description: string) =>
      meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } });
    this.waitTime = histogram('pgqueue.job.wait.duration', 'From the time a job was due to the start of its attempt');
    this.runTime = histogram('pgqueue.job.run.duration', 'How long an attempt ran, to its outcome');
    const depth = meter.createObservableGauge('pgqueue.queue.depth', { unit: '{job}', description: 'Unfinished jobs per type and status' });
    const lag = meter.createObservableGauge('pgqueue.queue.lag', { unit: 's', description: 'Age of the oldest due pending job per type' });
    this.gauges = [depth, lag];
    this.observeGauges = async (observer) => {
      const gauges = await readGauges();
      // A type whose jobs are all gone reads 0, rather than keeping the last value it had.
      const empty = new Set(this.gaugedTypes);
      for (const gauge of gauges) {
        empty.delete(gauge.type);
        this.gaugedTypes.add(gauge.type);
      }
      for (const { type, pending, running, lagSeconds } of [
        ...gauges,
        ...[...empty].map((type) => ({ type, pending: 0, running: 0, lagSeconds: 0 })),
      ]) {
        const attributes = this.attributes(type);
        observer.observe(depth, pending, { ...attributes, [ATTR.status]: 'pending' });
        observer.observe(depth, running, { ...attributes, [ATTR.status]: 'running' });
        observer.observe(lag, lagSeconds, attributes);
      }
    };
    meter.addBatchObservableCallback(this.observeGauges, this.gauges);
  }

  enqueued(types: readonly string[]): void {
    for (const type of types) this.counters.enqueued.add(1, this.attributes(type));
  }

  started(row: ClaimedJobRow): void {
    const attributes = this.attributes(row.type);
    this.counters.started.add(1, attributes);
    this.waitTime.record(Math.max(0, row.started_at.getTime() - row.run_at.getTime()) / 1000, attributes);
  }

  ended(row: ClaimedJobRow, end: AttemptEnd, runSeconds: number): void {
    const attributes = this.attributes(row.type);
    this.runTime.record(runSeconds, { ...attributes, [ATTR.outcome]: end.outcome });
    if (end.outcome === 'completed') this.counters.completed.add(1, attributes);
    else if (end.outcome === 'failed') this.counters.failed.add(1, attributes);
    else if (end.outcome === 'retrying') this.counters.retried.add(1, attributes);
  }

  rescued(row: RescuedJob): void {
    const attributes = this.attributes(row.type);
    this.counters.rescued.add(1, attributes);
    if (row.status === 'failed') this.counters.failed.add(1, attributes);
  }

  close(): void {
    this.meter.removeBatchObservableCallback(this.observeGauges, this.gauges);
  }

  private attributes(type: string): Attributes {
    let attributes = this.byType.get(type);
    if (!attributes) this.byType.set(type, (attributes = { [ATTR.system]: MESSAGING_SYSTEM, [ATTR.destination]: type }));
    return attributes;
  }
}
