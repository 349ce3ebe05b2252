import type { OutcomeStore } from '../db/stores/outcome-store';
import type { JobCompletion } from '../db/job-writes';
import { JobCancelledError, LeaseLostError, UnrecoverableJobError, WorkerShutdownError } from '../errors';
import { messages } from '../errors/messages';
import type { Batcher } from '../services/batcher';
import { cappedBackoff } from '../services/capped-backoff';
import { toPlainJson } from '../validation/json-value';
import type { JobEventBus } from '../events/job-event-bus';
import type { ActiveJob } from './active-job';
import { retryDelayMs } from './backoff';
import type { CompletionOutcome } from './completion-writer';
import { describeError } from './error-text';
import type { LogBuffer } from './log-buffer';
import type { ProgressBuffer } from './progress-buffer';
import type { AttemptEnd } from '../telemetry/job-telemetry';
import type { QueueLogger, QueueLogs } from '../services/queue-logger';

/** What a handler's run came to. */
export type HandlerOutcome = { ok: true; result: unknown } | { ok: false; error: unknown } | { ok: 'snooze'; delayMs: number };

const PERSIST_RETRY_MIN_MS = 100;
const PERSIST_RETRY_MAX_MS = 2000;

/**
 * Writes a job's outcome, fenced by its claim token: a completion (through the group-commit batch), a failure (retry
 * with backoff, or failed for good), a snooze, or a hand-back at shutdown. A write is retried through database outages
 * for as long as the lease could still be ours, and never past the shutdown deadline.
 */
export class OutcomeWriter {
  private readonly logger: QueueLogger;
  private giveUpAt = Infinity;

  constructor(
    private readonly store: OutcomeStore,
    private readonly progress: ProgressBuffer,
    private readonly logs: LogBuffer,
    private readonly completer: Batcher<JobCompletion, CompletionOutcome>,
    /** How long to keep retrying an outcome write while the database is unreachable (the lease bound). */
    private readonly persistRetryMs: number,
    /** Results are held to the payload limit (and so kept far below jsonb's). */
    private readonly maxResultBytes: number,
    /** Told when a job went back to pending (a retry or a snooze) and is due again in `dueInMs`. */
    private readonly requeued: (dueInMs: number) => void,
    private readonly events: JobEventBus,
    private readonly moduleLogs: QueueLogs,
  ) {
    this.logger = moduleLogs.for('PgQueueWorker');
  }

  /** Writes stop retrying at this time (the shutdown deadline): what is not written by then is left to the lease. */
  giveUpRetriesAt(epochMs: number): void {
    this.giveUpAt = epochMs;
  }

  /**
   * Writes what the handler's run came to, and says how the attempt ended; rejects with the last error when it could
   * not be written in time (the lease then decides).
   */
  async write(job: ActiveJob, outcome: HandlerOutcome): Promise<AttemptEnd> {
    // One deadline for every write about this job, read by the heartbeat too: it keeps the lease only until then.
    job.writeDeadline = Date.now() + this.persistRetryMs;
    const reason = job.abortReason;
    // Cancelled or no longer ours: the database already says what happened; any write would be fenced off.
    if (reason instanceof JobCancelledError) {
      this.events.emit('cancelled', job.row);
      return CANCELLED;
    }
    if (reason instanceof LeaseLostError) return notWritten(reason.message);
    // Its last lines first, while its lease holds: once the outcome is written they would be fenced off. Lines that
    // cannot be stored in time are given up, never the outcome.
    if (this.logs.hasLogged(job.lease.id))
      await this.persist(job, () => this.logs.flushFor(job.lease, job.row.attempts)).catch((error: Error) =>
        this.logger.warn(`The last log lines of job #${job.lease.id} could not be stored: ${error.message}`),
      );
    if (outcome.ok === 'snooze') return this.snooze(job, outcome.delayMs);
    if (outcome.ok) return this.complete(job, outcome.result);
    // One try only: shutdown is under way; if it fails the lease expires and the job is recovered.
    if (reason instanceof WorkerShutdownError) {
      await this.store.handBack([{ ...job.lease, started: true }]);
      return notWritten(reason.message);
    }
    return this.fail(job, outcome.error);
  }

  private async snooze(job: ActiveJob, delayMs: number): Promise<AttemptEnd> {
    const latest = this.progress.latestFor(job.lease.id);
    const accepted = await this.persist(job, () =>
      this.store.snooze(job.lease, delayMs, latest?.percent ?? job.row.progress, latest?.stage ?? null),
    );
    if (!accepted) return notWritten(messages.leaseLost());
    this.requeued(delayMs);
    this.events.emit('snoozed', job.row, { delayMs });
    return { outcome: 'snoozed', delayMs };
  }

  private async complete(job: ActiveJob, result: unknown): Promise<AttemptEnd> {
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
    if (!outcome) {
      this.logger.warn(`Completion of job #${job.lease.id} was not recorded: this worker no longer holds its lease.`);
      return notWritten(messages.leaseLost());
    }
    this.events.emit('completed', job.row, { result });
    return COMPLETED;
  }

  private async fail(job: ActiveJob, error: unknown): Promise<AttemptEnd> {
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
    if (status)
      this.events.emit(status === 'pending' ? 'retrying' : 'failed', row, {
        error: described,
        cause: error,
        ...(status === 'pending' && { delayMs: retryDelay }),
      });
    // Every failed attempt, not only the last: a person looking at a flapping job needs each cause.
    const summary = described.split('\n', 1)[0];
    const jobLog = this.moduleLogs.forJob({ id: row.id, type: row.type, attempt: row.attempts });
    if (status === 'pending')
      jobLog.warn(`Attempt ${row.attempts} of ${row.max_attempts} failed: ${summary}; retrying in ${retryDelay} ms.`);
    if (status === 'failed') jobLog.error(`Failed for good after ${row.attempts} attempt(s): ${summary}`, described);
    if (!status) return notWritten(messages.leaseLost());
    return status === 'pending'
      ? { outcome: 'retrying', error, description: described, delayMs: retryDelay }
      : { outcome: 'failed', error, description: described };
  }

  /** Retries a write through database outages for as long as the lease could still be ours, and not past shutdown's deadline. */
  private async persist<T>(job: ActiveJob, write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const deadline = Math.min(job.writeDeadline ?? 0, this.giveUpAt);
        if (job.phase === 'leaseLost' || Date.now() >= deadline) throw error;
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

const notWritten = (reason: string): AttemptEnd => ({ outcome: 'interrupted', reason });
// The ends that carry nothing of their own, shared: the completion path allocates nothing for them.
const COMPLETED: AttemptEnd = { outcome: 'completed' };
const CANCELLED: AttemptEnd = { outcome: 'cancelled' };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
