import { Logger } from '@nestjs/common';
import type { JobStore } from '../db/job-store';
import type { JobCompletion } from '../db/job-writes';
import type { CompletionOutcome } from './completion-writer';
import { JobCancelledError, LeaseLostError, JobTimeoutError, UnrecoverableJobError, WorkerShutdownError } from '../errors';
import { messages } from '../errors/messages';
import { cappedBackoff } from '../services/capped-backoff';
import { toPlainJson } from '../validation/json-value';
import type { ActiveJob } from './active-job';
import { retryDelayMs } from './backoff';
import type { Batcher } from '../services/batcher';
import { describeError } from './error-text';
import { JobExecutionContext, jobLogger } from './job-execution-context';
import type { ProgressBuffer } from './progress-buffer';

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown } | { ok: 'snooze'; delayMs: number };

const PERSIST_RETRY_MIN_MS = 100;
/** How long an aborted handler may take to return before the log says it ignores its signal. */
const OVERSTAY_WARN_MS = 2000;
const PERSIST_RETRY_MAX_MS = 2000;

/** Runs one claimed job: builds its context, enforces its timeout, and records the outcome, fenced by its token. */
export class JobRunner {
  private readonly logger = new Logger('PgQueueWorker');
  private giveUpAt = Infinity;

  constructor(
    private readonly store: JobStore,
    private readonly progress: ProgressBuffer,
    private readonly completer: Batcher<JobCompletion, CompletionOutcome>,
    /** How long to keep retrying an outcome write while the database is unreachable (the lease bound). */
    private readonly persistRetryMs: number,
    /** Results are held to the payload limit (and so kept far below jsonb's). */
    private readonly maxResultBytes: number,
    /** Told when a job went back to pending (a retry or a snooze) and is due again in `dueInMs`. */
    private readonly requeued: (dueInMs: number) => void,
  ) {}

  /**
   * Never rejects. `hooks.outcomeReady` runs once the handler has settled or was aborted, before its outcome is
   * written; `hooks.returned` once the handler's code has really returned. A handler that ignores its aborted
   * signal keeps its slot until then, so no more handler bodies run at once than the concurrency allows.
   */
  async run(job: ActiveJob, hooks: { outcomeReady: () => void; returned: () => void }): Promise<void> {
    const { row, handler } = job;
    const ctx = new JobExecutionContext(
      {
        id: row.id,
        type: row.type,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        priority: row.priority,
        queue: row.queue,
        createdAt: row.created_at,
        runAt: row.run_at,
        startedAt: row.started_at,
      },
      job,
      (percent, stage) => !job.finishing && this.progress.record(job.lease, percent, stage),
    );
    const timeoutMs = handler.options.timeoutMs;
    const timer = timeoutMs ? setTimeout(() => job.abort(new JobTimeoutError(messages.jobTimedOut(timeoutMs))), timeoutMs) : undefined;
    let outcome: Outcome;
    const body = invoke(handler, row.payload, ctx);
    let hasReturned = false;
    try {
      outcome = { ok: true, result: await untilAborted(body, job, () => (hasReturned = true)) };
    } catch (error) {
      outcome = { ok: false, error: job.aborted ? job.abortReason : error };
    } finally {
      clearTimeout(timer);
      job.finishing = true;
      job.writeDeadline = Date.now() + this.persistRetryMs;
      hooks.outcomeReady();
      if (hasReturned) hooks.returned();
      else this.awaitOverstay(job, body, ctx.logger, hooks.returned);
    }
    try {
      await this.settle(job, ctx.snoozeMs === undefined ? outcome : { ok: 'snooze', delayMs: ctx.snoozeMs });
    } catch (error) {
      this.logger.error(
        `Could not record the outcome of job #${row.id} (${row.type}); it will be recovered when its lease expires: ${(error as Error).message}`,
      );
    } finally {
      this.progress.forget(row.id);
    }
  }

  /** Outcome writes stop retrying at this time (the shutdown deadline): what is not written by then is left to the lease. */
  giveUpRetriesAt(epochMs: number): void {
    this.giveUpAt = epochMs;
  }

  /** An aborted handler that has not returned: its slot stays taken until it does, and the log says so. */
  private awaitOverstay(job: ActiveJob, body: Promise<unknown>, logger: Logger, done: () => void): void {
    const abortedAt = Date.now();
    const reason = (job.abortReason as Error | undefined)?.message ?? 'aborted';
    const warning = setTimeout(
      () =>
        logger.warn(
          `Job #${job.lease.id} was aborted (${reason}) ${OVERSTAY_WARN_MS} ms ago and its handler has not returned: it ignores ` +
            'ctx.signal. Its slot stays taken until it returns.',
        ),
      OVERSTAY_WARN_MS,
    );
    warning.unref();
    const returned = () => {
      clearTimeout(warning);
      const late = Date.now() - abortedAt;
      if (late >= OVERSTAY_WARN_MS)
        logger.log(`The handler of job #${job.lease.id} returned ${late} ms after it was aborted; its slot is free.`);
      done();
    };
    body.then(returned, returned);
  }

