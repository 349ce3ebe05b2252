import type { SqlFragments } from './fragments';

/** Recurring schedules: storing them and firing their slots. */
export function scheduleSql({ jobs, queues, schedules }: SqlFragments) {
  return {
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
