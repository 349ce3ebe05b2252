import type { Pool, QueryResult, QueryResultRow } from 'pg';

/** A statement inside the transaction, bounded like every other statement of the module. */
export type TransactionQuery = <R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<R>>;

/**
 * Runs `work` inside BEGIN/COMMIT on one pooled client (ROLLBACK on error). pg-pool drops its 'error' listener
 * while a client is checked out, so one is attached here: a connection the server ends mid-transaction (restart,
 * failover, pg_terminate_backend) must fail this call, not crash the process. Each statement waits at most
 * `timeoutMs` (none when undefined: the migrator waits for another process's migration under its lock). A client
 * whose transaction failed is discarded, not returned to the pool: it may be the connection that stopped answering.
 */
export async function inTransaction<T>(
  pool: Pool,
  timeoutMs: number | undefined,
  work: (query: TransactionQuery) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  const query: TransactionQuery = (text, values) => client.query({ text, values, query_timeout: timeoutMs } as never);
  try {
    await query('BEGIN');
    const result = await work(query);
    await query('COMMIT');
    return result;
  } catch (error) {
    broken ??= error as Error;
    await query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
