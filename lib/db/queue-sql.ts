/**
 * Every statement nestjs-pgqueue runs against its tables, in one place.
 * Values are always $n parameters; the only text interpolated is the schema name, validated and quoted once.
 * Ids travel as text (never JS numbers) so int8 stays exact whatever type parsers the pool has.
 * Worker writes about a running job are fenced: they change nothing unless the claim token still matches.
 */
export function queueSql(quotedSchema: string) {
  const jobs = `${quotedSchema}.jobs`;
  const columns = `id::text AS id, type, queue, status, priority, payload, progress, stage, attempts, max_attempts,
    run_at, created_at, started_at, finished_at, last_error, result`;
  const released = 'claim_token = NULL, lease_expires_at = NULL, locked_by = NULL';
  // Runs pg_notify at most once, only when the named CTE produced a row; the count keeps the CTE evaluated.
  const notifyIfAny = (cte: string, channelParam: string, where = 'true') =>
    `SELECT count(*) FROM (SELECT pg_notify(${channelParam}, '') FROM (SELECT 1 FROM ${cte} WHERE ${where} LIMIT 1) r) n`;

  return {
    /** $1 types, $2 payloads (JSON text), $3 priorities, $4 max attempts, $5 run at, $6 delays (ms). */
    insertJobs: `
      INSERT INTO ${jobs} (type, payload, priority, max_attempts, run_at)
      SELECT t.type, t.payload::jsonb, t.priority, t.max_attempts,
             COALESCE(t.run_at, now() + COALESCE(t.delay_ms, 0) * interval '1 millisecond')
        FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::timestamptz[], $6::float8[])
             WITH ORDINALITY AS t(type, payload, priority, max_attempts, run_at, delay_ms, ord)
       ORDER BY t.ord
      RETURNING ${columns}`,

    /** $1 ids. */
    selectJobs: `SELECT ${columns} FROM ${jobs} WHERE id = ANY($1::bigint[])`,

    /** $1 id, $2 cancel channel, $3 events channel. */
    cancelJob: `
      WITH cancelled AS (
        UPDATE ${jobs} SET status = 'cancelled', finished_at = now(), ${released}
         WHERE id = $1::bigint AND status IN ('pending', 'running')
        RETURNING ${columns}
      )
      SELECT c.*, pg_notify($2, c.id), pg_notify($3, '') FROM cancelled c`,

    /**
     * $1 handled types, $2 their default max attempts, $3 batch size, $4 worker id, $5 lease (ms), $6 events channel.
     * Highest priority first, then run_at, then id, through the partial index of claimable rows.
     */
    claimJobs: `
      WITH candidates AS (
        SELECT id FROM ${jobs}
         WHERE status = 'pending' AND run_at <= now() AND type = ANY($1::text[])
         ORDER BY priority DESC, run_at, id
         LIMIT $3
         FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE ${jobs} j
           SET status = 'running', attempts = j.attempts + 1, started_at = now(),
               max_attempts = COALESCE(j.max_attempts, d.max_attempts),
               claim_token = gen_random_uuid(), locked_by = $4,
               lease_expires_at = now() + $5::float8 * interval '1 millisecond'
          FROM candidates c, unnest($1::text[], $2::int[]) AS d(type, max_attempts)
         WHERE j.id = c.id AND d.type = j.type
        RETURNING j.id::text AS id, j.type, j.queue, j.status, j.priority, j.payload, j.progress, j.stage,
                  j.attempts, j.max_attempts, j.run_at, j.created_at, j.started_at, j.finished_at,
                  j.last_error, j.result, j.claim_token
      )
      SELECT claimed.* FROM claimed, (${notifyIfAny('claimed', '$6')}) n
       ORDER BY priority DESC, run_at, id::bigint`,

    /** $1 ids, $2 tokens, $3 lease (ms). Returns the ids whose lease this worker still holds. */
    extendLeases: `
      UPDATE ${jobs} j SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
        FROM unnest($1::bigint[], $2::uuid[]) AS h(id, token)
       WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
      RETURNING j.id::text AS id`,

    /** $1 ids, $2 tokens, $3 percents, $4 stages (NULL keeps the stored one), $5 events channel. */
    saveProgress: `
      WITH saved AS (
        UPDATE ${jobs} j SET progress = p.progress, stage = COALESCE(p.stage, j.stage)
          FROM unnest($1::bigint[], $2::uuid[], $3::int[], $4::text[]) AS p(id, token, progress, stage)
         WHERE j.id = p.id AND j.claim_token = p.token AND j.status = 'running'
        RETURNING j.id
      )
      ${notifyIfAny('saved', '$5')}`,

    /** $1 ids, $2 tokens, $3 results (JSON text), $4 last stages, $5 events channel. Returns the ids accepted. */
    completeJobs: `
      WITH completed AS (
        UPDATE ${jobs} j
           SET status = 'completed', result = c.result::jsonb, progress = 100, stage = COALESCE(c.stage, j.stage),
               finished_at = now(), ${released}
          FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS c(id, token, result, stage)
         WHERE j.id = c.id AND j.claim_token = c.token AND j.status = 'running'
        RETURNING j.id::text AS id
      )
      SELECT completed.id FROM completed, (${notifyIfAny('completed', '$5')}) n`,

    /**
     * $1 id, $2 token, $3 error text, $4 retry delay (ms), $5 progress, $6 stage, $7 events channel.
     * Retries (back to pending after the delay) until attempts reach max_attempts, then fails for good.
     */
    failJob: `
      WITH failed AS (
        UPDATE ${jobs} j
           SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
               run_at = CASE WHEN j.attempts >= j.max_attempts THEN j.run_at
                             ELSE now() + $4::float8 * interval '1 millisecond' END,
               finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,
               last_error = $3, progress = $5, stage = COALESCE($6, j.stage), ${released}
         WHERE j.id = $1::bigint AND j.claim_token = $2::uuid AND j.status = 'running'
        RETURNING j.status
      )
      SELECT failed.status FROM failed, (${notifyIfAny('failed', '$7')}) n`,

    /**
     * $1 ids, $2 tokens, $3 new-jobs channel, $4 events channel.
     * Gives claimed jobs back without using up an attempt (shutdown), and wakes other workers for them.
     */
    handBackJobs: `
      WITH handed AS (
        UPDATE ${jobs} j SET status = 'pending', attempts = j.attempts - 1, run_at = now(), ${released}
          FROM unnest($1::bigint[], $2::uuid[]) AS h(id, token)
         WHERE j.id = h.id AND j.claim_token = h.token AND j.status = 'running'
        RETURNING j.id::text AS id
      )
      SELECT handed.id FROM handed, (${notifyIfAny('handed', '$3')}) a, (${notifyIfAny('handed', '$4')}) b`,

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
        RETURNING j.id::text AS id, j.status
      )
      SELECT rescued.id, rescued.status FROM rescued,
             (${notifyIfAny('rescued', '$3', "status = 'pending'")}) a, (${notifyIfAny('rescued', '$4')}) b`,
  };
}

export type QueueSql = ReturnType<typeof queueSql>;
