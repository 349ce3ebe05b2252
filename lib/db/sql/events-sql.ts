import type { SqlFragments } from './fragments';

/** Job events across processes: who subscribes, and the notifications that carry the events. */
export function eventsSql({ eventSubscribers, throughput }: SqlFragments) {
  return {
    /**
     * $1 worker id, $2 types, $3 minutes (epoch ms), $4 completed, $5 failed: this worker's counts so far in each
     * minute (absolute, so a repeated write changes nothing). Also deletes rows older than a day.
     */
    saveThroughput: `
      WITH saved AS (
        INSERT INTO ${throughput} AS t (type, minute, worker_id, completed, failed)
        SELECT c.type, to_timestamp(c.minute / 1000.0), $1, c.completed, c.failed
          FROM unnest($2::text[], $3::float8[], $4::int[], $5::int[]) AS c(type, minute, completed, failed)
        ON CONFLICT (minute, type, worker_id) DO UPDATE SET completed = EXCLUDED.completed, failed = EXCLUDED.failed
        RETURNING 1
      ), expired AS (DELETE FROM ${throughput} WHERE minute < now() - interval '1 day')
      SELECT count(*)::int AS saved FROM saved`,

    /** $1 minutes back from now. Jobs completed and failed per minute and type, every worker summed. */
    selectThroughput: `
      SELECT minute, type, sum(completed)::int AS completed, sum(failed)::int AS failed FROM ${throughput}
       WHERE minute >= date_trunc('minute', now()) - $1::int * interval '1 minute'
       GROUP BY minute, type ORDER BY minute, type`,

    /** $1 subscriber id, $2 how long the subscription holds unless renewed (ms), $3 subscribers channel. */
    renewSubscriber: `
      WITH renewed AS (
        INSERT INTO ${eventSubscribers} (id, expires_at) VALUES ($1::uuid, now() + $2::float8 * interval '1 millisecond')
        ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
        RETURNING (xmax = 0) AS created
      )
      SELECT CASE WHEN created THEN pg_notify($3, '') END FROM renewed`,

    /** $1 subscriber id. Also clears subscriptions that expired (their process ended without saying so). */
    removeSubscriber: `DELETE FROM ${eventSubscribers} WHERE id = $1::uuid OR expires_at < now() - interval '1 hour'`,

    anySubscriber: `SELECT EXISTS (SELECT 1 FROM ${eventSubscribers} WHERE expires_at > now()) AS any`,

    /** $1 job-events channel, $2 payloads (each one notification). */
    publishEvents: `SELECT count(*)::int AS sent FROM (SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p) n`,
  };
}
