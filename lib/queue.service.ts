import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { toSchedule, toSnapshot } from './db/job-row';
import { JobStores } from './db/stores/job-stores';
import { ScheduleStore } from './db/stores/schedule-store';
import { InvalidJobError, InvalidJobOptionError, InvalidJobQueryError, InvalidPayloadError } from './errors';
import { HandlerRegistry } from './discovery/handler-registry';
import { parsePayload } from './validation/payload-schema';
import { messages } from './errors/messages';
import type {
  EnqueueManyOptions,
  EnqueueOptions,
  JobEvent,
  JobEventFilter,
  JobFilter,
  JobPage,
  JobSnapshot,
  JobPayloadOf,
  JobResultOf,
  JobToEnqueue,
  ListJobsQuery,
  ReadOptions,
  RetryOptions,
  Schedule,
  ScheduleOptions,
  StandardSchemaV1,
  ThroughputPoint,
  TypeStats,
} from './interfaces';
import { ACTION_STATES, bulkSelection, toRetryWrite, unchangedJobError } from './operations/job-actions';
import { decodeCursor, encodeCursor } from './operations/job-cursor';
import { toJobSelection, toListQuery, toReadTimeout } from './operations/job-filter-input';
import type { ResolvedModuleOptions } from './pg-queue.options';
import { JOB_TELEMETRY, RESOLVED_OPTIONS } from './pg-queue.tokens';
import type { JobTelemetry } from './telemetry/job-telemetry';
import { JobEventStream } from './events/job-event-stream';
import { toEventFilter } from './events/job-event-filter';
import { JobInserter } from './producer/job-inserter';
import { JobWatcher } from './producer/job-watcher';
import { assertUniqueKeys, toNewJobRow, validateClient } from './producer/enqueue-input';
import { toScheduleWrite, validateScheduleName } from './schedule/schedule-input';
import { validateJobId, validateJobType } from './validation/job-input';

/** The producer API: enqueue, read, cancel and watch jobs. A producer-only process never starts a worker. */
@Injectable()
export class QueueService {
  constructor(
    private readonly stores: JobStores,
    private readonly schedules: ScheduleStore,
    private readonly inserter: JobInserter,
    private readonly watcher: JobWatcher,
    private readonly eventStream: JobEventStream,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedModuleOptions,
    @Inject(JOB_TELEMETRY) private readonly telemetry: JobTelemetry,
    private readonly registry: HandlerRegistry,
  ) {}