  private async settle(job: ActiveJob, outcome: Outcome): Promise<void> {
    const reason = job.abortReason;
    // Cancelled or no longer ours: the database already says what happened; any write would be fenced off.
    if (reason instanceof JobCancelledError || reason instanceof LeaseLostError) return;
    if (outcome.ok === 'snooze') return this.snooze(job, outcome.delayMs);
    if (outcome.ok) return this.complete(job, outcome.result);
    // One try only: shutdown is under way; if it fails the lease expires and the job is recovered.
    if (reason instanceof WorkerShutdownError) return void (await this.store.handBack([{ ...job.lease, started: true }]));
    await this.fail(job, outcome.error);
  }

  private async snooze(job: ActiveJob, delayMs: number): Promise<void> {
    const latest = this.progress.latestFor(job.lease.id);
    const accepted = await this.persist(job, () =>
      this.store.snooze(job.lease, delayMs, latest?.percent ?? job.row.progress, latest?.stage ?? null),
    );
    if (accepted) this.requeued(delayMs);
  }

  private async complete(job: ActiveJob, result: unknown): Promise<void> {
    let json: string;
    try {
      json = toPlainJson(result === undefined ? null : result, (path, why) => new UnrecoverableJobError(messages.resultNotJson(path, why)));
      const bytes = Buffer.byteLength(json, 'utf8');
      if (bytes > this.maxResultBytes) throw new UnrecoverableJobError(messages.resultTooLarge(bytes, this.maxResultBytes));
    } catch (error) {
      return this.fail(job, error);
    }
    const stage = this.progress.latestFor(job.lease.id)?.stage ?? null;
    const outcome = await this.persist(job, () => this.completer.add({ ...job.lease, result: json, stage }));
    if (outcome instanceof Error) return this.fail(job, new UnrecoverableJobError(messages.resultRejected(outcome.message)));
    if (!outcome) this.logger.warn(`Completion of job #${job.lease.id} was not recorded: this worker no longer holds its lease.`);
  }

  private async fail(job: ActiveJob, error: unknown): Promise<void> {
    const { row, handler } = job;
    const latest = this.progress.latestFor(row.id);
    // Not `error instanceof ...`: instanceof runs a Proxy's getPrototypeOf trap, and a hostile thrown value whose
    // trap throws would keep the failure from ever being recorded (the job would wait for its lease to expire).
    const final = isInstance(error, UnrecoverableJobError);
    let retryDelay = 0;
    if (!final) {
      try {
        retryDelay = retryDelayMs(handler.options.backoff, row.attempts, error);
      } catch (backoffError) {
        this.logger.warn(`The backoff function of ${handler.name} threw (${(backoffError as Error).message}); using the default backoff.`);
        retryDelay = retryDelayMs(undefined, row.attempts, error);
      }
    }
    const described = describeError(error);
    const status = await this.persist(job, () =>
      this.store.fail({
        ...job.lease,
        error: described,
        retryDelayMs: retryDelay,
        progress: latest?.percent ?? row.progress,
        stage: latest?.stage ?? null,
        final,
      }),
    );
    if (status === 'pending') this.requeued(retryDelay);
    // Every failed attempt, not only the last: a person looking at a flapping job needs each cause.
    const summary = described.split('\n', 1)[0];
    if (status === 'pending')
      jobLogger(row).warn(`Attempt ${row.attempts} of ${row.max_attempts} failed: ${summary}; retrying in ${retryDelay} ms.`);
    if (status === 'failed') jobLogger(row).error(`Failed for good after ${row.attempts} attempt(s): ${summary}`, described);
  }

  /** Retries a write through database outages for as long as the lease could still be ours, and not past shutdown's deadline. */
  private async persist<T>(job: ActiveJob, write: () => Promise<T>): Promise<T> {
    const leaseDeadline = Date.now() + this.persistRetryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const deadline = Math.min(leaseDeadline, this.giveUpAt);
        if (job.leaseLost || Date.now() >= deadline) throw error;
        await delay(Math.min(cappedBackoff(attempt, PERSIST_RETRY_MIN_MS, PERSIST_RETRY_MAX_MS), deadline - Date.now()));
      }
    }
  }
}

/** `value instanceof type`, or false when asking throws (instanceof runs a Proxy's getPrototypeOf trap). */
function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** The handler's promise; a handler that throws synchronously is a rejected promise like any other. */
function invoke(handler: ActiveJob['handler'], payload: unknown, ctx: JobExecutionContext): Promise<unknown> {
  try {
    return handler.invoke(payload, ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Settles with the handler, or rejects with the job's abort reason as soon as it is aborted. `onReturn` runs when the
 * handler's own promise settles, before this one does (one reaction per job: this runs for every job).
 */
function untilAborted<T>(work: Promise<T>, job: ActiveJob, onReturn: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    work.then(
      (value) => {
        onReturn();
        resolve(value);
      },
      (error) => {
        onReturn(); // also keeps a handler that rejects after being abandoned from crashing the process
        reject(error);
      },
    );
    if (job.aborted) reject(job.abortReason);
    else job.onAbort = reject;
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
