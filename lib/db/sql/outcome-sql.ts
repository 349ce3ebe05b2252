import type { SqlFragments } from './fragments';

/** What a worker writes about the jobs it holds, fenced by their claim tokens: heartbeats, progress, outcomes, hand-backs. */
export function outcomeSql({
  jobs,
  released,
  notifyIfAny,
  releaseQueues,
  unblockHeads,
  completion,
  attemptsExhausted,
  workerCommit,
  enqueueDeadLetters,
  jobLogs,
}: SqlFragments) {
  return {
    /** $1 ids, $2 tokens, $3 lease (ms). Returns the ids whose lease this worker still holds. */
    extendLeases: `
      WITH extended AS (
        UPDATE ${jobs} j SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
          FROM unnest($1::bigint[], $2::uuid[]) AS h(id, token)
         WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
        RETURNING j.id::text AS id
      )
      SELECT extended.id FROM extended${workerCommit}`,

    /** $1 ids: those of them that were cancelled (a heartbeat that lost them tells a cancel from a rescue). */
    selectCancelled: `SELECT id::text AS id FROM ${jobs} WHERE id = ANY($1::bigint[]) AND status = 'cancelled'`,

    /** $1 ids, $2 tokens, $3 percents, $4 stages (NULL keeps the stored one), $5 events channel. */
    saveProgress: `
      WITH saved AS (
        UPDATE ${jobs} j SET progress = p.progress, stage = COALESCE(p.stage, j.stage)
          FROM unnest($1::bigint[], $2::uuid[], $3::int[], $4::text[]) AS p(id, token, progress, stage)
         WHERE j.id = p.id AND j.claim_token = p.token AND j.status = 'running'
        RETURNING j.id
      )
      SELECT n.count FROM (${notifyIfAny('saved', '$5')}) n${workerCommit}`,

    /**
     * $1 ids, $2 tokens, $3 results (JSON text), $4 last stages, $5 events channel, $6 new-jobs channel.
     * Returns the ids accepted.
     */
    completeJobs: completion(
      `UPDATE ${jobs} j
          SET status = 'completed', result = c.result::jsonb, progress = 100, stage = COALESCE(c.stage, j.stage),
              finished_at = now(), ${released}
         FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS c(id, token, result, stage)
        WHERE j.id = c.id AND j.claim_token = c.token AND j.status = 'running'
       RETURNING j.id::text AS id, j.queue, j.status`,
      '$5',
      '$6',
    ),

    /**
     * $1 ids, $2 tokens, $3 events channel, $4 new-jobs channel. Returns the ids accepted.
     * Completion with a retention of 0: the job is deleted by the write that completes it, with the same fence.
     */
    completeAndDeleteJobs: completion(
      `DELETE FROM ${jobs} j USING unnest($1::bigint[], $2::uuid[]) AS c(id, token)
        WHERE j.id = c.id AND j.claim_token = c.token AND j.status = 'running'
       RETURNING j.id::text AS id, j.queue, 'completed'::text AS status`,
      '$3',
      '$4',
      true,
    ),

    /**
     * $1 job ids, $2 tokens, $3 attempts, $4 ages (ms before now), $5 messages, $6 most lines kept per job.
     * Stores log lines of running jobs in the order given, each at the database's now() less its age; lines past a
     * job's limit are dropped.
     */
    saveLogs: `
      WITH lines AS (
        SELECT l.*, row_number() OVER (PARTITION BY l.id ORDER BY l.ord) AS nth
          FROM unnest($1::bigint[], $2::uuid[], $3::int[], $4::float8[], $5::text[]) WITH ORDINALITY
               AS l(id, token, attempt, age_ms, message, ord)
      ), stored AS (
        SELECT u.id, (SELECT count(*) FROM ${jobLogs} s WHERE s.job_id = u.id) AS n FROM (SELECT DISTINCT id FROM lines) u
      ), saved AS (
        INSERT INTO ${jobLogs} (job_id, attempt, at, message)
        SELECT l.id, l.attempt, now() - l.age_ms * interval '1 millisecond', l.message
          FROM lines l JOIN stored s ON s.id = l.id JOIN ${jobs} j ON j.id = l.id
         WHERE j.claim_token = l.token AND j.status = 'running' AND s.n + l.nth <= $6
         ORDER BY l.ord
        RETURNING 1
      )
      SELECT count(*)::int AS saved FROM saved${workerCommit}`,

    /**
     * $1 id, $2 token, $3 error text, $4 retry delay (ms), $5 progress, $6 stage, $7 events channel,
     * $8 new-jobs channel, $9 final (no retry whatever attempts remain).
     * Retries (back to pending after the delay) until attempts reach max_attempts, then fails for good.
     */
    failJob: `
      WITH failed AS (
        UPDATE ${jobs} j
           SET status = CASE WHEN $9::boolean OR ${attemptsExhausted} THEN 'failed' ELSE 'pending' END,
               run_at = CASE WHEN $9::boolean OR ${attemptsExhausted} THEN j.run_at
                             ELSE now() + $4::float8 * interval '1 millisecond' END,
               finished_at = CASE WHEN $9::boolean OR ${attemptsExhausted} THEN now() END,
               last_error = $3, progress = $5, stage = COALESCE($6, j.stage), ${released}
         WHERE j.id = $1::bigint AND j.claim_token = $2::uuid AND j.status = 'running'
        RETURNING j.id, j.queue, j.status, j.type, j.payload, j.last_error, j.attempts
      ), released AS (${releaseQueues('failed')}), unblocked AS (${unblockHeads('released', 'failed')}),
         dead_letters AS (${enqueueDeadLetters('failed')})
      SELECT failed.status FROM failed, (${notifyIfAny('failed', '$7')}) a, (${notifyIfAny('released', '$8')}) b`,

    /**
     * $1 id, $2 token, $3 delay (ms), $4 progress, $5 stage, $6 events channel.
     * Puts a running job back to pending for later without using up its attempt; it keeps its serial queue.
     */
    snoozeJob: `
      WITH snoozed AS (
        UPDATE ${jobs} j
           SET status = 'pending', attempts = j.attempts - 1, run_at = now() + $3::float8 * interval '1 millisecond',
               progress = $4, stage = COALESCE($5, j.stage), ${released}
         WHERE j.id = $1::bigint AND j.claim_token = $2::uuid AND j.status = 'running'
        RETURNING j.id
      )
      SELECT snoozed.id FROM snoozed, (${notifyIfAny('snoozed', '$6')}) n`,

    /**
     * $1 ids, $2 tokens, $3 new-jobs channel, $4 events channel, $5 started flags, $6 error text for started ones.
     * Gives claimed jobs back at shutdown and wakes other workers for them. An unstarted job gets its attempt
     * back; a started one keeps it (and fails if it was the last). Both keep their place in line.
     */
    handBackJobs: `
      WITH handed AS (
        UPDATE ${jobs} j
           SET status = CASE WHEN h.started AND ${attemptsExhausted} THEN 'failed' ELSE 'pending' END,
               finished_at = CASE WHEN h.started AND ${attemptsExhausted} THEN now() END,
               attempts = j.attempts - CASE WHEN h.started THEN 0 ELSE 1 END,
               last_error = CASE WHEN h.started THEN $6 ELSE j.last_error END,
               run_at = LEAST(j.run_at, now()), ${released}
          FROM unnest($1::bigint[], $2::uuid[], $5::boolean[]) AS h(id, token, started)
         WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
        RETURNING j.id::text AS id, j.queue, j.status, j.type, j.payload, j.last_error, j.attempts
      ), released AS (${releaseQueues('handed')}), unblocked AS (${unblockHeads('released', 'handed')}),
         dead_letters AS (${enqueueDeadLetters('handed')})
      SELECT handed.id FROM handed, (${notifyIfAny('handed', '$3')}) a, (${notifyIfAny('handed', '$4')}) b,
             (${notifyIfAny('released', '$3')}) c`,
  };
}
