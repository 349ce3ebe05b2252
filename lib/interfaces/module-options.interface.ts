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
   * per connection. Turn off behind PgBouncer in transaction mode (or any pooler that cannot keep prepared statements).
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * How long the module waits for PostgreSQL to answer any one of its statements (enqueues, claims, outcome writes;
   * heartbeats are bounded tighter, by a third of the lease) before it drops the connection as dead and uses a new
   * one. A connection that stops answering without closing (a hung pooler, a load balancer that dropped the flow)
   * would otherwise hold a worker for good. Statements on a `client` you pass to enqueue are yours, not bounded.
   * @default 30000
   */
  queryTimeoutMs?: number;
  /** Worker pool settings. */
  worker?: WorkerOptions;
  /** How long finished jobs are kept; worker processes prune them. */
  retention?: RetentionOptions;
}
