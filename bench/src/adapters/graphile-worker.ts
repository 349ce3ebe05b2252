import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import type { BenchPayload, OnJob, QueueAdapter, SystemDefinition } from '../adapter';
import type { Pool } from 'pg';
import { benchPool } from '../db';

const TASK = 'bench_noop';

// Batching settings from graphile-worker's own option docs (GraphileConfig.WorkerOptions in its index.d.ts,
// each pointing at https://worker.graphile.org/docs/performance#batching):
// - localQueue.size: "A good starting point is often concurrentJobs + 1 ... if you have very high throughput and
//   extremely fast tasks then a much higher number may make sense" (a no-op handler is exactly that). Tried here
//   with 33, 500, 1000 and 2000 (completeJobBatchDelay 0 and 250): 1000 with 0 drained fastest;
// - completeJobBatchDelay / failJobBatchDelay: "Even setting this to 0 can be impactful".
// - maxPoolSize: "we recommend setting it to 10 or concurrentJobs + 2, whichever is larger".
// Per-job "Completed task" lines are info-level logs; like any production setup we keep warnings and errors only.
const LOCAL_QUEUE_SIZE = 1000;
const COMPLETE_JOB_BATCH_DELAY = 0;
const FAIL_JOB_BATCH_DELAY = 0;

const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[graphile-worker] ${level}: ${message}`);
});

class GraphileWorkerAdapter implements QueueAdapter {
  private utils!: WorkerUtils;
  private runner?: Runner;
  private readonly pool: Pool;

  constructor(private readonly databaseUrl: string) {
    this.pool = benchPool(databaseUrl, 1);
  }

  async open(): Promise<void> {
    this.utils = await makeWorkerUtils({ connectionString: this.databaseUrl, logger: quietLogger });
    await this.utils.migrate();
  }

  async enqueueSingle(payload: BenchPayload): Promise<void> {
    // Once the runner is up, enqueue through it, as an app that both produces and works would.
    await (this.runner ?? this.utils).addJob(TASK, payload);
  }

  async enqueueBulk(payloads: BenchPayload[]): Promise<void> {
    await this.utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload })));
  }

  async startWorker(concurrency: number, onJob: OnJob): Promise<void> {
    this.runner = await run({
      connectionString: this.databaseUrl,
      concurrency,
      maxPoolSize: Math.max(10, concurrency + 2),
      noHandleSignals: true,
      logger: quietLogger,
      taskList: { [TASK]: async (payload) => onJob(payload as BenchPayload) },
      preset: {
        worker: {
          localQueue: { size: LOCAL_QUEUE_SIZE },
          completeJobBatchDelay: COMPLETE_JOB_BATCH_DELAY,
          failJobBatchDelay: FAIL_JOB_BATCH_DELAY,
        },
      },
    });
  }

  async unfinished(): Promise<number> {
    // graphile-worker deletes a job when it completes; whatever is left is unfinished.
    const { rows } = await this.pool.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
    return rows[0].n;
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
    await this.utils?.release();
    await this.pool.end();
  }
}

export const graphileWorker: SystemDefinition = {
  config:
    `run({ concurrency: 32, maxPoolSize: 34, preset: { worker: { localQueue: { size: ${LOCAL_QUEUE_SIZE} }, ` +
    `completeJobBatchDelay: ${COMPLETE_JOB_BATCH_DELAY}, failJobBatchDelay: ${FAIL_JOB_BATCH_DELAY} } } }) (localQueue sizes 33, 500 and 2000 and ` +
    'completeJobBatchDelay 250 were slower here), ' +
    'prepared statements on (default), info logs off; enqueues through makeWorkerUtils().addJob / addJobs ' +
    '(docs: GraphileConfig.WorkerOptions in node_modules/graphile-worker/dist/index.d.ts -> worker.graphile.org/docs/performance#batching).',
  create: (url) => new GraphileWorkerAdapter(url),
};
