-- Listing and counting jobs newest first (listJobs, countJobs) and the bulk actions, on a table that keeps millions
-- of finished jobs. A listing reads each status it asks for through its own index range, ordered by id, and merges
-- them: the first page costs the same with ten jobs or ten million.
--
-- Running rows stay out of these indexes: a job enters them when it is enqueued (pending) and when it ends, never at
-- its claim, so the claim writes no entry into them. Running jobs are few (at most the workers' concurrency) and are
-- found through the lease index instead: a lease is set exactly while a job runs (see 006).
-- As in 004, each build reads the whole table and blocks writes to jobs meanwhile.
CREATE INDEX jobs_list_status_idx ON jobs (status, id) WHERE status IN ('pending', 'completed', 'failed', 'cancelled');
CREATE INDEX jobs_list_type_idx ON jobs (type, status, id) WHERE status IN ('pending', 'completed', 'failed', 'cancelled');

-- Filters by serial queue and by job key; only jobs that have one pay for these.
CREATE INDEX jobs_list_queue_idx ON jobs (queue, id) WHERE queue IS NOT NULL;
CREATE INDEX jobs_list_key_idx ON jobs (job_key, id) WHERE job_key IS NOT NULL;
