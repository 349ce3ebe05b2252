import type { SqlFragments } from './fragments';

/** Inserting jobs: one JSON document of jobs per statement, with keys and serial queues, or claimed by the insert itself. */
export function insertSql({ jobs, paused, columns, jobsDocument, payload, runAt, insertQueues }: SqlFragments) {
  return {
    /**
     * $1 the jobs document (see jobsDocument). A keyed job meets the unfinished job holding its key: `dedupe` returns
     * that job, `replace` rewrites it while pending; a running one gives up its key first, so the new job can take it.
     * Returns nothing for a replace that lost a race with a claim (the caller retries it).
     */
    insertJobs: `
      WITH input AS (
        SELECT t.type, ${payload} AS payload, t.priority, t.max_attempts, ${runAt} AS run_at, t.queue, t.job_key,
               t.job_key_mode, t.trace_context, t.ord
          FROM ${jobsDocument}
      ), detached AS (
        UPDATE ${jobs} j SET job_key = NULL FROM input i
         WHERE i.job_key_mode = 'replace' AND j.job_key = i.job_key AND j.status = 'running'
        RETURNING j.id
      ), queues AS (${insertQueues})
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at, queue, job_key, job_key_mode, trace_context)
      SELECT i.type, i.payload, i.priority, i.max_attempts, i.run_at, i.queue, i.job_key, i.job_key_mode, i.trace_context
        FROM input i
       ORDER BY i.ord
      ON CONFLICT (job_key) WHERE job_key IS NOT NULL AND status IN ('pending', 'running') DO UPDATE
         SET payload = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.payload ELSE ${jobs}.payload END,
             run_at = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.run_at ELSE ${jobs}.run_at END,
             priority = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.priority ELSE ${jobs}.priority END,
             max_attempts = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.max_attempts ELSE ${jobs}.max_attempts END,
             blocked = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN false ELSE ${jobs}.blocked END,
             trace_context = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.trace_context ELSE ${jobs}.trace_context END
       WHERE EXCLUDED.job_key_mode = 'dedupe' OR ${jobs}.status = 'pending'
      RETURNING ${columns}`,

    /**
     * $1 the jobs document (see jobsDocument), none with a key or a queue: each is a new row and nothing else is
     * written, so only what the database decides comes back, in input order.
     */
    insertPlainJobs: `
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at, trace_context)
      SELECT t.type, ${payload}, t.priority, t.max_attempts, ${runAt}, t.trace_context FROM ${jobsDocument} ORDER BY t.ord
      RETURNING id::text AS id, run_at, created_at`,

    /**
     * $1 the jobs document as for insertPlainJobs, where a job this process's worker has a free slot for carries
     * `claim_max_attempts` (its handler's default), $2 worker id, $3 lease (ms), $4 the types the worker handles.
     * Such a job is inserted already claimed, as claimJobs would leave it, when nothing the worker could claim instead
     * is waiting (no due pending job of its types outside serial queues) and its type is not paused. Every job comes
     * back whole, in input order; a claimed one with its claim token.
     */
    insertPlainJobsClaiming: `
      WITH waiting AS (
        SELECT EXISTS (SELECT 1 FROM ${jobs}
                        WHERE status = 'pending' AND queue IS NULL AND type = ANY($4::text[]) AND run_at <= now()) AS any
      ), input AS MATERIALIZED ( -- decided once per row, not once per column that depends on it
        SELECT t.*, (t.claim_max_attempts IS NOT NULL AND t.run_at_given IS NULL AND COALESCE(t.delay_ms, 0) = 0
                     AND NOT waiting.any AND t.type NOT IN (SELECT type FROM ${paused})) AS claim
          FROM ${jobsDocument}, waiting
      )
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at, status, attempts, started_at, claim_token,
                           locked_by, lease_expires_at, trace_context)
      SELECT t.type, ${payload}, t.priority, CASE WHEN t.claim THEN COALESCE(t.max_attempts, t.claim_max_attempts) ELSE t.max_attempts END,
             ${runAt}, CASE WHEN t.claim THEN 'running' ELSE 'pending' END, CASE WHEN t.claim THEN 1 ELSE 0 END,
             CASE WHEN t.claim THEN now() END, CASE WHEN t.claim THEN gen_random_uuid() END, CASE WHEN t.claim THEN $2 END,
             CASE WHEN t.claim THEN now() + $3::float8 * interval '1 millisecond' END, t.trace_context
        FROM input t ORDER BY t.ord
      RETURNING ${columns}, claim_token, trace_context`,
  };
}
