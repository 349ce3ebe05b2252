import type { Pool } from 'pg';

/** Options of the managed worker pool. */
export interface WorkerOptions {
  /** Run handlers in this process. `false` makes a producer-only process that never claims jobs. @default true */
  enabled?: boolean;
  /** Jobs this process runs at once, across all handlers. @default 10 */
  concurrency?: number;
  /** How long a claim stays valid without a heartbeat; a dead worker's jobs are recovered after it. @default 30000 */
  leaseMs?: number;
  /** Poll floor: how often to look for due jobs when no notification arrives. @default 1000 */
  pollIntervalMs?: number;
  /** On shutdown, how long running jobs may take before their signals are aborted and they are handed back. @default 10000 */
  shutdownTimeoutMs?: number;
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
   * Run enqueue statements as named prepared statements, planned once per connection. Turn off behind PgBouncer in
   * transaction mode (or any pooler that cannot keep prepared statements). @default true
   */
  preparedStatements?: boolean;
  /** Worker pool settings. */
  worker?: WorkerOptions;
}
