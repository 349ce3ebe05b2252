/**
 * Every statement nestjs-pgqueue runs against its tables, in one place.
 * Values are always $n parameters; the only text interpolated is the schema name, validated and quoted once.
 * Ids travel as text (never JS numbers) so int8 stays exact whatever type parsers the pool has.
 * Worker writes about a running job are fenced: they change nothing unless the claim token still matches.
 */
export function queueSql(quotedSchema: string) {
  const jobs = `${quotedSchema}.jobs`;
  const queues = `${quotedSchema}.serial_queues`;
  const paused = `${quotedSchema}.paused_types`;
  const schedules = `${quotedSchema}.schedules`;
  const columns = `id::text AS id, type, queue, status, priority, payload, progress, stage, attempts, max_attempts,
    run_at, created_at, started_at, finished_at, last_error, result, job_key`;
  // What a worker reads of a job it claims (ClaimedJobRow).
  const claimedColumns = `j.id::text AS id, j.type, j.queue, j.priority, j.payload, j.progress, j.stage, j.attempts,
    j.max_attempts, j.run_at, j.created_at, j.started_at, j.claim_token`;
  const released = 'claim_token = NULL, lease_expires_at = NULL, locked_by = NULL';
  // Runs pg_notify at most once, only when the named CTE produced a row; the count keeps the CTE evaluated.
  const notifyIfAny = (cte: string, channelParam: string, where = 'true') =>
    `SELECT count(*) FROM (SELECT pg_notify(${channelParam}, '') FROM (SELECT 1 FROM ${cte} WHERE ${where} LIMIT 1) r) n`;
  // The jobs to insert, from one JSON array of objects (see jobs-document.ts): parsed once, payloads stay jsonb.
  const jobsDocument = `
    ROWS FROM (jsonb_to_recordset($1::jsonb) AS (type text, payload jsonb, priority int, max_attempts int,
      run_at timestamptz, delay_ms float8, queue text, job_key text, job_key_mode text, claim_max_attempts int))
    WITH ORDINALITY AS t(type, payload, priority, max_attempts, run_at_given, delay_ms, queue, job_key, job_key_mode,
      claim_max_attempts, ord)`;
  // Every job has a payload, so a NULL one was the JSON null.
  const payload = `COALESCE(t.payload, 'null'::jsonb)`;
  const runAt = `COALESCE(t.run_at_given, now() + COALESCE(t.delay_ms, 0) * interval '1 millisecond')`;
  // Creates the serial queues the jobs of `input` name, in name order (two batches never lock them crosswise).
  const insertQueues = `
    INSERT INTO ${queues} (name) SELECT DISTINCT queue FROM input WHERE queue IS NOT NULL ORDER BY queue
    ON CONFLICT (name) DO NOTHING`;
  // Frees the serial queue of each job of `cte` (id, queue, status) that reached a final state.
  const releaseQueues = (cte: string) => `
    UPDATE ${queues} q SET held_by = NULL FROM ${cte} c
     WHERE c.queue IS NOT NULL AND q.name = c.queue AND q.held_by = c.id::bigint
       AND c.status IN ('completed', 'failed', 'cancelled')
    RETURNING q.name AS queue`;
  // The head of serial queue `queue` that a release unblocks: its best due pending job, else the one due first.
  // `notIn` names jobs that are pending in the statement's snapshot but not any more.
  const queueHead = (queue: string, notIn = '') => {
    const pending = `${jobs} h WHERE h.queue = ${queue} AND h.status = 'pending' ${notIn && `AND h.id NOT IN (${notIn})`}`;
    return `COALESCE(
      (SELECT h.id FROM ${pending} AND h.run_at <= now() ORDER BY h.priority DESC, h.run_at, h.id LIMIT 1),
      (SELECT h.id FROM ${pending} ORDER BY h.run_at, h.priority DESC, h.id LIMIT 1))`;
  };
  // Unblocks the head of each queue of `released` (queue), never one of the jobs of `done` (id). Matched by id, not
  // by `blocked`: a block committed after this statement's snapshot (see blockJobsBehindHolders) is still undone.
  const unblockHeads = (released: string, done: string) => `
    UPDATE ${jobs} j SET blocked = false
      FROM (SELECT ${queueHead('r.queue', `SELECT d.id::bigint FROM ${done} d`)} AS id
              FROM (SELECT DISTINCT queue FROM ${released} WHERE queue IS NOT NULL) r) head
     WHERE j.id = head.id
    RETURNING j.id`;
  // Completes the jobs that `change` (returning id, queue, status) accepted: frees their queues, wakes watchers.
  const completion = (change: string, eventsParam: string, newJobsParam: string) => `
      WITH completed AS (${change}), released AS (${releaseQueues('completed')}),
           unblocked AS (${unblockHeads('released', 'completed')})
      SELECT completed.id FROM completed, (${notifyIfAny('completed', eventsParam)}) a, (${notifyIfAny('released', newJobsParam)}) b`;
  // Up to $4 jobs of one final status that finished at least `retentionParam` ms ago, oldest first, through that
  // status's partial index (jobs_completed_idx...): the literal status is what lets the planner use it.
  const pastRetention = (status: string, retentionParam: string) => `
        SELECT id FROM (
          SELECT id FROM ${jobs}
           WHERE status = '${status}' AND finished_at <= now() - ${retentionParam}::float8 * interval '1 millisecond'
           ORDER BY finished_at
           LIMIT $4
           FOR UPDATE SKIP LOCKED) ${status}`;

  return {
    /**
     * $1 the jobs document (see jobsDocument). A keyed job meets the unfinished job holding its key: `dedupe` returns
     * that job, `replace` rewrites it while pending; a running one gives up its key first, so the new job can take it.
     * Returns nothing for a replace that lost a race with a claim (the caller retries it).
     */
    insertJobs: `
      WITH input AS (
        SELECT t.type, ${payload} AS payload, t.priority, t.max_attempts, ${runAt} AS run_at, t.queue, t.job_key,
               t.job_key_mode, t.ord
          FROM ${jobsDocument}
      ), detached AS (
        UPDATE ${jobs} j SET job_key = NULL FROM input i
         WHERE i.job_key_mode = 'replace' AND j.job_key = i.job_key AND j.status = 'running'
        RETURNING j.id
      ), queues AS (${insertQueues})
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at, queue, job_key, job_key_mode)
      SELECT i.type, i.payload, i.priority, i.max_attempts, i.run_at, i.queue, i.job_key, i.job_key_mode
        FROM input i
       ORDER BY i.ord
      ON CONFLICT (job_key) WHERE job_key IS NOT NULL AND status IN ('pending', 'running') DO UPDATE
         SET payload = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.payload ELSE ${jobs}.payload END,
             run_at = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.run_at ELSE ${jobs}.run_at END,
             priority = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.priority ELSE ${jobs}.priority END,
             max_attempts = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN EXCLUDED.max_attempts ELSE ${jobs}.max_attempts END,
             blocked = CASE WHEN EXCLUDED.job_key_mode = 'replace' THEN false ELSE ${jobs}.blocked END
       WHERE EXCLUDED.job_key_mode = 'dedupe' OR ${jobs}.status = 'pending'
      RETURNING ${columns}`,

    /**
     * $1 the jobs document (see jobsDocument), none with a key or a queue: each is a new row and nothing else is
     * written, so only what the database decides comes back, in input order.
     */
    insertPlainJobs: `
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at)
      SELECT t.type, ${payload}, t.priority, t.max_attempts, ${runAt} FROM ${jobsDocument} ORDER BY t.ord
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
                           locked_by, lease_expires_at)
      SELECT t.type, ${payload}, t.priority, CASE WHEN t.claim THEN COALESCE(t.max_attempts, t.claim_max_attempts) ELSE t.max_attempts END,
             ${runAt}, CASE WHEN t.claim THEN 'running' ELSE 'pending' END, CASE WHEN t.claim THEN 1 ELSE 0 END,
             CASE WHEN t.claim THEN now() END, CASE WHEN t.claim THEN gen_random_uuid() END, CASE WHEN t.claim THEN $2 END,
             CASE WHEN t.claim THEN now() + $3::float8 * interval '1 millisecond' END
        FROM input t ORDER BY t.ord
      RETURNING ${columns}, claim_token`,

    /** $1 ids. */
    selectJobs: `SELECT ${columns} FROM ${jobs} WHERE id = ANY($1::bigint[])`,

    /** $1 id, $2 cancel channel, $3 events channel, $4 new-jobs channel. */
    cancelJob: `
      WITH cancelled AS (
        UPDATE ${jobs} SET status = 'cancelled', finished_at = now(), ${released}
         WHERE id = $1::bigint AND status IN ('pending', 'running')
        RETURNING ${columns}
      ), released AS (${releaseQueues('cancelled')}), unblocked AS (${unblockHeads('cancelled', 'cancelled')})
      SELECT c.*, pg_notify($2, c.id), pg_notify($3, '') FROM cancelled c, (${notifyIfAny('released', '$4')}) n`,

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
      SELECT claimed.* FROM claimed, (${notifyIfAny('claimed', '$6')}) n
       ORDER BY priority DESC, run_at, id::bigint`,

    /** $1 ids, $2 tokens, $3 lease (ms). Returns the ids whose lease this worker still holds. */
    extendLeases: `
      UPDATE ${jobs} j SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
        FROM unnest($1::bigint[], $2::uuid[]) AS h(id, token)
       WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
      RETURNING j.id::text AS id`,

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
      ${notifyIfAny('saved', '$5')}`,

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
    ),

    /**
     * $1 id, $2 token, $3 error text, $4 retry delay (ms), $5 progress, $6 stage, $7 events channel,
     * $8 new-jobs channel, $9 final (no retry whatever attempts remain).
     * Retries (back to pending after the delay) until attempts reach max_attempts, then fails for good.
     */
    failJob: `
      WITH failed AS (
        UPDATE ${jobs} j
           SET status = CASE WHEN $9::boolean OR j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
               run_at = CASE WHEN $9::boolean OR j.attempts >= j.max_attempts THEN j.run_at
                             ELSE now() + $4::float8 * interval '1 millisecond' END,
               finished_at = CASE WHEN $9::boolean OR j.attempts >= j.max_attempts THEN now() END,
               last_error = $3, progress = $5, stage = COALESCE($6, j.stage), ${released}
         WHERE j.id = $1::bigint AND j.claim_token = $2::uuid AND j.status = 'running'
        RETURNING j.id, j.queue, j.status
      ), released AS (${releaseQueues('failed')}), unblocked AS (${unblockHeads('released', 'failed')})
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
           SET status = CASE WHEN h.started AND j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
               finished_at = CASE WHEN h.started AND j.attempts >= j.max_attempts THEN now() END,
               attempts = j.attempts - CASE WHEN h.started THEN 0 ELSE 1 END,
               last_error = CASE WHEN h.started THEN $6 ELSE j.last_error END,
               run_at = LEAST(j.run_at, now()), ${released}
          FROM unnest($1::bigint[], $2::uuid[], $5::boolean[]) AS h(id, token, started)
         WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
        RETURNING j.id::text AS id, j.queue, j.status
      ), released AS (${releaseQueues('handed')}), unblocked AS (${unblockHeads('released', 'handed')})
      SELECT handed.id FROM handed, (${notifyIfAny('handed', '$3')}) a, (${notifyIfAny('handed', '$4')}) b,
             (${notifyIfAny('released', '$3')}) c`,

    /**
     * $1 batch size, $2 error text, $3 new-jobs channel, $4 events channel.
     * Recovers running jobs whose lease expired: the attempt they used counts.
     */
    rescueExpiredJobs: `
      WITH expired AS (
        SELECT id FROM ${jobs}
         WHERE status = 'running' AND lease_expires_at < now()
         ORDER BY lease_expires_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED
      ), rescued AS (
        UPDATE ${jobs} j
           SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
               finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,
               run_at = now(), last_error = $2, ${released}
          FROM expired e
         WHERE j.id = e.id
        RETURNING j.id::text AS id, j.queue, j.status
      ), released AS (${releaseQueues('rescued')}), unblocked AS (${unblockHeads('released', 'rescued')})
      SELECT rescued.id, rescued.status FROM rescued,
             (${notifyIfAny('rescued', '$3', "status = 'pending'")}) a, (${notifyIfAny('rescued', '$4')}) b,
             (${notifyIfAny('released', '$3')}) c`,

    /**
     * $1 batch size. Marks pending jobs whose serial queue another job holds as blocked, so claims stop meeting them
     * (the claim reads only unblocked rows). Locking the queue row, and re-checking it, keeps a concurrent release
     * (which unblocks its queue's head) from being undone.
     */
    blockJobsBehindHolders: `
      WITH behind AS (
        SELECT j.id FROM ${jobs} j JOIN ${queues} q ON q.name = j.queue
         WHERE j.status = 'pending' AND j.queue IS NOT NULL AND NOT j.blocked AND q.held_by <> j.id
         LIMIT $1
         FOR UPDATE OF j, q SKIP LOCKED
      )
      UPDATE ${jobs} j SET blocked = true FROM behind b WHERE j.id = b.id RETURNING j.id`,

    /**
     * $1 batch size, $2 new-jobs channel. A safety net for a free queue whose head is blocked (e.g. a replace gave
     * its unblocked head a later run time, or a blocked job became due before it): unblocks that head.
     */
    unblockStalledQueues: `
      WITH stalled AS (
        SELECT ${queueHead('s.queue')} AS id
          FROM (SELECT DISTINCT j.queue FROM ${jobs} j JOIN ${queues} q ON q.name = j.queue
                 WHERE j.status = 'pending' AND j.queue IS NOT NULL AND j.blocked AND q.held_by IS NULL) s
      ), unblocked AS (
        UPDATE ${jobs} j SET blocked = false
          FROM (SELECT id FROM stalled s JOIN ${jobs} h USING (id) WHERE h.blocked LIMIT $1) head
         WHERE j.id = head.id AND j.blocked
        RETURNING j.id
      )
      SELECT unblocked.id::text AS id FROM unblocked, (${notifyIfAny('unblocked', '$2')}) n`,

    /**
     * $1 completed, $2 failed, $3 cancelled retention (ms), $4 batch size per status.
     * Deletes finished jobs past their retention; rows another pruner holds are skipped, and claims never touch these
     * rows, so pruners block neither each other nor the claim. Returns how many were deleted.
     */
    pruneFinishedJobs: `
      WITH due AS (${pastRetention('completed', '$1')}
        UNION ALL ${pastRetention('failed', '$2')}
        UNION ALL ${pastRetention('cancelled', '$3')}
      ), pruned AS (
        DELETE FROM ${jobs} j USING due d WHERE j.id = d.id RETURNING 1
      )
      SELECT count(*)::int AS pruned FROM pruned`,

    now: 'SELECT now() AS now',

    /** $1 type. */
    pauseType: `INSERT INTO ${paused} (type) VALUES ($1) ON CONFLICT (type) DO NOTHING`,

    /** $1 type, $2 new-jobs channel. */
    resumeType: `
      WITH resumed AS (DELETE FROM ${paused} WHERE type = $1 RETURNING type)
      SELECT count(*)::int AS resumed FROM resumed, (${notifyIfAny('resumed', '$2')}) n`,

    /** $1 type. */
    isPaused: `SELECT EXISTS (SELECT 1 FROM ${paused} WHERE type = $1) AS paused`,

    /** Counts per type and status, with the paused types (also those without jobs). */
    stats: `
      SELECT t.type, COALESCE(c.counts, '{}'::jsonb) AS counts, (p.type IS NOT NULL) AS paused
        FROM (SELECT DISTINCT type FROM ${jobs} UNION SELECT type FROM ${paused}) t
        LEFT JOIN (SELECT type, jsonb_object_agg(status, n) AS counts
                     FROM (SELECT type, status, count(*)::int AS n FROM ${jobs} GROUP BY type, status) g
                    GROUP BY type) c ON c.type = t.type
        LEFT JOIN ${paused} p ON p.type = t.type
       ORDER BY t.type`,

    /**
     * $1 name, $2 cron, $3 seconds, $4 time zone, $5 type, $6 payload (JSON text), $7 priority, $8 max attempts,
     * $9 queue, $10 catch-up, $11 starts at, $12 ends at, $13 first slot, $14 declared in.
     * An unchanged timing keeps the stored next slot, so a restart never fires a slot twice.
     */
    upsertSchedule: `
      INSERT INTO ${schedules} AS s (name, cron, seconds, time_zone, type, payload, priority, max_attempts, queue,
                                     catch_up, starts_at, ends_at, next_run_at, declared_in)
      VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
      ON CONFLICT (name) DO UPDATE
         SET cron = EXCLUDED.cron, seconds = EXCLUDED.seconds, time_zone = EXCLUDED.time_zone, type = EXCLUDED.type,
             payload = EXCLUDED.payload, priority = EXCLUDED.priority, max_attempts = EXCLUDED.max_attempts,
             queue = EXCLUDED.queue, catch_up = EXCLUDED.catch_up, starts_at = EXCLUDED.starts_at,
             ends_at = EXCLUDED.ends_at, declared_in = EXCLUDED.declared_in, updated_at = now(),
             next_run_at = CASE
               WHEN (s.cron, s.seconds, s.time_zone, s.starts_at, s.ends_at)
                    IS NOT DISTINCT FROM (EXCLUDED.cron, EXCLUDED.seconds, EXCLUDED.time_zone, EXCLUDED.starts_at, EXCLUDED.ends_at)
               THEN s.next_run_at ELSE EXCLUDED.next_run_at END
      RETURNING *`,

    /** $1 name. */
    deleteSchedule: `DELETE FROM ${schedules} WHERE name = $1 RETURNING name`,

    listSchedules: `SELECT * FROM ${schedules} ORDER BY name`,

    /**
     * $1 the types this process handles. Types of pending jobs that are not among them (serial-queue jobs aside), at
     * most 20: a skip scan over the claimable index, one probe per distinct type, so a backlog of millions costs
     * no more than a few.
     */
    pendingTypesOutside: `
      WITH RECURSIVE pending_types(type) AS (
        (SELECT type FROM ${jobs} WHERE status = 'pending' AND queue IS NULL ORDER BY type LIMIT 1)
        UNION ALL
        SELECT (SELECT j.type FROM ${jobs} j WHERE j.status = 'pending' AND j.queue IS NULL AND j.type > p.type ORDER BY j.type LIMIT 1)
          FROM pending_types p WHERE p.type IS NOT NULL
      )
      SELECT type FROM pending_types WHERE type IS NOT NULL AND type <> ALL($1::text[]) LIMIT 20`,

    /** $1 the types this process handles. Stored schedules that enqueue another type. */
    schedulesOutside: `SELECT name, type FROM ${schedules} WHERE type <> ALL($1::text[]) ORDER BY name LIMIT 20`,

    /** $1 batch size. Due schedules, locked for this transaction; others' locked ones are skipped. */
    lockDueSchedules: `
      SELECT *, now() AS db_now FROM ${schedules}
       WHERE next_run_at IS NOT NULL AND next_run_at <= now()
       ORDER BY next_run_at
       LIMIT $1
       FOR UPDATE SKIP LOCKED`,

    /**
     * $1 schedule name, $2 slot, $3 type, $4 payload, $5 priority, $6 max attempts, $7 queue.
     * A slot fires only when it is later than the schedule's last slot (checked under the lock fireDueSchedules holds
     * on the schedule row), so it can never fire twice even after its job was pruned; the unique slot index makes
     * a second insert of one slot a no-op, whoever tries it.
     */
    insertScheduledJob: `
      WITH queues AS (INSERT INTO ${queues} (name) SELECT $7::text WHERE $7::text IS NOT NULL ON CONFLICT (name) DO NOTHING)
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, queue, schedule_name, schedule_slot)
      SELECT $3::text, $4::jsonb, $5::int, $6::int, $7::text, $1::text, $2::timestamptz
       WHERE NOT EXISTS (SELECT 1 FROM ${schedules} WHERE name = $1::text AND last_slot >= $2::timestamptz)
      ON CONFLICT (schedule_name, schedule_slot) WHERE schedule_name IS NOT NULL DO NOTHING
      RETURNING id::text AS id`,

    /** $1 name, $2 next slot (NULL: ended), $3 last slot fired or skipped. */
    advanceSchedule: `UPDATE ${schedules} SET next_run_at = $2, last_slot = $3 WHERE name = $1`,
  };
}

export type QueueSql = ReturnType<typeof queueSql>;
