import type { BenchPayload, OnJob, QueueAdapter } from './adapter';
import { concurrently, deferred, now, PeakRss, percentile, PostgresCpu, sleep, within } from './measure';

/** BENCH_QUICK=1 divides the job counts by 10: a smoke test of the harness, not a measurement. */
const scaleDown = process.env.BENCH_QUICK === '1' ? 10 : 1;

export const SIZES = {
  single: 3_000 / scaleDown,
  concurrent: 10_000 / scaleDown,
  concurrentCallers: 64,
  bulk: 50_000 / scaleDown,
  bulkBatch: 1_000,
  drainConcurrency: 32,
  latencyJobs: 300,
  latencyEveryMs: 10,
};

export type Metric =
  | 'enqueue_single'
  | 'enqueue_concurrent'
  | 'enqueue_bulk'
  | 'drain'
  | 'drain_pg_cpu_us_per_job'
  | 'latency_p50'
  | 'latency_p95'
  | 'latency_p99'
  | 'peak_rss_mb'
  | 'drain_first_job_ms';

export interface SuiteResult {
  metrics: Partial<Record<Metric, number>>;
  errors: string[];
}

const DRAIN_TIMEOUT_MS = 30 * 60_000; // a safety net only

/** The handler given to startWorker forwards to whatever the current scenario listens with. */
class Dispatch {
  current: OnJob = () => {};
  readonly onJob: OnJob = (payload) => this.current(payload);
}

/** Enqueues `total` jobs through the bulk API in batches, starting at index `from`. Returns the elapsed ms. */
export async function enqueueInBatches(adapter: QueueAdapter, total: number, batch: number, from = 0): Promise<number> {
  const start = now();
  for (let offset = 0; offset < total; offset += batch) {
    const size = Math.min(batch, total - offset);
    await adapter.enqueueBulk(Array.from({ length: size }, (_, k) => ({ i: from + offset + k })));
  }
  return now() - start;
}

export interface DrainResult {
  jobsPerSec: number;
  seconds: number;
  firstJobMs: number;
  peakRssMb: number;
  /** PostgreSQL server CPU per drained job, in microseconds (NaN when the server is not local). */
  pgCpuUsPerJob: number;
}

/**
 * Starts the worker and waits until `total` handler calls were seen and the queue reports nothing unfinished
 * (completions some systems write back in batches count only once they are written). Timed from just before
 * startWorker to that moment.
 */
export async function drain(adapter: QueueAdapter, total: number, concurrency: number, dispatch = new Dispatch()): Promise<DrainResult> {
  let seen = 0;
  let firstJobAt = NaN;
  const allSeen = deferred();
  dispatch.current = () => {
    if (seen === 0) firstJobAt = now();
    if (++seen === total) allSeen.resolve();
  };
  const rss = new PeakRss();
  rss.start();
  const pgCpu = new PostgresCpu();
  pgCpu.start();
  const start = now();
  try {
    await adapter.startWorker(concurrency, dispatch.onJob);
    await within(allSeen.promise, DRAIN_TIMEOUT_MS, () => `drain saw ${seen} of ${total} jobs in ${DRAIN_TIMEOUT_MS / 1000} s`);
    const deadline = now() + 60_000;
    for (let left = await adapter.unfinished(); left > 0; left = await adapter.unfinished()) {
      if (now() > deadline) throw new Error(`${left} jobs still unfinished 60 s after every handler ran`);
      await sleep(5);
    }
  } finally {
    dispatch.current = () => {};
  }
  const seconds = (now() - start) / 1000;
  const pgCpuUsPerJob = (pgCpu.stop() * 1e6) / total;
  return { jobsPerSec: total / seconds, seconds, firstJobMs: firstJobAt - start, peakRssMb: rss.stop(), pgCpuUsPerJob };
}

