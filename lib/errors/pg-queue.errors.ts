/** Base class of every error nestjs-pgqueue throws on purpose. */
export class PgQueueError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input to enqueue, getJob, cancel or ctx.progress; nothing was written. */
export class InvalidJobError extends PgQueueError {}

/** The job type is empty, too long or has characters outside the allowed set. */
export class InvalidJobTypeError extends InvalidJobError {}

/**
 * The payload is not plain JSON (BigInt, cycles, functions, Dates, NUL characters...), is too large, or does not match
 * its handler's `schema`; then `issues` lists each field that is wrong (`path` like `items[2].sku`, and why).
 */
export class InvalidPayloadError extends InvalidJobError {
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

/** An enqueue option (priority, runAt, delayMs, maxAttempts, client) is invalid. */
export class InvalidJobOptionError extends InvalidJobError {}

/** A cron expression, time zone or schedule option is invalid. */
export class InvalidScheduleError extends InvalidJobError {}

/** A job key, key mode or queue name is invalid. */
export class InvalidJobKeyError extends InvalidJobOptionError {}

/** A job id is not a positive integer string. */
export class InvalidJobIdError extends InvalidJobError {}

/** A filter or query of listJobs, countJobs or a bulk action is invalid (status, limit, dates, unknown field). */
export class InvalidJobQueryError extends InvalidJobError {}

/** A `listJobs` cursor was not issued for this query: altered, from another filter, or not a cursor at all. */
export class InvalidCursorError extends InvalidJobQueryError {}

/**
 * An action does not apply to the job in its current state (retrying a running job, removing one that runs...).
 * Nothing was changed. `status` is the state the job was found in.
 */
export class JobStateError extends PgQueueError {
  constructor(
    message: string,
    readonly jobId: string,
    readonly status: string,
  ) {
    super(message);
  }
}

/** Module, worker or handler configuration is invalid; raised at bootstrap. */
export class PgQueueConfigError extends PgQueueError {}

/** The schema name is not a safe PostgreSQL identifier. */
export class InvalidSchemaNameError extends PgQueueConfigError {}

/** Two @JobHandler methods claim one job type. */
export class DuplicateJobHandlerError extends PgQueueConfigError {}

/** The database schema is missing migrations and `migrate` is false. */
export class SchemaNotMigratedError extends PgQueueConfigError {}

/**
 * The database schema has migrations this version of the package does not know: a newer version migrated it. Raised
 * at bootstrap, with `migrate` true or false, and by the `nestjs-pgqueue` command's `migrate` and `status`; nothing
 * was changed.
 */
export class SchemaTooNewError extends PgQueueConfigError {}

/**
 * At bootstrap, PostgreSQL turned the connection away for a reason that waiting does not cure: authentication, a
 * database or role that does not exist, TLS settings. `cause` is its error.
 */
export class DatabaseAccessError extends PgQueueConfigError {}

/** At bootstrap, PostgreSQL stayed unreachable for longer than `connectTimeoutMs`; `cause` is the last failure. */
export class DatabaseUnreachableError extends PgQueueError {}

/** `watch()` was asked for a job that does not exist. */
export class JobNotFoundError extends PgQueueError {}

/** Reason given to `ctx.signal` when the handler's timeoutMs elapsed. */
export class JobTimeoutError extends PgQueueError {}

/** Thrown by a handler: the job fails at once, whatever attempts remain. */
export class UnrecoverableJobError extends PgQueueError {}

/** Reason given to `ctx.signal` when the job was cancelled. */
export class JobCancelledError extends PgQueueError {}

/** Reason given to `ctx.signal` when this worker no longer holds the job's lease. */
export class LeaseLostError extends PgQueueError {}

/**
 * Thrown by `ctx.snooze()` to end the handler. A handler that catches errors should rethrow it (the snooze stands
 * anyway: the worker reads the request from the context, not from the throw).
 */
export class JobSnoozedSignal extends PgQueueError {}

/** Reason given to `ctx.signal` when the shutdown deadline passed; the job is handed back. */
export class WorkerShutdownError extends PgQueueError {}

/**
 * PostgreSQL did not answer a statement within `queryTimeoutMs`; the connection was dropped. A write may or may not
 * have taken effect (its commit may have been lost on the way back): an enqueue retried after it can add the job
 * twice unless it has a `jobKey`.
 */
export class QueryTimeoutError extends PgQueueError {}

/** A `watch()` stream ended because the queue module is shutting down, before the job finished. */
export class QueueShutdownError extends PgQueueError {}
