import { Injectable } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { JobHandler } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, useQueueApps, type QueueApp } from '../support/queue-app';

/** Reads on demand, as a Prometheus scrape does. */
class InMemoryReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush = () => Promise.resolve();
  protected onShutdown = () => Promise.resolve();
}

const attempts = new Map<string, number>();

@Injectable()
class MeteredHandlers {
  @JobHandler('m.work')
  work() {
    return 'done';
  }

  @JobHandler('m.flaky', { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 1, jitter: false } })
  flaky(_: unknown, ctx: { job: { id: string } }) {
    const n = (attempts.get(ctx.job.id) ?? 0) + 1;
    attempts.set(ctx.job.id, n);
    if (n === 1) throw new Error('once');
  }

  @JobHandler('m.broken', { maxAttempts: 1 })
  broken() {
    throw new Error('always');
  }
}

describe('metrics through OpenTelemetry', () => {
  const apps = useQueueApps();
  const reader = new InMemoryReader();
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
    await reader.shutdown();
    metrics.disable();
  });
  beforeEach(async () => {
    app = await apps.start(db, { providers: [MeteredHandlers], worker: FAST_WORKER });
  });

  /** Every data point of `name`, by job type (and status, for the depth gauge). */
  async function read(name: string): Promise<Map<string, DataPoint<unknown>>> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const found = resourceMetrics.scopeMetrics
      .filter((scope) => scope.scope.name === 'nestjs-pgqueue')
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === name);
    const byKey = new Map<string, DataPoint<unknown>>();
    for (const point of found?.dataPoints ?? []) {
      const { 'messaging.destination.name': type, 'pgqueue.job.status': status, 'pgqueue.job.outcome': outcome } = point.attributes;
      byKey.set([type, status, outcome].filter(Boolean).join('/'), point);
    }
    return byKey;
  }
  const value = async (name: string, key: string) => (await read(name)).get(key)?.value;

  it('counts jobs enqueued, started, completed, retried and failed per type, with wait and run times', async () => {
    await app.queue.enqueueMany([
      { type: 'm.work', payload: {} },
      { type: 'm.work', payload: {} },
    ]);
    await app.queue.enqueue('m.work', {});
    await app.queue.enqueue('m.flaky', {});
    await app.queue.enqueue('m.broken', {});
    await waitFor(
      async () => (await value('pgqueue.jobs.completed', 'm.flaky')) === 1 && (await value('pgqueue.jobs.failed', 'm.broken')) === 1,
    );
    await waitFor(async () => (await value('pgqueue.jobs.completed', 'm.work')) === 3);

    expect(await value('pgqueue.jobs.enqueued', 'm.work')).toBe(3);
    expect(await value('pgqueue.jobs.enqueued', 'm.flaky')).toBe(1);
    expect(await value('pgqueue.jobs.started', 'm.work')).toBe(3);
    expect(await value('pgqueue.jobs.started', 'm.flaky')).toBe(2);
    expect(await value('pgqueue.jobs.retried', 'm.flaky')).toBe(1);
    expect(await value('pgqueue.jobs.failed', 'm.flaky')).toBeUndefined();
    expect(await value('pgqueue.jobs.failed', 'm.broken')).toBe(1);

    const wait = (await value('pgqueue.job.wait.duration', 'm.work')) as Histogram;
    expect(wait.count).toBe(3);
    expect(wait.min).toBeGreaterThanOrEqual(0);
    const runs = await read('pgqueue.job.run.duration');
    expect((runs.get('m.work/completed')?.value as Histogram).count).toBe(3);
    expect((runs.get('m.flaky/retrying')?.value as Histogram).count).toBe(1);
    expect((runs.get('m.broken/failed')?.value as Histogram).count).toBe(1);
  });

  it('reads queue depth and lag per type at each collection, from the database', async () => {
    const past = new Date(Date.now() - 60_000);
    await app.queue.enqueueMany([
      { type: 'm.unhandled', payload: {}, runAt: past },
      { type: 'm.unhandled', payload: {} },
      { type: 'm.unhandled', payload: {}, runAt: new Date(Date.now() + 3_600_000) },
      { type: 'm.queued', payload: {}, queue: 'one-at-a-time', runAt: past },
    ]);
    const depth = await read('pgqueue.queue.depth');
    expect(depth.get('m.unhandled/pending')?.value).toBe(3);
    expect(depth.get('m.unhandled/running')?.value).toBe(0);
    expect(depth.get('m.queued/pending')?.value).toBe(1);
    const lag = await read('pgqueue.queue.lag');
    expect(lag.get('m.unhandled')?.value).toBeGreaterThanOrEqual(59);
    expect(lag.get('m.unhandled')?.value).toBeLessThan(120);
    expect(lag.get('m.queued')?.value).toBeGreaterThanOrEqual(59);

    await app.queue.removeMany({ type: 'm.unhandled' });
    // A type whose jobs are all gone reads 0, not the last value it had.
    expect(await value('pgqueue.queue.depth', 'm.unhandled/pending')).toBe(0);
    expect(await value('pgqueue.queue.lag', 'm.unhandled')).toBe(0);
  });
});
