import type { INestApplicationContext } from '@nestjs/common';
import { toSnapshot } from '../db/job-row';
import { JobStores } from '../db/stores/job-stores';
import { HandlerRegistry } from '../discovery/handler-registry';
import { PgQueueError } from '../errors';
import { messages } from '../errors/messages';
import type { JobFilter, JobPayloadOf, JobResultOf, JobSnapshot } from '../interfaces';
import { QueueService } from '../queue.service';
import { parsePayload } from '../validation/payload-schema';
import { WorkerPool } from '../worker/worker-pool';
import { TestJobContext } from './test-job-context';

/** What a drain saw finish: the jobs of the app's types that completed or failed while it waited. */
export interface DrainResult {
  completed: JobSnapshot[];
  failed: JobSnapshot[];
}

export interface DrainOptions {
  /** Give up after this long with `QueueDrainError`. @default 10000 */
  timeoutMs?: number;
  /** Resolve even when jobs failed for good, rather than rejecting with `JobsFailedError`. @default false */
  allowFailures?: boolean;
}

/** A drain that did not finish in time: `outstanding` jobs were still due or running. */
export class QueueDrainError extends PgQueueError {}

/** Jobs failed for good during a drain; `failed` holds them, with their `lastError`. */
export class JobsFailedError extends PgQueueError {
  constructor(readonly failed: JobSnapshot[]) {
    super(messages.jobsFailedInDrain(failed.map((job) => `#${job.id} ${job.type}: ${job.lastError?.split('\n', 1)[0] ?? ''}`)));
  }
}

const POLL_MS = 20;

/**
 * Test helpers over a Nest application (or testing module) that imports PgQueueModule with its worker:
 * `QueueTester.from(app)`.
 */
export class QueueTester {
  /** Where the next drain's report starts: the previous drain's end (database time), or the beginning. */
  private reportFrom = new Date(0);
  /** The jobs the previous drain reported: one that finished as it ended may come back, and is not told twice. */
  private reported = new Set<string>();

  private constructor(
    readonly queue: QueueService,
    private readonly registry: HandlerRegistry,
    private readonly stores: JobStores,
    private readonly worker: WorkerPool | null,
  ) {}

  static from(app: INestApplicationContext): QueueTester {
    const get = <T>(token: abstract new (...args: never[]) => T) => app.get(token, { strict: false });
    return new QueueTester(get(QueueService), get(HandlerRegistry), get(JobStores), get(WorkerPool));
  }

  /**
   * Resolves once no job that this app can run is due and pending, or running: follow-up jobs its handlers enqueue
   * are waited for too, jobs due later (a retry's backoff, a delay) are not. Reports the jobs that finished since the
   * previous drain (the first: since the tester was made), which a fast job may do before drain() is even called.
   * Rejects with `JobsFailedError` when some of them failed for good (unless `allowFailures`), and with
   * `QueueDrainError` after `timeoutMs`.
   */
  async drain({ timeoutMs = 10_000, allowFailures = false }: DrainOptions = {}): Promise<DrainResult> {
    if (!this.worker) throw new QueueDrainError(messages.drainWithoutWorker());
    const types = this.registry.types;
    const since = this.reportFrom;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.worker.wake();
      // Read before the count: a job that finishes after it is the next drain's to report.
      const checkedAt = new Date(await this.stores.admin.now());
      const outstanding = await this.stores.admin.outstanding(types);
      if (outstanding === 0) {
        this.reportFrom = checkedAt;
        break;
      }
      if (Date.now() >= deadline) throw new QueueDrainError(messages.drainTimedOut(timeoutMs, outstanding));
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const rows = await this.stores.admin.finishedSince(types, since);
    const finished = rows.filter((row) => !this.reported.has(row.id)).map((row) => toSnapshot(row));
    this.reported = new Set(rows.map((row) => row.id));
    const result = {
      completed: finished.filter((job) => job.status === 'completed'),
      failed: finished.filter((job) => job.status === 'failed'),
    };
    if (result.failed.length > 0 && !allowFailures) throw new JobsFailedError(result.failed);
    return result;
  }

  /**
   * Calls the handler of `type` through DI, as the worker would (its `schema` included), with a context that
   * records instead of writing: nothing touches the database. Returns what the handler returns.
   */
  async run<T extends string, P = unknown>(
    type: T,
    payload: JobPayloadOf<T, P>,
    ctx: TestJobContext = new TestJobContext({ type }),
  ): Promise<JobResultOf<T>> {
    const handler = this.registry.get(type);
    if (!handler) throw new PgQueueError(messages.noHandlerToRun(type, this.registry.types));
    const { schema } = handler.options;
    const value = schema ? await parsePayload(schema, type, payload) : payload;
    return (await handler.invoke(value, ctx)) as JobResultOf<T>;
  }

  /** The jobs enqueued so far that match `filter`, oldest first (at most 1,000). */
  async jobs(filter: JobFilter = {}): Promise<JobSnapshot[]> {
    return (await this.queue.listJobs({ ...filter, limit: 1000 })).jobs.reverse();
  }
}
