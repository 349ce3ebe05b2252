-- Listing and counting jobs newest first (listJobs, countJobs) and the bulk actions, on a table that keeps millions
-- of finished jobs. A listing reads each status it asks for through an index range and merges them (see
-- sql/job-selection-sql.ts): finished jobs by type, serial queue or job key through these indexes, in id order;
-- finished jobs of any type through the retention indexes of 004 (one per status) or the primary key; pending ones
-- through the claim indexes of 002 and 003, running ones through the lease index of 006.
--
-- Only finished rows enter these indexes: a job adds one entry to each when it ends, none at its enqueue or its claim,
-- so the hot path pays as little as possible for them (an index of pending jobs by id cost bulk enqueue about 10%).
-- As in 004, each build reads the whole table and blocks writes to jobs meanwhile.
CREATE INDEX jobs_list_type_idx ON jobs (type, status, id) WHERE status IN ('completed', 'failed', 'cancelled');
-- Only jobs with a serial queue or a job key pay for these two.
CREATE INDEX jobs_list_queue_idx ON jobs (queue, status, id) WHERE queue IS NOT NULL AND status IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_list_key_idx ON jobs (job_key, status, id) WHERE job_key IS NOT NULL AND status IN ('completed', 'failed', 'cancelled');
