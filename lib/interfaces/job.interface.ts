import type { ClientBase } from 'pg';

/** The states a job moves through. */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A job as stored, returned by `enqueue`, `getJob` and `watch`. */
export interface JobSnapshot<TPayload = unknown, TResult = unknown> {
  /** Database id (int8 as a string, exact beyond 2^53). */
  id: string;
  type: string;
  status: JobStatus;
  /** Higher runs first. */
  priority: number;
  /** Named serial queue, or null. */
  queue: string | null;
  payload: TPayload;
  /** 0-100, as last reported by the handler. */
  progress: number;
  stage: string | null;
  /** Attempts started so far. */
  attempts: number;
  /** Null until the first claim when neither the enqueue nor the handler set it; then the effective limit. */
  maxAttempts: number | null;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastError: string | null;
  result: TResult | null;
  /** The job key it was enqueued with, or null (a running job gives its key up to a `replace` enqueue). */
  jobKey: string | null;
}

/**
 * What an enqueue with a `jobKey` does when an unfinished job (pending or running) already holds the key:
 * - `dedupe`: returns that job; nothing new is queued.
 * - `replace`: a pending job gets the new payload, priority, maxAttempts and run time; a running one keeps
 *   running (without the key) and a new job is queued with the key.
 */
export type JobKeyMode = 'dedupe' | 'replace';

/** Options of `enqueue` and of each job of `enqueueMany`. */
export interface EnqueueOptions {
  /** Integer, higher runs first. @default 100 */
  priority?: number;
  /** Earliest time the job may run. Not with `delayMs`. */
  runAt?: Date;
  /** Run no sooner than this many milliseconds from now (database clock). Not with `runAt`. */
  delayMs?: number;
  /** Attempts before the job is `failed`. @default the handler's maxAttempts, else 3 */
  maxAttempts?: number;
  /** At most one unfinished job per key (up to 512 characters); see `jobKeyMode`. */
  jobKey?: string;
  /** @default 'dedupe' */
  jobKeyMode?: JobKeyMode;
  /** Named serial queue: at most one job of a queue runs at a time, across all processes, in priority order. */
  queue?: string;
  /**
   * Your open transaction: the job is inserted on its connection and exists only if that transaction commits (workers
   * hear of it at the commit). A node-postgres client after `BEGIN`, or an ORM's transaction handle (see
   * TransactionClient). Anything else is refused with InvalidJobOptionError before anything is written.
   */
  client?: TransactionClient;
}

/** Options that apply to a whole `enqueueMany` batch. */
export interface EnqueueManyOptions {
  /** Your open transaction (see EnqueueOptions.client). */
  client?: TransactionClient;
}

/**
 * A handle on an open transaction that `enqueue` and `enqueueMany` run their statement on:
 * - node-postgres: a `PoolClient` or `Client` after `BEGIN`;
 * - TypeORM: the `EntityManager` of `dataSource.transaction(async (manager) => ...)`, or a `QueryRunner` after
 *   `startTransaction()`;
 * - Knex: the `trx` of `knex.transaction(async (trx) => ...)`;
 * - Drizzle (node-postgres driver): the `tx` of `db.transaction(async (tx) => ...)`;
 * - Kysely (`PostgresDialect`): the `trx` of `db.transaction().execute(async (trx) => ...)`;
 * - MikroORM: the `em` that `em.transactional(async (em) => ...)` passes;
 * - Prisma (e.g. with `@prisma/adapter-pg`): the `tx` of `prisma.$transaction(async (tx) => ...)`.
 *
 * The ORMs' handles are described by their shape, so this package depends on none of them. The root handles
 * (a DataSource, `knex`, `db`, `prisma`, an `em` outside `transactional`) are refused: they are not a transaction.
 */
export type TransactionClient =
  | ClientBase
  | TypeOrmEntityManagerLike
  | TypeOrmQueryRunnerLike
  | KnexTransactionLike
  | DrizzleTransactionLike
  | KyselyTransactionLike
  | MikroOrmEntityManagerLike
  | PrismaTransactionLike;

/** A TypeORM `EntityManager`; inside a transaction, its `queryRunner` has one open. */
export interface TypeOrmEntityManagerLike {
  readonly '@instanceof': symbol;
  readonly queryRunner?: unknown;
}

/** A TypeORM `QueryRunner`, after `startTransaction()`. */
export interface TypeOrmQueryRunnerLike {
  readonly isTransactionActive: boolean;
  startTransaction(...args: never[]): Promise<void>;
  query(query: string, parameters?: unknown[]): Promise<unknown>;
}

/** A Knex transaction (`isTransaction` is true). */
export interface KnexTransactionLike {
  readonly isTransaction?: boolean;
  raw(...args: never[]): PromiseLike<unknown>;
}

/** A Drizzle transaction over node-postgres. */
export interface DrizzleTransactionLike {
  readonly _: { readonly session: unknown };
  rollback(): unknown;
}

/** A Kysely transaction. */
export interface KyselyTransactionLike {
  readonly isTransaction: boolean;
  withoutPlugins(): unknown;
}

/** A MikroORM `EntityManager`, inside `em.transactional()`. */
export interface MikroOrmEntityManagerLike {
  getTransactionContext(): unknown;
}

/** A Prisma interactive transaction client. */
export interface PrismaTransactionLike {
  $queryRawUnsafe(query: string, ...values: never[]): PromiseLike<unknown>;
}
