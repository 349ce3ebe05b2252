import { PgBoss } from 'pg-boss';
import type { BenchPayload, OnJob, QueueAdapter, SystemDefinition } from '../adapter';
import type { Pool } from 'pg';
import { benchPool } from '../db';

const QUEUE = 'bench_noop';

// From pg-boss's own option docs (node_modules/pg-boss/dist/types.d.ts):
// - JobFetchOptions.batchSize ("The number of jobs to fetch") with WorkConcurrencyOptions.localConcurrency
//   ("Number of workers to spawn for this queue"): batchSize x localConcurrency = 32 jobs in flight at most.
//   Tried here as 8 x 4, 16 x 2 and 32 x 1: 32 x 1 drained fastest;
// - JobPollingOptions.burstWhenBatchFull: "While each fetch returns a full batchSize batch ... the worker keeps
//   fetching continuously with no delay";
// - ConstructorOptions.useListenNotify + the queue's `notify: true`: "workers on notify-enabled queues are woken
//   the moment a job is created, instead of waiting out their polling interval".
const BATCH_SIZE = 32;

class PgBossAdapter implements QueueAdapter {
  private readonly boss: PgBoss;
  private readonly pool: Pool;

  constructor(databaseUrl: string) {
    this.boss = new PgBoss({ connectionString: databaseUrl, useListenNotify: true });
    this.boss.on('error', (error) => console.error('[pg-boss] error:', error));
    this.pool = benchPool(databaseUrl, 1);
  }

  async open(): Promise<void> {
    await this.boss.start();
    await this.boss.createQueue(QUEUE, { notify: true });
  }

  async enqueueSingle(payload: BenchPayload): Promise<void> {
    await this.boss.send(QUEUE, payload);
  }

  async enqueueBulk(payloads: BenchPayload[]): Promise<void> {
    await this.boss.insert(
      QUEUE,
      payloads.map((data) => ({ data })),
    );
  }

  async startWorker(concurrency: number, onJob: OnJob): Promise<void> {
    const batchSize = Math.min(BATCH_SIZE, concurrency);
    await this.boss.work<BenchPayload>(
      QUEUE,
      { batchSize, localConcurrency: Math.max(1, Math.floor(concurrency / batchSize)), burstWhenBatchFull: true },
      async (jobs) => {
        for (const job of jobs) onJob(job.data);
      },
    );
  }

  async unfinished(): Promise<number> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE state IN ('created', 'retry', 'active')`);
    return rows[0].n;
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 10_000 });
    await this.pool.end();
  }
}

export const pgBoss: SystemDefinition = {
  config:
    `new PgBoss({ useListenNotify: true }), createQueue(name, { notify: true }), work(name, { batchSize: ${BATCH_SIZE}, ` +
    `localConcurrency: ${32 / BATCH_SIZE}, burstWhenBatchFull: true }) (32 jobs in flight; 8x4 and 16x2 were slower), send() / insert() ` +
    '(docs: JobFetchOptions, JobPollingOptions, WorkConcurrencyOptions, ConstructorOptions in node_modules/pg-boss/dist/types.d.ts).',
  create: (url) => new PgBossAdapter(url),
};
