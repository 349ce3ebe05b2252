import type { SqlFragments } from './fragments';

/** Job events across processes: who subscribes, and the notifications that carry the events. */
export function eventsSql({ eventSubscribers }: SqlFragments) {
  return {
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
