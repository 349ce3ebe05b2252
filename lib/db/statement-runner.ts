import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { QueryTimeoutError } from '../errors';
import { messages } from '../errors/messages';
import { BoundedQueries } from './bounded-query';
import { inTransaction, type TransactionQuery } from './in-transaction';
import { prepared } from './prepared-statement';
import type { QueueDatabase } from './queue-database';

/** How the stores send their statements: prepared where the pool allows, each with a deadline. */
export class StatementRunner {
  private readonly bounded = new BoundedQueries();

  constructor(
    private readonly db: QueueDatabase,
    /** Whether the module's own pool may keep named prepared statements (not behind a transaction pooler). */
    private readonly preparedStatements = true,
    /**
     * How long any statement on the module's connections may go unanswered. A connection that stops answering
     * without closing (a hung pooler, a silently dropped flow) is then dropped from its pool, and the next statement
     * gets a new one; without a bound it would hold its caller, and a worker's claim loop, forever.
     */
    private readonly queryTimeoutMs = 30_000,
  ) {}

  /** A hot statement: prepared where the pool allows it. */
  prepared(text: string, values: unknown[]): QueryConfig {
    return this.preparedStatements ? prepared(text, values) : { text, values };
  }

  /** Runs one statement on one of the module's pools, bounded by the query timeout (or `timeoutMs`). */
  run<R extends QueryResultRow = QueryResultRow>(
    pool: Pool,
    statement: QueryConfig | string,
    values?: unknown[],
    timeoutMs = this.queryTimeoutMs,
  ): Promise<QueryResult<R>> {
    const config = typeof statement === 'string' ? { text: statement, values } : statement;
    return this.bounded.query<R>(pool, config, timeoutMs, () => new QueryTimeoutError(messages.queryTimedOut(timeoutMs)));
  }

  /** Runs `work` in one transaction on the module's pool, each statement bounded by the query timeout. */
  transaction<T>(work: (query: TransactionQuery) => Promise<T>): Promise<T> {
    return inTransaction(this.db.pool, this.queryTimeoutMs, work);
  }
}
