import { Queue, Worker, createPostgresBackend, withBackend } from 'bullmq';
import type { BenchPayload, OnJob, QueueAdapter, SystemDefinition } from '../adapter';

import { REDIS } from '../db';

const QUEUE = 'bench_noop';

// BullMQ 6 ships a PostgreSQL backend (bullmq/dist/*/postgres, `pg` is an optional peer dependency), used
// through `withBackend(createPostgresBackend)`, as the doc comment of withBackend shows. Both backends run with
// the documented defaults: Worker `concurrency` for parallelism, `addBulk` for bulk enqueues.
type AnyQueue = Pick<Queue, 'add' | 'addBulk' | 'getJobCounts' | 'obliterate' | 'close' | 'waitUntilReady'>;
type AnyWorker = Pick<Worker, 'close' | 'waitUntilReady'>;

class BullmqAdapter implements QueueAdapter {
  private queue!: AnyQueue;
  private worker?: AnyWorker;

  constructor(
    private readonly make: {
      queue: () => AnyQueue;
      worker: (processor: (job: { data: BenchPayload }) => Promise<void>, concurrency: number) => AnyWorker;
      cleanUp: boolean;
    },
  ) {}

  async open(): Promise<void> {
    this.queue = this.make.queue();
    await this.queue.waitUntilReady();
  }

  async enqueueSingle(payload: BenchPayload): Promise<void> {
    await this.queue.add(QUEUE, payload);
  }

  async enqueueBulk(payloads: BenchPayload[]): Promise<void> {
    await this.queue.addBulk(payloads.map((data) => ({ name: QUEUE, data })));
  }

  async startWorker(concurrency: number, onJob: OnJob): Promise<void> {
    this.worker = this.make.worker(async (job) => onJob(job.data), concurrency);
    await this.worker.waitUntilReady();
  }

  async unfinished(): Promise<number> {
    const counts = await this.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    // Redis has no per-run database to drop: remove this run's keys instead.
    if (this.make.cleanUp) await this.queue.obliterate({ force: true });
    await this.queue.close();
  }
}

export const bullmqPostgres: SystemDefinition = {
  config:
    'bullmq with its built-in PostgreSQL backend: withBackend(createPostgresBackend), connection { connectionString, migrate: true }, ' +
    'Worker { concurrency: 32 }, queue.add / queue.addBulk, other options default ' +
    '(docs: withBackend and createPostgresBackend doc comments in node_modules/bullmq/dist/esm).',
  create: (url) => {
    const pg = withBackend(createPostgresBackend);
    // `migrate: true` creates its schema on connect (without it: 'schema "bullmq" is not initialized').
    const connection = { connectionString: url, migrate: true };
    return new BullmqAdapter({
      queue: () => new pg.Queue(QUEUE, { connection }) as unknown as AnyQueue,
      worker: (processor, concurrency) => new pg.Worker(QUEUE, processor, { connection, concurrency }) as unknown as AnyWorker,
      cleanUp: false,
    });
  },
};

export const bullmqRedis: SystemDefinition = {
  config:
    'bullmq on Redis at 127.0.0.1:6379 (reference line, not a PostgreSQL peer): Worker { concurrency: 32 }, ' +
    'queue.add / queue.addBulk, a per-run key prefix removed afterwards, other options default.',
  create: () => {
    const prefix = `bench-${process.pid}-${Date.now()}`;
    return new BullmqAdapter({
      queue: () => new Queue(QUEUE, { connection: REDIS, prefix }),
      worker: (processor, concurrency) =>
        new Worker(QUEUE, processor, { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix, concurrency }),
      cleanUp: true,
    });
  },
};
