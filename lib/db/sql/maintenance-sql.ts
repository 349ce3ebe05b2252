import type { SqlFragments } from './fragments';

/** Background maintenance: lease recovery, serial-queue upkeep, retention, and the boot report. */
export function maintenanceSql({
  jobs,
  queues,
  released,
  notifyIfAny,
  releaseQueues,
  queueHead,
  unblockHeads,
  pastRetention,
  attemptsExhausted,
  enqueueDeadLetters,
  dropLogs,
}: SqlFragments) {
  return {
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
           SET status = CASE WHEN ${attemptsExhausted} THEN 'failed' ELSE 'pending' END,
               finished_at = CASE WHEN ${attemptsExhausted} THEN now() END,
               run_at = now(), last_error = $2, ${released}
          FROM expired e
         WHERE j.id = e.id
        RETURNING j.id::text AS id, j.queue, j.status, j.type, j.payload, j.last_error, j.attempts, j.max_attempts,
                  j.trace_context
      ), released AS (${releaseQueues('rescued')}), unblocked AS (${unblockHeads('released', 'rescued')}),
         dead_letters AS (${enqueueDeadLetters('rescued')})
      SELECT rescued.id, rescued.status, rescued.type, rescued.attempts, rescued.max_attempts, rescued.trace_context
        FROM rescued,
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
        DELETE FROM ${jobs} j USING due d WHERE j.id = d.id RETURNING j.id
      ), dropped_logs AS (${dropLogs('pruned')})
      SELECT count(*)::int AS pruned FROM pruned`,

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
  };
}
