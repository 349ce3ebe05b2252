/** How the worker's own statements commit. */
export interface WorkerCommitOptions {
  /**
   * Claims, completions, heartbeats and progress commit without waiting for their WAL to reach disk
   * (synchronous_commit off for that transaction only; `worker.synchronousCommit: false`). A server crash can then undo
   * the last fraction of a second of them: those jobs run again once their leases expire, which at-least-once delivery
   * allows. Enqueues always wait.
   */
  asyncWorkerCommits: boolean;
}

/** The pieces the statements share: table names, column lists, and CTE fragments. The schema is quoted once, by the caller. */
export function sqlFragments(quotedSchema: string, { asyncWorkerCommits }: WorkerCommitOptions) {
  const jobs = `${quotedSchema}.jobs`;
  const queues = `${quotedSchema}.serial_queues`;
  const paused = `${quotedSchema}.paused_types`;
  const schedules = `${quotedSchema}.schedules`;
  const deadLetterTargets = `${quotedSchema}.dead_letters`;
  const jobLogs = `${quotedSchema}.job_logs`;
  const eventSubscribers = `${quotedSchema}.event_subscribers`;
  const throughput = `${quotedSchema}.throughput`;
  const columns = `id::text AS id, type, queue, status, priority, payload, progress, stage, attempts, max_attempts,
    run_at, created_at, started_at, finished_at, last_error, result, job_key`;
  // What a worker reads of a job it claims (ClaimedJobRow).
  const claimedColumns = `j.id::text AS id, j.type, j.queue, j.priority, j.payload, j.progress, j.stage, j.attempts,
    j.max_attempts, j.run_at, j.created_at, j.started_at, j.claim_token, j.trace_context`;
  const released = 'claim_token = NULL, lease_expires_at = NULL, locked_by = NULL';
  // Joined into the FROM list of a worker statement's final SELECT: set_config(..., true) lasts for the statement's
  // own transaction, so it is safe behind a transaction pooler and never leaks to the next statement on the connection.
  const workerCommit = asyncWorkerCommits ? `, (SELECT set_config('synchronous_commit', 'off', true)) async_commit` : '';
  // The claimed job `j` has used its last attempt: a failure, an interruption or an expired lease now ends it.
  const attemptsExhausted = 'j.attempts >= j.max_attempts';
  // Runs pg_notify at most once, only when the named CTE produced a row; the count keeps the CTE evaluated.
  const notifyIfAny = (cte: string, channelParam: string, where = 'true') =>
    `SELECT count(*) FROM (SELECT pg_notify(${channelParam}, '') FROM (SELECT 1 FROM ${cte} WHERE ${where} LIMIT 1) r) n`;
  // The jobs to insert, from one JSON array of objects (see jobs-document.ts): parsed once, payloads stay jsonb.
  const jobsDocument = `
    ROWS FROM (jsonb_to_recordset($1::jsonb) AS (type text, payload jsonb, priority int, max_attempts int,
      run_at timestamptz, delay_ms float8, queue text, job_key text, job_key_mode text, claim_max_attempts int,
      trace_context jsonb))
    WITH ORDINALITY AS t(type, payload, priority, max_attempts, run_at_given, delay_ms, queue, job_key, job_key_mode,
      claim_max_attempts, trace_context, ord)`;
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
  // The failed jobs of `cte` (id, type, status, payload, last_error, attempts) whose type names a dead-letter type:
  // one job of that type each, whose payload names the failed job. In the failing statement: never lost, never twice.
  const enqueueDeadLetters = (cte: string) => `
    INSERT INTO ${jobs} (type, payload)
    SELECT d.target, jsonb_build_object('failedJob', jsonb_build_object(
             'id', f.id::text, 'type', f.type, 'payload', f.payload, 'lastError', f.last_error, 'attempts', f.attempts))
      FROM ${cte} f JOIN ${deadLetterTargets} d ON d.type = f.type
     WHERE f.status = 'failed'
     ORDER BY f.id
    RETURNING id`;
  // Deletes the stored log lines of the jobs of `cte` (id), which the statement deletes. While no job has ever logged,
  // the one-time check keeps this from reading anything per job.
  const dropLogs = (cte: string) => `
    DELETE FROM ${jobLogs} l USING ${cte} d
     WHERE l.job_id = d.id::bigint AND EXISTS (SELECT 1 FROM ${jobLogs})`;
  // Completes the jobs that `change` (returning id, queue, status) accepted: frees their queues, wakes watchers.
  // With `deletes`, `change` deletes the jobs, and their log lines go with them.
  const completion = (change: string, eventsParam: string, newJobsParam: string, deletes = false) => `
      WITH completed AS (${change}), released AS (${releaseQueues('completed')}),
           unblocked AS (${unblockHeads('released', 'completed')})${deletes ? `, dropped_logs AS (${dropLogs('completed')})` : ''}
      SELECT completed.id FROM completed, (${notifyIfAny('completed', eventsParam)}) a, (${notifyIfAny('released', newJobsParam)}) b${workerCommit}`;
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
    quotedSchema,
    jobs,
    queues,
    paused,
    schedules,
    deadLetterTargets,
    jobLogs,
    eventSubscribers,
    throughput,
    columns,
    claimedColumns,
    released,
    attemptsExhausted,
    workerCommit,
    notifyIfAny,
    jobsDocument,
    payload,
    runAt,
    insertQueues,
    releaseQueues,
    queueHead,
    unblockHeads,
    enqueueDeadLetters,
    dropLogs,
    completion,
    pastRetention,
  };
}

export type SqlFragments = ReturnType<typeof sqlFragments>;
