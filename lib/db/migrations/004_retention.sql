-- Retention: worker processes delete finished jobs once they outlive their retention, in small batches.

-- The pruner's view: finished jobs of each status by age, oldest first. Partial, so the pending and running rows that
-- claims and heartbeats churn through never enter them. One index per status rather than one on (status, finished_at):
-- each status has its own retention, and without the status column an entry is about half the size (1M finished
-- jobs: 21 MB instead of 39 MB). On an existing table with many jobs these builds block writes to jobs while they run
-- (migrations run in one transaction, where CREATE INDEX CONCURRENTLY is not allowed).
CREATE INDEX jobs_completed_idx ON jobs (finished_at) WHERE status = 'completed';
CREATE INDEX jobs_failed_idx ON jobs (finished_at) WHERE status = 'failed';
CREATE INDEX jobs_cancelled_idx ON jobs (finished_at) WHERE status = 'cancelled';

-- Autovacuum for a queue table. Every job leaves at least three dead row versions behind (claim, completion,
-- deletion; heartbeats and progress writes add more), while most live rows are retained history that never changes.
-- A vacuum trigger in proportion to the table lets dead rows grow with the history kept: PostgreSQL's default of 20%
-- allows 200,000 dead rows in a 1M-row table, 001's 2% still 20,000. At 1% (plus the default threshold of 50 rows)
-- the space of pruned jobs is reused soon, and claims and the pruner pass few dead index entries.
-- 001 also set fillfactor = 80 (room in each page, so progress writes, which change no indexed column, can be HOT
-- updates) and autovacuum_analyze_scale_factor = 0.02 (fresh statistics while the status mix shifts); both stay.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01);

-- Payloads and results over about 2 kB live in the TOAST table, and are deleted with their jobs at the same pace.
ALTER TABLE jobs SET (toast.autovacuum_vacuum_scale_factor = 0.01);
