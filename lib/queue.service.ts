import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { toSnapshot } from './db/job-row';
import { JobStore } from './db/job-store';
import { InvalidJobError, InvalidJobOptionError } from './errors';
import { messages } from './errors/messages';
import type { EnqueueManyOptions, EnqueueOptions, JobSnapshot, JobToEnqueue } from './interfaces';
import type { ResolvedModuleOptions } from './pg-queue.options';
import { RESOLVED_OPTIONS } from './pg-queue.tokens';
import { JobWatcher } from './producer/job-watcher';
import { toNewJobRow, validateClient } from './producer/enqueue-input';
import { validateJobId } from './validation/job-input';

/** The producer API: enqueue, read, cancel and watch jobs. A producer-only process never starts a worker. */
@Injectable()
export class QueueService {
  constructor(
    private readonly store: JobStore,
    private readonly watcher: JobWatcher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedModuleOptions,
  ) {}

  /** Adds one job. With `options.client` the job is part of the caller's transaction. */
  async enqueue<P = unknown>(type: string, payload: P, options: EnqueueOptions = {}): Promise<JobSnapshot<P>> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidJobOptionError(messages.invalidOption('options', options, 'an object'));
    const { client, ...jobOptions } = options;
    validateClient(client);
    const row = toNewJobRow({ ...jobOptions, type, payload }, this.options.maxPayloadBytes);
    const [inserted] = await this.store.insert([row], client);
    return toSnapshot<P>(inserted);
  }

  /** Adds many jobs in one statement, all or nothing: one invalid job rejects the batch before anything is written. */
  async enqueueMany<P = unknown>(jobs: Array<JobToEnqueue<P>>, options: EnqueueManyOptions = {}): Promise<Array<JobSnapshot<P>>> {
    if (!Array.isArray(jobs)) throw new InvalidJobOptionError(messages.invalidOption('jobs', jobs, 'an array'));
    validateClient(options?.client);
    const rows = jobs.map((job, index) => {
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
    const inserted = await this.store.insert(rows, options?.client);
    return inserted.map((row) => toSnapshot<P>(row));
  }

  /** The job as stored now, or null when there is no such job. */
  async getJob<P = unknown, R = unknown>(id: string): Promise<JobSnapshot<P, R> | null> {
    const [row] = await this.store.find([validateJobId(id)]);
    return row ? toSnapshot<P, R>(row) : null;
  }

  /**
   * Cancels a pending or running job (a running handler sees `ctx.signal` abort) and returns the job;
   * a job that already ended is returned unchanged; null when there is no such job.
   */
  async cancel(id: string): Promise<JobSnapshot | null> {
    const cancelled = await this.store.cancel(validateJobId(id));
    return cancelled ? toSnapshot(cancelled) : this.getJob(id);
  }

  /** Emits the job's snapshot on every change of state or progress, from any process; completes when the job ends. */
  watch<P = unknown, R = unknown>(id: string): Observable<JobSnapshot<P, R>> {
    return this.watcher.watch<P, R>(validateJobId(id));
  }
}
