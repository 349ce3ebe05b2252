/**
 * Reading jobs back in assertions: through the public API (statusOf) or straight from the jobs table on the admin
 * pool (jobRow, jobRows, countJobs), for what the API does not show (leases, claim tokens, blocked flags).
 */
import type { QueueService } from '../../lib';
import { quoteIdent, type TestDatabase } from './database';

/** A job's status as QueueService.getJob() reports it; undefined when there is no such job. */
export async function statusOf(queue: QueueService, id: string): Promise<string | undefined> {
  return (await queue.getJob(id))?.status;
}

/** Columns of the jobs table as node-postgres returns them (the id as text). */
export interface JobColumns {
  id: string;
  type: string;
  status: string;
  attempts: number;
  max_attempts: number | null;
  locked_by: string | null;
  claim_token: string | null;
  lease_expires_at: Date;
  last_error: string | null;
  result: unknown;
}

const SELECT: { [C in keyof JobColumns]: string } = {
  id: 'id::text AS id',
  type: 'type',
  status: 'status',
  attempts: 'attempts',
  max_attempts: 'max_attempts',
  locked_by: 'locked_by',
  claim_token: 'claim_token',
  lease_expires_at: 'lease_expires_at',
  last_error: 'last_error',
  result: 'result',
};

const jobsTable = (db: TestDatabase) => `${quoteIdent(db.schema)}.jobs`;

/** These columns, and only these, of one job's row. */
export async function jobRow<C extends keyof JobColumns>(
  db: TestDatabase,
  columns: readonly C[],
  id: string,
): Promise<Pick<JobColumns, C>> {
  const [row] = await db.query<Pick<JobColumns, C>>(
    `SELECT ${columns.map((c) => SELECT[c]).join(', ')} FROM ${jobsTable(db)} WHERE id = $1`,
    [id],
  );
  return row;
}

/** These columns, and only these, of the rows of `ids` (of every job when omitted), in id order. */
export async function jobRows<C extends keyof JobColumns>(
  db: TestDatabase,
  columns: readonly C[],
  ids?: string[],
): Promise<Array<Pick<JobColumns, C>>> {
  const where = ids ? 'WHERE id = ANY($1::bigint[])' : '';
  // j.id: a bare `id` would sort by the output column, the id as text.
  return db.query<Pick<JobColumns, C>>(
    `SELECT ${columns.map((c) => SELECT[c]).join(', ')} FROM ${jobsTable(db)} j ${where} ORDER BY j.id`,
    ids ? [ids] : [],
  );
}

/** How many jobs match `where`, an SQL condition on the jobs table (every job when omitted). */
export async function countJobs(db: TestDatabase, where = 'true', params: unknown[] = []): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${jobsTable(db)} WHERE ${where}`, params);
  return n;
}

/** What a rejected promise rejected with, typed for assertions on `message`, `cause` and `code`. */
export type Rejection = Error & { cause?: unknown; code?: string };

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (error) {
    return error as Rejection;
  }
  throw new Error('Expected the promise to reject, and it resolved.');
}