/** Into the idle, running worker: one job every 10 ms; enqueue-to-handler-start times in ms. */
async function latency(adapter: QueueAdapter, dispatch: Dispatch, autoAnalyze: () => Promise<void>): Promise<number[]> {
  const { latencyJobs: count, latencyEveryMs: every } = SIZES;
  await autoAnalyze(); // every job changed state since the last one
  await sleep(1_000); // let the worker go idle after the drain
  const times: number[] = [];
  const all = deferred();
  dispatch.current = (payload: BenchPayload) => {
    if (payload.t === undefined) return;
    times.push(now() - payload.t);
    if (times.length === count) all.resolve();
  };
  const sends: Promise<void>[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * every - now();
    if (wait > 0) await sleep(wait);
    sends.push(adapter.enqueueSingle({ i, t: now() }));
  }
  await Promise.all(sends);
  await within(all.promise, 60_000, () => `latency: ${times.length} of ${count} jobs ran within 60 s`);
  dispatch.current = () => {};
  return times;
}

/** Every scenario of the side-by-side table, in order, on one adapter whose database is fresh. */
export async function runSuite(adapter: QueueAdapter, log: (line: string) => void, autoAnalyze: () => Promise<void>): Promise<SuiteResult> {
  const metrics: SuiteResult['metrics'] = {};
  const errors: string[] = [];
  const step = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      log(`  ${name} FAILED: ${errors[errors.length - 1]}`);
      return false;
    }
    return true;
  };

  if (!(await step('open', () => adapter.open()))) return { metrics, errors };
  let enqueued = 0;
  const dispatch = new Dispatch();

  await step('enqueue_single', async () => {
    const start = now();
    for (let i = 0; i < SIZES.single; i++) await adapter.enqueueSingle({ i: enqueued + i });
    enqueued += SIZES.single;
    metrics.enqueue_single = SIZES.single / ((now() - start) / 1000);
    log(`  enqueue_single      ${metrics.enqueue_single.toFixed(0)} jobs/s`);
  });
  await step('enqueue_concurrent', async () => {
    const base = enqueued;
    const ms = await concurrently(SIZES.concurrent, SIZES.concurrentCallers, (i) => adapter.enqueueSingle({ i: base + i }));
    enqueued += SIZES.concurrent;
    metrics.enqueue_concurrent = SIZES.concurrent / (ms / 1000);
    log(`  enqueue_concurrent  ${metrics.enqueue_concurrent.toFixed(0)} jobs/s`);
  });
  await step('enqueue_bulk', async () => {
    const ms = await enqueueInBatches(adapter, SIZES.bulk, SIZES.bulkBatch, enqueued);
    enqueued += SIZES.bulk;
    metrics.enqueue_bulk = SIZES.bulk / (ms / 1000);
    log(`  enqueue_bulk        ${metrics.enqueue_bulk.toFixed(0)} jobs/s`);
  });
  const drained = await step('drain', async () => {
    await autoAnalyze();
    const result = await drain(adapter, enqueued, SIZES.drainConcurrency, dispatch);
    metrics.drain = result.jobsPerSec;
    metrics.peak_rss_mb = result.peakRssMb;
    metrics.drain_first_job_ms = result.firstJobMs;
    if (Number.isFinite(result.pgCpuUsPerJob)) metrics.drain_pg_cpu_us_per_job = result.pgCpuUsPerJob;
    log(
      `  drain               ${result.jobsPerSec.toFixed(0)} jobs/s (${enqueued} jobs in ${result.seconds.toFixed(2)} s, peak RSS ${result.peakRssMb.toFixed(0)} MB, ` +
        `PostgreSQL CPU ${result.pgCpuUsPerJob.toFixed(0)} us/job)`,
    );
  });
  if (drained) {
    await step('latency', async () => {
      const times = await latency(adapter, dispatch, autoAnalyze);
      metrics.latency_p50 = percentile(times, 50);
      metrics.latency_p95 = percentile(times, 95);
      metrics.latency_p99 = percentile(times, 99);
      log(
        `  latency             p50 ${metrics.latency_p50.toFixed(2)} ms, p95 ${metrics.latency_p95.toFixed(2)} ms, p99 ${metrics.latency_p99.toFixed(2)} ms`,
      );
    });
  }
  await step('stop', () => adapter.stop());
  return { metrics, errors };
}
