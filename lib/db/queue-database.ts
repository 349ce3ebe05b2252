import { QueueLogs, type QueueLogger } from '../services/queue-logger';
import { Pool, type ClientBase, type ClientConfig, type PoolConfig, type QueryConfig } from 'pg';
import { channelsFor, quoteSchema, type Channels } from './identifiers';
import { queueOperationsSql, queueSql, type QueueSql } from './queue-sql';
import type { OperationsSql } from './sql/operations-sql';

/** How long opening one connection, and its session settings, may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Settings of the connections the module opens itself; an application's own pool (the `pool` option) is left as
 * it is. A prepared statement is planned once and its plan reused: by default PostgreSQL plans the claim afresh on
 * every run, because its generic plan looks dearer on paper, and that planning is about half of a claim's time.
 * JIT compilation is off: the queue's statements touch a few rows each, and a large table can push their estimated
 * cost over jit_above_cost, which adds tens of milliseconds to every run.
 */
const applySessionSettings = (client: ClientBase): Promise<unknown> =>
  // Bounded: pg-pool's connect timeout ends with the connection, and a SET that never returns would hold a pool slot.
  client.query({ text: 'SET plan_cache_mode = force_generic_plan; SET jit = off', query_timeout: CONNECT_TIMEOUT_MS } as QueryConfig);

/** How the module uses PostgreSQL: straight or through a transaction-mode pooler, where the listener connects, how the worker commits. */
export interface DatabaseMode {
  pooler?: 'transaction';
  /** A direct connection for the listener, bypassing the pooler. */
  listenConnectionString?: string;
  /** The worker's claims, completions, heartbeats and progress commit asynchronously (see WorkerCommitOptions). */
  asyncWorkerCommits?: boolean;
  /** Where the module's lines go: every part that talks to PostgreSQL through this database logs through it. */
  logs?: QueueLogs;
}

/**
 * None behind a transaction pooler: a SET stays on the pooler's server connection, which the next transaction of any
 * client gets. plan_cache_mode pays off only for prepared statements, which a pooler cannot keep; see README for JIT.
 */
/**
 * pg-pool awaits a promise from `onConnect` before it hands the connection out (pg 8.20+), though its types say void.
 */
const sessionSettingsFor = (mode: DatabaseMode) => (mode.pooler ? undefined : (applySessionSettings as (client: ClientBase) => void));

const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 };

/** The pool, the schema and its statements: what every part of the queue talks to PostgreSQL through. */
export class QueueDatabase {
  readonly quotedSchema: string;
  readonly sql: QueueSql;
  readonly operations: OperationsSql;
  readonly channels: Channels;
  /** The module's logging (the logger, logLevels and structuredLogs options). */
  readonly logs: QueueLogs;
  private readonly logger: QueueLogger;
  private readonly onPoolError = (error: Error) => this.logger.warn(`An idle PostgreSQL connection failed: ${error.message}`);
  private closed?: Promise<void>;
  private controlPool?: Pool;

  constructor(
    readonly pool: Pool,
    readonly schema: string,
    /** True when the module created the pool and therefore ends it. */
    private readonly ownsPool: boolean,
    private readonly mode: DatabaseMode = {},
  ) {
    this.logs = mode.logs ?? new QueueLogs();
    this.logger = this.logs.for('PgQueue');
    this.quotedSchema = quoteSchema(schema);
    this.sql = queueSql(this.quotedSchema, { asyncWorkerCommits: mode.asyncWorkerCommits ?? false });
    this.operations = queueOperationsSql(this.quotedSchema);
    this.channels = channelsFor(schema);
    // Without a listener, an idle client dropped by the server crashes the process (node-postgres #1700).
    pool.on('error', this.onPoolError);
  }

  static fromConnectionString(connectionString: string, schema: string, mode: DatabaseMode = {}): QueueDatabase {
    // Keepalive probes after 10 s idle find peers that vanished (the OS default waits two hours); the connect
    // timeout keeps a dead server from stalling claims and heartbeats forever.
    const pool = new Pool({
      connectionString,
      ...KEEPALIVE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      onConnect: sessionSettingsFor(mode),
    });
    return new QueueDatabase(pool, schema, true, mode);
  }

  /**
   * The worker's control plane (heartbeats and lease recovery) on its own small pool, always created and ended here:
   * handlers that use, or exhaust, the application's pool can never hold back a heartbeat until the lease expires.
   */
  get control(): Pool {
    if (!this.controlPool) {
      this.controlPool = new Pool({
        ...this.connectionConfig(),
        max: 2,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        onConnect: sessionSettingsFor(this.mode),
      });
      this.controlPool.on('error', this.onPoolError);
    }
    return this.controlPool;
  }

  /**
   * Where the listener connects: `listenConnectionString` when given, else the pool's server. None through a
   * transaction pooler: its LISTEN would stay on a shared server connection and never hear a notification, while the
   * listener's health check (a query through the pooler) kept passing.
   */
  listenConfig(): ClientConfig | undefined {
    const { listenConnectionString, pooler } = this.mode;
    if (listenConnectionString === undefined) return pooler ? undefined : this.connectionConfig();
    const { connectionTimeoutMillis = CONNECT_TIMEOUT_MS } = this.connectionConfig();
    return { connectionString: listenConnectionString, ...KEEPALIVE, connectionTimeoutMillis };
  }

  /** Settings for a dedicated connection to the same server (or pooler) as the pool. */
  connectionConfig(): ClientConfig {
    const { max, min, idleTimeoutMillis, allowExitOnIdle, maxUses, log, Client, ...client } = this.pool.options as PoolConfig & {
      Client?: unknown;
      maxUses?: number;
      log?: unknown;
    };
    return { ...client, ...KEEPALIVE };
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.controlPool?.end();
      if (!this.ownsPool) {
        this.pool.off('error', this.onPoolError);
        return;
      }
      // pool.end() resolves while its clients are still closing: our error listener stays, or a server
      // going away in that window would crash the process.
      await this.pool.end();
    })();
    return this.closed;
  }
}
