import type { JobSelection } from '../job-selection';
import type { JobStatus } from '../../interfaces';

/** The values of a statement built from fragments, numbered $1, $2, ... in the order they are added. */
export class SqlValues {
  readonly values: unknown[] = [];

  /** Adds `value` and returns its placeholder, cast to `type` so the statement never depends on inference. */
  add(value: unknown, type: 'bigint' | 'int' | 'float8' | 'text' | 'timestamptz'): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/**
 * The parts each status is read in, each matching indexes by its literal conditions (migration 007 tells which):
 * pending jobs with and without a serial queue have their own claim indexes; a lease is set exactly while a job runs,
 * so the lease index finds running ones.
 */
const STATUS_PARTS: Record<JobStatus, string[]> = {
  pending: [`status = 'pending' AND queue IS NULL`, `status = 'pending' AND queue IS NOT NULL`],
  running: [`status = 'running' AND lease_expires_at IS NOT NULL`],
  completed: [`status = 'completed'`],
  failed: [`status = 'failed'`],
  cancelled: [`status = 'cancelled'`],
};

/** The conditions of a selection other than its statuses, with their values added to `values`. */
function fieldConditions(selection: JobSelection, values: SqlValues): string[] {
  const conditions: string[] = [];
  if (selection.id !== undefined) conditions.push(`id = ${values.add(selection.id, 'bigint')}`);
  if (selection.type !== undefined) conditions.push(`type = ${values.add(selection.type, 'text')}`);
  if (selection.queue !== undefined) conditions.push(`queue = ${values.add(selection.queue, 'text')}`);
  if (selection.jobKey !== undefined) conditions.push(`job_key = ${values.add(selection.jobKey, 'text')}`);
  if (selection.createdAfter !== undefined) conditions.push(`created_at >= ${values.add(selection.createdAfter, 'timestamptz')}`);
  if (selection.createdBefore !== undefined) conditions.push(`created_at < ${values.add(selection.createdBefore, 'timestamptz')}`);
  return conditions;
}

/** One `WHERE` per part of each selected status, each with the selection's other conditions and `extra`. */
function statusBranches(selection: JobSelection, values: SqlValues, extra: string[] = []): string[] {
  const shared = [...fieldConditions(selection, values), ...extra];
  return selection.statuses.flatMap((status) => STATUS_PARTS[status].map((part) => [part, ...shared].join(' AND ')));
}

/**
 * A query for the ids of up to `limit` selected jobs past `afterId`, in id order (`desc`: newest first): each part of
 * each status read through the index that suits it, and the parts merged. Never an OFFSET: a page starts where
 * the last one ended, whatever was added or removed meanwhile.
 */
export function selectedIds(
  jobs: string,
  selection: JobSelection,
  values: SqlValues,
  { order, afterId, limit }: { order: 'asc' | 'desc'; afterId?: string; limit: string },
): string {
  const keyset = afterId === undefined ? [] : [`id ${order === 'desc' ? '<' : '>'} ${values.add(afterId, 'bigint')}`];
  const branches = statusBranches(selection, values, keyset).map(
    (where) => `(SELECT id FROM ${jobs} WHERE ${where} ORDER BY id ${order} LIMIT ${limit})`,
  );
  return `SELECT id FROM (${branches.join(' UNION ALL ')}) selected ORDER BY id ${order} LIMIT ${limit}`;
}

/** A query for how many jobs the selection holds: one count per part of each status, summed. */
export function selectedCount(jobs: string, selection: JobSelection, values: SqlValues): string {
  const counts = statusBranches(selection, values).map((where) => `(SELECT count(*) FROM ${jobs} WHERE ${where})`);
  return `SELECT (${counts.join(' + ')})::text AS count`;
}

/** The selection's statuses as one condition on the row `alias` (re-checked on a row locked after a concurrent change). */
export function statusIn(alias: string, statuses: readonly JobStatus[]): string {
  return `${alias}.status IN (${statuses.map((status) => `'${status}'`).join(', ')})`;
}
