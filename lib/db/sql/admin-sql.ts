import type { SqlFragments } from './fragments';

/** Reading and operating jobs from code: QueueService reads, cancels, pauses and counts. */
export function adminSql({
  quotedSchema,
  jobs,
  paused,
  columns,
  released,
  notifyIfAny,
  releaseQueues,
  unblockHeads,
  deadLetterTargets,
  jobLogs,
}: SqlFragments) {
  return {
    /** $1 ids. */
    selectJobs: `SELECT ${columns} FROM ${jobs} WHERE id = ANY($1::bigint[])`,

    /**
     * $1 id, $2 cancel channel, $3 events channel, $4 new-jobs channel. A job that was running is announced on the
     * cancel channel as `id:token` of the claim it ran under, so its worker aborts it (and no later claim of it).
     */
    cancelJob: `
      WITH target AS (
        SELECT id AS target_id, claim_token AS held_token FROM ${jobs}
         WHERE id = $1::bigint AND status IN ('pending', 'running')
         FOR UPDATE
      ), cancelled AS (
        UPDATE ${jobs} SET status = 'cancelled', finished_at = now(), ${released}
          FROM target
         WHERE id = target_id
        RETURNING ${columns}, held_token
      ), released AS (${releaseQueues('cancelled')}), unblocked AS (${unblockHeads('cancelled', 'cancelled')})
      SELECT c.*, CASE WHEN c.held_token IS NOT NULL THEN pg_notify($2, c.id || ':' || c.held_token) END, pg_notify($3, '')
        FROM cancelled c, (${notifyIfAny('released', '$4')}) n`,

    /** $1 job id: its stored log lines, oldest first. */
    selectLogs: `SELECT at, attempt, message FROM ${jobLogs} WHERE job_id = $1::bigint ORDER BY id`,

    now: 'SELECT now() AS now',

    /** $1 statement timeout (ms). Run first in a read's transaction: PostgreSQL cancels the read after that long. */
    boundRead: `SELECT set_config('statement_timeout', $1::int::text, true)`,

    /**
     * $1 the job types this process handles. For health checks: the applied migrations, and the age of the oldest due
     * pending job of each of these types (their lag), leaving out paused types and jobs waiting behind a busy serial
     * queue: neither is the workers falling behind.
     */
    health: `
      SELECT (SELECT COALESCE(array_agg(version ORDER BY version), '{}') FROM ${quotedSchema}.migrations) AS migrations,
             COALESCE((SELECT jsonb_object_agg(type, lag_ms) FROM (
               SELECT type, floor(extract(epoch FROM now() - min(run_at)) * 1000)::float8 AS lag_ms FROM ${jobs}
                WHERE status = 'pending' AND run_at <= now() AND type = ANY($1::text[]) AND NOT blocked
                  AND type NOT IN (SELECT type FROM ${paused})
                GROUP BY type) l), '{}'::jsonb) AS lag_ms`,

    /**
     * Per type with unfinished jobs: how many are pending and running, and the seconds since the oldest due pending job
     * was due (0: none is). Each part reads only its partial index (claimable jobs outside and inside serial queues,
     * leased jobs), never the finished jobs: the metrics' gauges run it at every collection.
     */
    queueGauges: `
      SELECT type, sum(pending)::int AS pending, sum(running)::int AS running, COALESCE(max(lag_seconds), 0)::float8 AS lag_seconds
        FROM (SELECT type, count(*) AS pending, 0 AS running, extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())) AS lag_seconds
                FROM ${jobs} WHERE status = 'pending' AND queue IS NULL GROUP BY type
              UNION ALL
              SELECT type, count(*), 0, extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now()))
                FROM ${jobs} WHERE status = 'pending' AND queue IS NOT NULL GROUP BY type
              UNION ALL
              SELECT type, 0, count(*), NULL FROM ${jobs} WHERE lease_expires_at IS NOT NULL AND status = 'running' GROUP BY type) g
       GROUP BY type
       ORDER BY type`,

    /**
     * $1 job types. For QueueTester.drain: how many jobs of these types are due and pending, or running. Paused types
     * are left out: their jobs wait for a resume, not for the worker.
     */
    outstandingJobs: `
      SELECT count(*)::int AS outstanding FROM (
        SELECT type FROM ${jobs} WHERE status = 'pending' AND queue IS NULL AND run_at <= now() AND type = ANY($1::text[])
        UNION ALL
        SELECT type FROM ${jobs} WHERE status = 'pending' AND queue IS NOT NULL AND run_at <= now() AND type = ANY($1::text[])
        UNION ALL
        SELECT type FROM ${jobs} WHERE lease_expires_at IS NOT NULL AND status = 'running' AND type = ANY($1::text[])) j
       WHERE j.type NOT IN (SELECT type FROM ${paused})`,

    /** $1 job types, $2 a time. For QueueTester.drain: the jobs of these types that completed or failed since then. */
    finishedSince: `
      SELECT ${columns} FROM ${jobs}
       WHERE type = ANY($1::text[]) AND status IN ('completed', 'failed') AND finished_at >= $2
       ORDER BY finished_at, id`,

    /** $1 type. */
    pauseType: `INSERT INTO ${paused} (type) VALUES ($1) ON CONFLICT (type) DO NOTHING`,

    /** $1 type, $2 new-jobs channel. */
    resumeType: `
      WITH resumed AS (DELETE FROM ${paused} WHERE type = $1 RETURNING type)
      SELECT count(*)::int AS resumed FROM resumed, (${notifyIfAny('resumed', '$2')}) n`,

    /** $1 job types this worker handles, $2 the dead-letter type of each (NULL: none). */
    declareDeadLetters: `
      WITH given AS (SELECT * FROM unnest($1::text[], $2::text[]) AS g(type, target)),
           dropped AS (DELETE FROM ${deadLetterTargets} d USING given g WHERE d.type = g.type AND g.target IS NULL)
      INSERT INTO ${deadLetterTargets} AS d (type, target)
      SELECT type, target FROM given WHERE target IS NOT NULL ORDER BY type
      ON CONFLICT (type) DO UPDATE SET target = EXCLUDED.target, updated_at = now() WHERE d.target <> EXCLUDED.target`,

    /** $1 type. */
    isPaused: `SELECT EXISTS (SELECT 1 FROM ${paused} WHERE type = $1) AS paused`,

    /**
     * Per type: jobs per status, whether it is paused (also a paused type without jobs), the age of its oldest due
     * pending job (its lag), and the jobs that completed or failed for good in the last minute.
     */
    stats: `
      SELECT t.type, COALESCE(c.counts, '{}'::jsonb) AS counts, (p.type IS NOT NULL) AS paused,
             (SELECT floor(extract(epoch FROM now() - min(d.run_at)) * 1000)::float8 FROM ${jobs} d
               WHERE d.type = t.type AND d.status = 'pending' AND d.run_at <= now()) AS lag_ms,
             (SELECT count(*)::int FROM ${jobs} f
               WHERE f.type = t.type AND f.status = 'completed' AND f.finished_at > now() - interval '1 minute') AS completed_last_minute,
             (SELECT count(*)::int FROM ${jobs} f
               WHERE f.type = t.type AND f.status = 'failed' AND f.finished_at > now() - interval '1 minute') AS failed_last_minute
        FROM (SELECT DISTINCT type FROM ${jobs} UNION SELECT type FROM ${paused}) t
        LEFT JOIN (SELECT type, jsonb_object_agg(status, n) AS counts
                     FROM (SELECT type, status, count(*)::int AS n FROM ${jobs} GROUP BY type, status) g
                    GROUP BY type) c ON c.type = t.type
        LEFT JOIN ${paused} p ON p.type = t.type
       ORDER BY t.type`,
  };
}
