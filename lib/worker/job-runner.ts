import { InvalidPayloadError, JobTimeoutError, UnrecoverableJobError } from '../errors';
import type { StandardSchemaV1 } from '../interfaces';
import { parsePayload } from '../validation/payload-schema';
import { messages } from '../errors/messages';
import type { JobEventBus } from '../events/job-event-bus';
import type { ActiveJob } from './active-job';
import { JobExecutionContext } from './job-execution-context';
import type { HandlerOutcome, OutcomeWriter } from './outcome-writer';
import type { LogBuffer } from './log-buffer';
import type { ProgressBuffer } from './progress-buffer';
import type { AttemptEnd, JobTelemetry } from '../telemetry/job-telemetry';
import type { QueueLogger, QueueLogs } from '../services/queue-logger';

/** How long an aborted handler may take to return before the log says it ignores its signal. */
const OVERSTAY_WARN_MS = 2000;

/** Runs one claimed job: builds its context, enforces its timeout and abort, and hands its outcome to the OutcomeWriter. */
export class JobRunner {
  private readonly logger: QueueLogger;

  constructor(
    private readonly progress: ProgressBuffer,
    private readonly logs: LogBuffer,
    private readonly outcomes: OutcomeWriter,
    private readonly events: JobEventBus,
    private readonly telemetry: JobTelemetry,
    private readonly moduleLogs: QueueLogs,
  ) {
    this.logger = moduleLogs.for('PgQueueWorker');
  }

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
      (percent, stage) => {
        if (job.phase !== 'running') return;
        this.progress.record(job.lease, percent, stage);
        this.events.emit('progress', row, { progress: percent, stage: stage ?? null });
      },
      (message) => job.phase === 'running' && this.logs.record(job.lease, row.attempts, message),
      this.moduleLogs,
    );
    // A line per attempt, only when 'debug' is among the levels: building it costs nothing otherwise.
    const startedAt = this.moduleLogs.isEnabled('debug') ? Date.now() : undefined;
    if (startedAt !== undefined) ctx.logger.debug(`Attempt ${row.attempts} of ${row.max_attempts} started.`);
    this.events.emit('started', row);
    const attempt = this.telemetry.startAttempt(row);
    const timeoutMs = handler.options.timeoutMs;
    const timer = timeoutMs ? setTimeout(() => job.abort(new JobTimeoutError(messages.jobTimedOut(timeoutMs))), timeoutMs) : undefined;
    let outcome: HandlerOutcome;
    const body = attempt ? attempt.run(() => invoke(handler, row.payload, ctx)) : invoke(handler, row.payload, ctx);
    let hasReturned = false;
    try {
      outcome = { ok: true, result: await untilAborted(body, job, () => (hasReturned = true)) };
    } catch (error) {
      outcome = { ok: false, error: job.aborted ? job.abortReason : error };
    } finally {
      clearTimeout(timer);
      job.handlerSettled();
      hooks.outcomeReady();
      if (hasReturned) hooks.returned();
      else this.awaitOverstay(job, body, ctx.logger, hooks.returned);
    }
    let end: AttemptEnd;
    try {
      end = await this.outcomes.write(job, ctx.snoozeMs === undefined ? outcome : { ok: 'snooze', delayMs: ctx.snoozeMs });
    } catch (error) {
      const message = (error as Error).message;
      this.logger.error(
        `Could not record the outcome of job #${row.id} (${row.type}); it will be recovered when its lease expires: ${message}`,
      );
      end = { outcome: 'interrupted', reason: message };
    } finally {
      this.progress.forget(row.id);
      this.logs.forget(row.id);
    }
    attempt?.end(end);
    if (startedAt !== undefined) ctx.logger.debug(`Attempt ${row.attempts} ${end.outcome} after ${Date.now() - startedAt} ms.`);
  }

  /** An aborted handler that has not returned: its slot stays taken until it does, and the log says so. */
  private awaitOverstay(job: ActiveJob, body: Promise<unknown>, logger: QueueLogger, done: () => void): void {
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
}

/**
 * The handler's promise; a handler that throws synchronously is a rejected promise like any other. With a `schema`,
 * the payload is checked first: one that fails it fails the job for good, and the handler never sees it; the handler
 * gets the schema's output.
 */
function invoke(handler: ActiveJob['handler'], payload: unknown, ctx: JobExecutionContext): Promise<unknown> {
  const { schema } = handler.options;
  if (schema) return invokeChecked(handler, schema, payload, ctx);
  try {
    return handler.invoke(payload, ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function invokeChecked(handler: ActiveJob['handler'], schema: StandardSchemaV1, payload: unknown, ctx: JobExecutionContext) {
  const value = await parsePayload(schema, handler.type, payload).catch((error: unknown) => {
    // Bad data stays bad however often it is retried; a schema that crashed may not.
    throw error instanceof InvalidPayloadError ? new UnrecoverableJobError(error.message) : error;
  });
  return handler.invoke(value, ctx);
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
