import type { LoggerService, LogLevel } from '@nestjs/common';
import type { Pool } from 'pg';

/** Options of the managed worker pool. */
export interface WorkerOptions {
  /** Run handlers in this process. `false` makes a producer-only process that never claims jobs. @default true */
  enabled?: boolean;
  /** Jobs this process runs at once, across all handlers. @default 10 */
  concurrency?: number;
  /**
   * Jobs claimed ahead, beyond the free slots, and kept leased in memory so a slot that frees up starts the next job
   * without a round trip; unstarted ones are handed back at shutdown. `'auto'` claims ahead as many jobs of each type
   * as this process has lately been starting in 10 ms (none while it starts fewer than one per 10 ms; at most 1000),
   * so a job claimed ahead waits for its slot about 10 ms. A number claims that many ahead of each type; `0` claims only what can start at once, so a job enqueued later with a higher priority always starts
   * before lower-priority jobs that have not started yet. @default 'auto'
   */
  prefetch?: number | 'auto';
  /** How long a claim stays valid without a heartbeat; a dead worker's jobs are recovered after it. @default 30000 */
  leaseMs?: number;
  /** Poll floor: how often to look for due jobs when no notification arrives. @default 1000 */
  pollIntervalMs?: number;
  /** On shutdown, how long running jobs may take before their signals are aborted and they are handed back. @default 10000 */
  shutdownTimeoutMs?: number;
  /**
   * Whether the worker's claims, completions, heartbeats and progress wait for their WAL to reach disk before they
   * return, as every PostgreSQL commit does by default. `false` commits them with synchronous_commit off (for those
   * transactions only): less waiting where a flush is slow, but a PostgreSQL crash can then undo up to about the last
   * 0.6 s of them, and the jobs concerned run again once their leases expire, as at-least-once delivery allows.
   * Enqueues, failures, snoozes and every other write always wait. @default true
   */
  synchronousCommit?: boolean;
  /**
   * Fire schedules from this process: the `cron` of its handlers is declared at bootstrap, and due stored schedules
   * enqueue their jobs. `false` leaves every schedule alone (tests, or processes that should not fire them); other
   * processes still fire them. @default true
   */
  schedules?: boolean;
}

/**
 * How long finished jobs are kept before worker processes delete them. Each value is in milliseconds, counted from
 * the job's `finishedAt`; `0` deletes at once.
 */
export interface RetentionOptions {
  /** Completed jobs. `0` deletes them in the completion write itself, so they never stay behind. @default 86400000 (1 day) */
  completedMs?: number;
  /** Jobs that failed for good. `0` deletes them at the next prune. @default 604800000 (7 days) */
  failedMs?: number;
  /** Cancelled jobs. `0` deletes them at the next prune. @default 604800000 (7 days) */
  cancelledMs?: number;
  /** How often each worker process deletes what has outlived its retention. @default 60000 */
  pruneIntervalMs?: number;
}

/**
 * What the queue reports through OpenTelemetry when `@opentelemetry/api` is installed. Without an SDK registered in
 * the application, every call is the API's no-op.
 */
export interface TelemetryOptions {
  /** A producer span per enqueue, whose trace each attempt's consumer span continues. @default true */
  traces?: boolean;
  /** Job counters, wait and run time histograms, queue depth and lag gauges. @default true */
  metrics?: boolean;
}

/** Options of `PgQueueModule.forRoot()` (and what `forRootAsync()` factories return). */
export interface PgQueueModuleOptions {
  /** PostgreSQL connection string; the module creates and ends its own pool. */
  connectionString?: string;
  /** An existing `pg.Pool`; the module uses it and never ends it. */
  pool?: Pool;
  /** Schema holding every table of the queue. @default 'pgqueue' */
  schema?: string;
  /** Apply pending migrations at bootstrap, under an advisory lock. @default true */
  migrate?: boolean;
  /** Largest accepted payload, in bytes of JSON. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /**
   * Run the hot statements (enqueue, claim, completion, heartbeat, progress) as named prepared statements, planned once
   * per connection. Off under `pooler: 'transaction'`, where `true` is a configuration error.
   * @default true (false with `pooler: 'transaction'`)
   */
  preparedStatements?: boolean;
  /**
   * The module's connections go through a pooler in transaction mode (PgBouncer, RDS Proxy, Supavisor), which hands
   * each transaction any of its shared server connections: no named prepared statements, no session settings on the
   * module's connections, and no LISTEN through it (it would never hear a notification). Without
   * `listenConnectionString`, workers and `watch()` then find new jobs, changes and cancellations by polling.
   * @default undefined (direct connections)
   */
  pooler?: 'transaction';
  /**
   * A direct connection to PostgreSQL, bypassing any pooler, used only by the one connection that LISTENs for
   * wake-ups, cancellations and `watch()` updates. Give it with `pooler: 'transaction'` to keep instant wake-ups.
   * @default undefined (the listener connects where the pool does; under `pooler`, no listener)
   */
  listenConnectionString?: string;
  /**
   * How long the module waits for PostgreSQL to answer any one of its statements (enqueues, claims, outcome writes;
   * heartbeats are bounded tighter, by a third of the lease) before it drops the connection as dead and uses a new
   * one. A connection that stops answering without closing (a hung pooler, a load balancer that dropped the flow)
   * would otherwise hold a worker for good. Statements on a `client` you pass to enqueue are yours, not bounded.
   * @default 30000
   */
  queryTimeoutMs?: number;
  /**
   * How long the bootstrap waits for an unreachable PostgreSQL (refused connections, a server starting up, every
   * connection slot taken) before it fails with `DatabaseUnreachableError`, whose `cause` is the last failure. It is
   * checked after each failed attempt: an attempt that is connected (waiting for another process's migration, say)
   * is not cut short, and one connection attempt of the module's own pool gives up after 10 s. `0` fails at the
   * first failure. Failures that waiting cannot cure (authentication, a database that does not exist, TLS settings)
   * fail the bootstrap at once, whatever this says. @default undefined: wait as long as it takes, so a fleet started
   * before its database comes up with it rather than crash-looping.
   */
  connectTimeoutMs?: number;
  /** Worker pool settings. */
  worker?: WorkerOptions;
  /** How long finished jobs are kept; worker processes prune them. */
  retention?: RetentionOptions;
  /**
   * Where the module's log lines go. By default Nest's `Logger`, so they go wherever the application's logger does
   * (`app.useLogger()`: nestjs-pino, a winston adapter...). `false` writes none.
   */
  logger?: LoggerService | false;
  /** The levels the module writes. Add `'debug'` for a line when each attempt starts and ends. @default ['fatal', 'error', 'warn', 'log'] */
  logLevels?: LogLevel[];
  /**
   * Lines about a job (its handler's `ctx.logger`, `ctx.log()`, failures, retries) go to the logger as objects
   * `{ msg, jobId, jobType, attempt }` instead of text, so a JSON logger (nestjs-pino) indexes them by field. The
   * context still names the job. @default false
   */
  structuredLogs?: boolean;
  /** Traces and metrics through OpenTelemetry (`@opentelemetry/api`, an optional peer dependency). `false` turns both off. @default true */
  telemetry?: boolean | TelemetryOptions;
}
