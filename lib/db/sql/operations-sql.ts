import type { JobSelection } from '../job-selection';
import type { SqlFragments } from './fragments';
import { selectedCount, selectedIds, SqlValues, statusIn } from './job-selection-sql';

/** A statement built for one call: its text from fixed fragments, every value a $n parameter. */
export interface BuiltStatement {
  text: string;
  values: unknown[];
}

/** Where a bulk action's batch starts, how many it takes, and the channels it wakes. */
export interface ActionBatch {
  afterId?: string;
  size: number;
  channels: { newJobs: string; events: string; cancel: string };
}

/** How a retried job runs again (validated): null keeps the default. */
export interface RetryWrite {
  runAt: Date | null;
  delayMs: number | null;
  maxAttempts: number | null;
}

/**
 * Operating jobs from code: listing and counting them, and the actions on one job or many (QueueService). These are
 * built per call, since their filters vary; an action takes one batch of the selection per statement.
 */
export function operationsSql({ jobs, columns, released, notifyIfAny, releaseQueues, unblockHeads, dropLogs }: SqlFragments) {
  /**
   * Locks up to a batch of the selected jobs in id order, as every worker write locks them, waiting for the brief
   * locks workers hold. A row that changed meanwhile is re-checked against the statuses: a job that started while the
   * action waited is left alone. `scanned` and `last_id` say where the next batch starts.
   */
  const batch = (selection: JobSelection, values: SqlValues, { afterId, size }: ActionBatch) => `
      candidates AS MATERIALIZED (${selectedIds(jobs, selection, values, { order: 'asc', afterId, limit: values.add(size, 'int') })}),
      target AS (
        SELECT j.id, j.queue, j.status, j.job_key, j.claim_token FROM ${jobs} j
         WHERE j.id = ANY(ARRAY(SELECT id FROM candidates)) AND ${statusIn('j', selection.statuses)}
         ORDER BY j.id
         FOR UPDATE OF j
      )`;
  const progress = `(SELECT count(*) FROM candidates)::int AS scanned, (SELECT max(id) FROM candidates)::text AS last_id,
             (SELECT count(*) FROM changed)::int AS changed`;

  return {
    /**
     * $1 statement timeout (ms; NULL keeps the server's). Run first, in the listing's or count's transaction: plan it
     * for its values. A filter's values decide which index pays (a rare type through the type index, a common one by
     * walking the primary key), which one plan for every value cannot know.
     */
    planForValues: `
      SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
             set_config('statement_timeout', COALESCE($1::int::text, current_setting('statement_timeout')), true)`,

    /** A page of the selection, newest first; one job more than `limit` when another page follows. */
    listJobs(selection: JobSelection, { afterId, limit }: { afterId?: string; limit: number }): BuiltStatement {
      const values = new SqlValues();
      const ids = selectedIds(jobs, selection, values, { order: 'desc', afterId, limit: values.add(limit + 1, 'int') });
      return { text: `SELECT ${columns} FROM ${jobs} j WHERE j.id = ANY(ARRAY(${ids})) ORDER BY j.id DESC`, values: values.values };
    },

    countJobs(selection: JobSelection): BuiltStatement {
      const values = new SqlValues();
      return { text: selectedCount(jobs, selection, values), values: values.values };
    },

    /**
     * Failed or cancelled jobs back to pending with a fresh attempt budget; they keep their id, serial queue and last
     * error. Of several with one job key, only the newest; none whose key an unfinished job holds (keys stay unique).
     */
    retryJobs(selection: JobSelection, retry: RetryWrite, at: ActionBatch): BuiltStatement {
      const values = new SqlValues();
      const withBatch = batch(selection, values, at);
      const runAt = `COALESCE(${values.add(retry.runAt, 'timestamptz')}, now() + COALESCE(${values.add(retry.delayMs, 'float8')}, 0) * interval '1 millisecond')`;
      const text = `
      WITH ${withBatch},
      fresh AS (
        SELECT t.id FROM target t
         WHERE t.job_key IS NULL
            OR (t.id = (SELECT max(o.id) FROM target o WHERE o.job_key = t.job_key)
                AND NOT EXISTS (SELECT 1 FROM ${jobs} u WHERE u.job_key = t.job_key AND u.status IN ('pending', 'running')))
      ), changed AS (
        UPDATE ${jobs} j
           SET status = 'pending', attempts = 0, max_attempts = COALESCE(${values.add(retry.maxAttempts, 'int')}, j.max_attempts),
               run_at = ${runAt}, started_at = NULL, finished_at = NULL, result = NULL, progress = 0, stage = NULL,
               blocked = false
          FROM fresh f
         WHERE j.id = f.id
        RETURNING j.id
      )
      SELECT ${progress}, (${notifyIfAny('changed', values.add(at.channels.newJobs, 'text'))}) AS woken,
             (${notifyIfAny('changed', values.add(at.channels.events, 'text'))}) AS told`;
      return { text, values: values.values };
    },

    /** Pending or running jobs to cancelled; a running handler hears of it (its signal aborts) and its writes are fenced off. */
    cancelJobs(selection: JobSelection, at: ActionBatch): BuiltStatement {
      const values = new SqlValues();
      const text = `
      WITH ${batch(selection, values, at)},
      changed AS (
        UPDATE ${jobs} j SET status = 'cancelled', finished_at = now(), ${released}
          FROM target t
         WHERE j.id = t.id
        RETURNING j.id::text AS id, j.queue, j.status, t.claim_token AS held_token
      ), released AS (${releaseQueues('changed')}), unblocked AS (${unblockHeads('changed', 'changed')})
      SELECT ${progress},
             (SELECT count(*) FROM (SELECT pg_notify(${values.add(at.channels.cancel, 'text')}, c.id || ':' || c.held_token)
                                FROM changed c WHERE c.held_token IS NOT NULL) n) AS stopped,
             (${notifyIfAny('changed', values.add(at.channels.events, 'text'))}) AS told,
             (${notifyIfAny('released', values.add(at.channels.newJobs, 'text'))}) AS woken`;
      return { text, values: values.values };
    },

    /** Deletes jobs that are not running; a serial queue one of them held goes to its next job. */
    removeJobs(selection: JobSelection, at: ActionBatch): BuiltStatement {
      const values = new SqlValues();
      const text = `
      WITH ${batch(selection, values, at)},
      changed AS (
        DELETE FROM ${jobs} j USING target t
         WHERE j.id = t.id
        RETURNING j.id::text AS id, j.queue, 'cancelled'::text AS status
      ), released AS (${releaseQueues('changed')}), unblocked AS (${unblockHeads('changed', 'changed')}),
         dropped_logs AS (${dropLogs('changed')})
      SELECT ${progress},
             (${notifyIfAny('changed', values.add(at.channels.events, 'text'))}) AS told,
             (${notifyIfAny('released', values.add(at.channels.newJobs, 'text'))}) AS woken`;
      return { text, values: values.values };
    },

    /** $1 id, $2 new-jobs channel, $3 events channel. A delayed pending job becomes due now. */
    promoteJob: `
      WITH promoted AS (
        UPDATE ${jobs} SET run_at = now(), blocked = false
         WHERE id = $1::bigint AND status = 'pending' AND run_at > now()
        RETURNING ${columns}
      )
      SELECT p.* FROM promoted p, (${notifyIfAny('promoted', '$2')}) a, (${notifyIfAny('promoted', '$3')}) b`,
  };
}

export type OperationsSql = ReturnType<typeof operationsSql>;
