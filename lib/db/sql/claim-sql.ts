import type { SqlFragments } from './fragments';

/** Claiming jobs for a worker. */
export function claimSql({ jobs, queues, paused, claimedColumns, notifyIfAny, workerCommit }: SqlFragments) {
  return {
    /**
     * $1 handled types, $2 their default max attempts, $3 batch size, $4 worker id, $5 lease (ms), $6 events channel,
     * $7 free slots per type (never more of a type than it can start).
     * Highest priority first, then run_at, then id, through the partial indexes of claimable rows; paused types are
     * skipped. A job of a serial queue is claimable only while its queue is free (or already held by that job):
     * locking the queue row, and re-checking it when a concurrent claim changed it, keeps one job per queue running.
     */
    claimJobs: `
      WITH unqueued AS (
        SELECT c.* FROM unnest($1::text[], $7::int[]) AS d(type, free)
        CROSS JOIN LATERAL (
          SELECT id, NULL::text AS queue, type, priority, run_at FROM ${jobs}
           WHERE status = 'pending' AND queue IS NULL AND type = d.type AND run_at <= now()
           ORDER BY priority DESC, run_at, id
           LIMIT d.free
           FOR UPDATE SKIP LOCKED
        ) c
        WHERE d.type NOT IN (SELECT type FROM ${paused})
      ), queued AS (
        SELECT j.id, j.queue, j.type, j.priority, j.run_at FROM ${jobs} j JOIN ${queues} q ON q.name = j.queue
         WHERE j.status = 'pending' AND j.queue IS NOT NULL AND NOT j.blocked AND j.run_at <= now() AND j.type = ANY($1::text[])
           AND (q.held_by = j.id OR (q.held_by IS NULL AND NOT EXISTS (
                 -- only the head of its queue: decided on the rows, not on which of them happen to be locked
                 SELECT 1 FROM ${jobs} e
                  WHERE e.queue = j.queue AND e.status = 'pending' AND e.run_at <= now()
                    AND (e.priority > j.priority OR (e.priority = j.priority AND (e.run_at, e.id) < (j.run_at, j.id))))))
           AND j.type NOT IN (SELECT type FROM ${paused})
         ORDER BY j.priority DESC, j.run_at, j.id
         LIMIT $3
         FOR UPDATE OF j, q SKIP LOCKED
      ), chosen AS (
        SELECT id, queue FROM (
          SELECT c.*, row_number() OVER (PARTITION BY c.type ORDER BY c.priority DESC, c.run_at, c.id) AS nth
            FROM (SELECT * FROM unqueued
                  UNION ALL
                  SELECT DISTINCT ON (queue) * FROM queued ORDER BY queue, priority DESC, run_at, id) c
        ) ranked
        JOIN unnest($1::text[], $7::int[]) AS d(type, free) ON d.type = ranked.type
        WHERE ranked.nth <= d.free
        ORDER BY priority DESC, run_at, id
        LIMIT $3
      ), held AS (
        UPDATE ${queues} q SET held_by = c.id FROM chosen c WHERE c.queue IS NOT NULL AND q.name = c.queue
      ), claimed AS (
        UPDATE ${jobs} j
           SET status = 'running', attempts = j.attempts + 1, started_at = now(),
               max_attempts = COALESCE(j.max_attempts, d.max_attempts),
               claim_token = gen_random_uuid(), locked_by = $4,
               lease_expires_at = now() + $5::float8 * interval '1 millisecond'
          FROM chosen c, unnest($1::text[], $2::int[]) AS d(type, max_attempts)
         WHERE j.id = c.id AND d.type = j.type
        RETURNING ${claimedColumns}
      )
      SELECT claimed.* FROM claimed, (${notifyIfAny('claimed', '$6')}) n${workerCommit}
       ORDER BY priority DESC, run_at, id::bigint`,
  };
}