  /**
   * Adds one job. With `options.client` the job is part of the caller's transaction. Otherwise it is committed when
   * the promise resolves, in one statement with the jobs other callers enqueued meanwhile (a keyed job: alone).
   */
  async enqueue<T extends string, P = unknown>(
    type: T,
    payload: JobPayloadOf<T, P>,
    options: EnqueueOptions = {},
  ): Promise<JobSnapshot<JobPayloadOf<T, P>, JobResultOf<T>>> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidJobOptionError(messages.invalidOption('options', options, 'an object'));
    const { client, ...jobOptions } = options;
    validateClient(client);
    const row = toNewJobRow({ ...jobOptions, type, payload }, this.options.maxPayloadBytes);
    const schema = this.schemaOf(type);
    if (schema) await parsePayload(schema, type, payload);
    // A keyed job goes alone: it sees every job committed before it, as one at a time would, and batches of
    // several keys from several processes cannot lock them in opposite orders.
    const [inserted] = await this.telemetry.enqueue([row.type], async (trace) => {
      row.traceContext = trace;
      return [client || row.jobKey !== null ? (await this.stores.inserts.insert([row], client))[0] : await this.inserter.insert(row)];
    });
    return toSnapshot(inserted);
  }

  /** Adds many jobs in one statement, all or nothing: one invalid job rejects the batch before anything is written. */
  async enqueueMany<const T extends string>(
    jobs: ReadonlyArray<JobToEnqueue<T>>,
    options: EnqueueManyOptions = {},
  ): Promise<Array<JobSnapshot<JobPayloadOf<T>, JobResultOf<T>>>> {
    if (!Array.isArray(jobs)) throw new InvalidJobOptionError(messages.invalidOption('jobs', jobs, 'an array'));
    validateClient(options?.client);
    const list = jobs as ReadonlyArray<JobToEnqueue>; // Array.isArray narrows a readonly array to any[]
    const rows = list.map((job, index) => {
      try {
        return toNewJobRow(job, this.options.maxPayloadBytes);
      } catch (error) {
        if (error instanceof InvalidJobError) {
          const Typed = error.constructor as new (message: string) => InvalidJobError;
          throw new Typed(messages.invalidBatch(index, error.message));
        }
        throw error;
      }
    });
    if (rows.length === 0) return [];
    assertUniqueKeys(rows);
    for (const [index, job] of list.entries()) {
      const schema = this.schemaOf(job.type);
      if (!schema) continue;
      await parsePayload(schema, job.type, job.payload).catch((error: unknown) => {
        if (!(error instanceof InvalidPayloadError)) throw error; // a schema that crashed is not bad input
        throw new InvalidPayloadError(messages.invalidBatch(index, error.message), error.issues);
      });
    }
    const inserted = await this.telemetry.enqueue(
      rows.map((row) => row.type),
      (trace) => {
        for (const row of rows) row.traceContext = trace;
        return this.stores.inserts.insert(rows, options?.client);
      },
    );
    return inserted.map((row) => toSnapshot(row));
  }

  /** The schema of the handler of `type` in this process, if it has one (a producer-only process knows none). */
  private schemaOf(type: string): StandardSchemaV1 | undefined {
    return this.registry.get(type)?.options.schema;
  }

  /** The job as stored now, or null when there is no such job. */
  async getJob<P = unknown, R = unknown>(id: string): Promise<JobSnapshot<P, R> | null> {
    const [row] = await this.stores.admin.find([validateJobId(id)]);
    return row ? toSnapshot<P, R>(row) : null;
  }

  /**
   * Cancels a pending or running job (a running handler sees `ctx.signal` abort) and returns the job;
   * a job that already ended is returned unchanged; null when there is no such job.
   */
  async cancel(id: string): Promise<JobSnapshot | null> {
    const cancelled = await this.stores.admin.cancel(validateJobId(id));
    return cancelled ? toSnapshot(cancelled) : this.getJob(id);
  }

  /**
   * A page of jobs matching the query, newest first, and the cursor of the next page. Pages follow one another by id
   * (never an offset): no job is skipped or repeated, whatever is enqueued or removed between two pages.
   */
  async listJobs<P = unknown, R = unknown>(query: ListJobsQuery = {}, options: ReadOptions = {}): Promise<JobPage<P, R>> {
    const { selection, limit, cursor } = toListQuery(query);
    const afterId = cursor === undefined ? undefined : decodeCursor(cursor, selection);
    const rows = await this.stores.operations.list(selection, { afterId, limit }, toReadTimeout(options));
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1].id, selection) : null;
    return { jobs: page.map((row) => toSnapshot<P, R>(row)), nextCursor };
  }

  /** How many jobs match the filter (every job without one). */
  async countJobs(filter: JobFilter = {}, options: ReadOptions = {}): Promise<number> {
    return this.stores.operations.count(toJobSelection(filter), toReadTimeout(options));
  }

  /**
   * Runs a failed or cancelled job again, with a fresh attempt budget, keeping its id, serial queue and last error.
   * Null when there is no such job; JobStateError when it is in another state, or when an unfinished job now holds
   * its job key.
   */
  async retry(id: string, options: RetryOptions = {}): Promise<JobSnapshot | null> {
    const jobId = validateJobId(id);
    const write = toRetryWrite(options);
    const changed = await this.stores.operations.retry({ id: jobId, statuses: ACTION_STATES.retry }, write);
    const [row] = await this.stores.admin.find([jobId]);
    if (!row) return null;
    if (!changed) throw unchangedJobError('retry', row);
    return toSnapshot(row);
  }

  /** Makes a delayed pending job due now (a due one is returned as it is). Null when there is no such job. */
  async promote(id: string): Promise<JobSnapshot | null> {
    const jobId = validateJobId(id);
    const promoted = await this.stores.operations.promote(jobId);
    if (promoted) return toSnapshot(promoted);
    const [row] = await this.stores.admin.find([jobId]);
    if (!row) return null;
    if (row.status !== 'pending') throw unchangedJobError('promote', row);
    return toSnapshot(row);
  }

  /** Deletes a job that is not running (JobStateError if it is). False when there is no such job. */
  async remove(id: string): Promise<boolean> {
    const jobId = validateJobId(id);
    if (await this.stores.operations.remove({ id: jobId, statuses: ACTION_STATES.remove })) return true;
    const [row] = await this.stores.admin.find([jobId]);
    if (!row) return false;
    throw unchangedJobError('remove', row);
  }

  /** Retries every failed or cancelled job matching the filter (see retry), in batches. Returns how many. */
  async retryMany(filter: JobFilter): Promise<number> {
    return this.stores.operations.retry(bulkSelection('retryMany', filter, ACTION_STATES.retry), toRetryWrite({}));
  }

  /** Cancels every pending or running job matching the filter, in batches. Returns how many. */
  async cancelMany(filter: JobFilter): Promise<number> {
    return this.stores.operations.cancel(bulkSelection('cancelMany', filter, ACTION_STATES.cancel));
  }

  /** Deletes every job matching the filter that is not running, in batches. Returns how many. */
  async removeMany(filter: JobFilter): Promise<number> {
    return this.stores.operations.remove(bulkSelection('removeMany', filter, ACTION_STATES.remove));
  }

  /** The lines the job's handler stored with ctx.log(), oldest first, each with its attempt; [] when there are none. */
  async getJobLogs(id: string): Promise<Array<{ at: Date; attempt: number; message: string }>> {
    return this.stores.admin.logs(validateJobId(id));
  }

  /**
   * Job events from every process (started, progress, completed, retrying, failed, cancelled, snoozed, rescued),
   * narrowed by `filter`. Workers publish them only while some process subscribes; they are notifications, not a
   * record: events sent while this process's listener reconnects are missed.
   */
  events<R = unknown>(filter: JobEventFilter = {}): Observable<JobEvent<R>> {
    return this.eventStream.events(toEventFilter(filter)) as Observable<JobEvent<R>>;
  }

  /**
   * Jobs completed and failed per minute and type over the last `minutes` (1 to 1440, default 60), as the workers
   * counted them (each writes its counts about every ten seconds; minutes without jobs are absent).
   */
  async throughput(minutes = 60): Promise<ThroughputPoint[]> {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440)
      throw new InvalidJobQueryError(messages.invalidOption('minutes', minutes, 'an integer from 1 to 1440'));
    return this.stores.events.throughput(minutes);
  }

  /** Emits the job's snapshot on every change of state or progress, from any process; completes when the job ends. */
  watch<P = unknown, R = unknown>(id: string): Observable<JobSnapshot<P, R>> {
    return this.watcher.watch<P, R>(validateJobId(id));
  }

  /**
   * Creates or updates the recurring schedule `name`: each slot of `cron` (in `options.timezone`) enqueues one
   * `type` job with `payload`, exactly once however many processes run. Updating a schedule without changing
   * its timing keeps its next slot.
   */
  async schedule<T extends string, P = unknown>(
    name: string,
    cron: string,
    type: T,
    payload: JobPayloadOf<T, P>,
    options: ScheduleOptions = {},
  ): Promise<Schedule> {
    const schema = typeof type === 'string' ? this.schemaOf(type) : undefined;
    if (schema) await parsePayload(schema, type, payload);
    const now = await this.stores.admin.now();
    const write = toScheduleWrite({ name, cron, type, payload, options, declaredIn: 'runtime' }, now, this.options.maxPayloadBytes);
    return toSchedule(await this.schedules.upsertSchedule(write));
  }

  /** Removes a schedule; jobs it already enqueued stay. Returns false when there was none. */
  async unschedule(name: string): Promise<boolean> {
    return this.schedules.deleteSchedule(validateScheduleName(name));
  }

  /** Every stored schedule, declared in code or at runtime, with its next slot. */
  async listSchedules(): Promise<Schedule[]> {
    return (await this.schedules.listSchedules()).map(toSchedule);
  }

  /** Stops every process from claiming jobs of `type` (within a poll interval); running ones finish. */
  async pause(type: string): Promise<void> {
    return this.stores.admin.pause(validateJobType(type));
  }

  /** Lets jobs of `type` be claimed again, and wakes the workers. */
  async resume(type: string): Promise<void> {
    return this.stores.admin.resume(validateJobType(type));
  }

  async isPaused(type: string): Promise<boolean> {
    return this.stores.admin.isPaused(validateJobType(type));
  }

  /**
   * Per job type: jobs per status, whether it is paused, its lag (oldest due pending job) and the jobs finished in
   * the last minute. It counts over the table: for dashboards and health checks, not for hot paths; with `timeoutMs`,
   * PostgreSQL cancels it after that long.
   */
  async stats(options: ReadOptions = {}): Promise<TypeStats[]> {
    return this.stores.admin.stats(toReadTimeout(options));
  }
}
