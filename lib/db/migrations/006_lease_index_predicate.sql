-- The rescuer's index, keyed by what it reads: a lease is set exactly while a job runs (every way out of `running`
-- clears it). Under `status = 'running'` the planner could also reach it from the fenced writes of a worker
-- (completions, heartbeats, progress, hand-backs: `WHERE j.id = x.id AND ... AND j.status = 'running'`), and once the
-- statistics saw few running jobs, their generic plans scanned every running job once per job written: a cost that
-- grew with concurrency times batch size. Those writes now reach their rows through the primary key alone.
-- As in 004, the build reads the whole table and blocks writes to jobs meanwhile (here 0.1 s for a million rows).
DROP INDEX jobs_lease_idx;
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
