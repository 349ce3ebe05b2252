import { adminSql } from './sql/admin-sql';
import { claimSql } from './sql/claim-sql';
import { sqlFragments, type WorkerCommitOptions } from './sql/fragments';
import { eventsSql } from './sql/events-sql';
import { insertSql } from './sql/insert-sql';
import { maintenanceSql } from './sql/maintenance-sql';
import { operationsSql } from './sql/operations-sql';
import { outcomeSql } from './sql/outcome-sql';
import { scheduleSql } from './sql/schedule-sql';

/**
 * Every statement nestjs-pgqueue runs against its tables, one module per concern under sql/.
 * Values are always $n parameters; the only text interpolated is the schema name, validated and quoted once.
 * Ids travel as text (never JS numbers) so int8 stays exact whatever type parsers the pool has.
 * Worker writes about a running job are fenced: they change nothing unless the claim token still matches.
 */
export function queueSql(quotedSchema: string, commits: WorkerCommitOptions = { asyncWorkerCommits: false }) {
  const fragments = sqlFragments(quotedSchema, commits);
  return {
    ...insertSql(fragments),
    ...claimSql(fragments),
    ...outcomeSql(fragments),
    ...maintenanceSql(fragments),
    ...adminSql(fragments),
    ...scheduleSql(fragments),
    ...eventsSql(fragments),
  };
}

export type QueueSql = ReturnType<typeof queueSql>;

/** The statements built per call, since their filters vary: listings, counts and actions on jobs (sql/operations-sql.ts). */
export function queueOperationsSql(quotedSchema: string) {
  return operationsSql(sqlFragments(quotedSchema, { asyncWorkerCommits: false }));
}
