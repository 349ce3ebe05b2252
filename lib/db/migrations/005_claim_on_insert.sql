-- A job its own application's worker claims in the insert (insertPlainJobsClaiming) is inserted running: it needs no
-- wake-up, and other workers woken for it would only find nothing to claim.
CREATE OR REPLACE FUNCTION notify_new_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'pending' AND run_at <= now()) THEN
    PERFORM pg_notify(TG_TABLE_SCHEMA || ':new', '');
  END IF;
  RETURN NULL;
END
$fn$;
