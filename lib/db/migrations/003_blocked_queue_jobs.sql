-- Jobs waiting behind a busy serial queue leave the claimable index, so many busy queues never slow claims.
-- A claim that meets a pending job whose queue is held by another job marks it blocked (once); releasing a queue
-- unblocks its head. Blocked jobs are still 'pending' to everyone else (snapshots, job keys, cancel, stats).
ALTER TABLE jobs ADD COLUMN blocked boolean NOT NULL DEFAULT false;

DROP INDEX jobs_claimable_queued_idx;
CREATE INDEX jobs_claimable_queued_idx ON jobs (priority DESC, run_at, id)
  WHERE status = 'pending' AND queue IS NOT NULL AND NOT blocked;

-- The serial queues that have blocked jobs: what the safety net that unblocks a stalled queue's head reads.
CREATE INDEX jobs_blocked_queue_idx ON jobs (queue) WHERE status = 'pending' AND blocked;
