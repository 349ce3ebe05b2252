import 'reflect-metadata';
import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
// The library under test, as built by `npm --prefix .. run build`. Nest itself resolves from the repo root's
// node_modules (bench/ declares no Nest packages), so the library and this app share one copy of Nest.
import { JobHandler, PgQueueModule, QueueService } from '../../../dist';
import type { BenchPayload, OnJob, QueueAdapter, SystemDefinition } from '../adapter';
import type { Pool } from 'pg';
import { benchPool } from '../db';

export const JOB_TYPE = 'bench.noop';
const ON_JOB = Symbol('onJob');

@Injectable()
class NoopHandlers {
  constructor(@Inject(ON_JOB) private readonly onJob: OnJob) {}

  @JobHandler(JOB_TYPE)
  async noop(payload: BenchPayload): Promise<void> {
    this.onJob(payload);
  }
}

/** A Nest application context as a user would run it: default options, except the worker's concurrency. */
export async function createApp(databaseUrl: string, worker?: { concurrency: number; onJob: OnJob }): Promise<INestApplicationContext> {
  @Module({
    imports: [
      PgQueueModule.forRoot({
        connectionString: databaseUrl,
        worker: worker ? { concurrency: worker.concurrency } : { enabled: false },
      }),
    ],
    providers: worker ? [NoopHandlers, { provide: ON_JOB, useValue: worker.onJob }] : [],
  })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
}

class NestjsPgqueueAdapter implements QueueAdapter {
  private producer?: INestApplicationContext;
  private queue!: QueueService;
  private worker?: INestApplicationContext;
  private readonly pool: Pool;

  constructor(private readonly databaseUrl: string) {
    this.pool = benchPool(databaseUrl, 1);
  }

  async open(): Promise<void> {
    // Producer-only app (worker.enabled: false) so nothing is claimed while the enqueue scenarios run.
    this.producer = await createApp(this.databaseUrl);
    this.queue = this.producer.get(QueueService);
  }

  async enqueueSingle(payload: BenchPayload): Promise<void> {
    await this.queue.enqueue(JOB_TYPE, payload);
  }

  async enqueueBulk(payloads: BenchPayload[]): Promise<void> {
    await this.queue.enqueueMany(payloads.map((payload) => ({ type: JOB_TYPE, payload })));
  }

  async startWorker(concurrency: number, onJob: OnJob): Promise<void> {
    this.worker = await createApp(this.databaseUrl, { concurrency, onJob });
    // From now on enqueue as a single app that both produces and works would (the latency scenario).
    this.queue = this.worker.get(QueueService);
  }

  async unfinished(): Promise<number> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM pgqueue.jobs WHERE status IN ('pending', 'running')`);
    return rows[0].n;
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    await this.producer?.close();
    await this.pool.end();
  }
}

export const nestjsPgqueue: SystemDefinition = {
  config:
    'Nest application context, PgQueueModule.forRoot with default options, worker.concurrency 32 for the drain; ' +
    'enqueues through a producer-only app (worker.enabled: false) so no job runs before the drain.',
  create: (url) => new NestjsPgqueueAdapter(url),
};
