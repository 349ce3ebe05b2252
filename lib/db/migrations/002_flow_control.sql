-- Job keys, named serial queues, paused types and recurring schedules.

ALTER TABLE jobs
  ADD COLUMN job_key       text,
  ADD COLUMN job_key_mode  text CHECK (job_key_mode IN ('dedupe', 'replace')),
  ADD COLUMN schedule_name text,
  ADD COLUMN schedule_slot timestamptz;

-- At most one unfinished job per key: what makes concurrent enqueues of one key race-free.
CREATE UNIQUE INDEX jobs_job_key_idx ON jobs (job_key) WHERE job_key IS NOT NULL AND status IN ('pending', 'running');

-- Exactly one job per schedule slot, whichever process inserts it.
CREATE UNIQUE INDEX jobs_schedule_slot_idx ON jobs (schedule_name, schedule_slot) WHERE schedule_name IS NOT NULL;

-- Claims are made per job type (never more of a type than can start) outside serial queues, and by priority
-- inside them; many queued jobs or jobs of types nobody handles never slow other claims.
DROP INDEX jobs_claimable_idx;
CREATE INDEX jobs_claimable_idx ON jobs (type, priority DESC, run_at, id) WHERE status = 'pending' AND queue IS NULL;
CREATE INDEX jobs_claimable_queued_idx ON jobs (priority DESC, run_at, id) WHERE status = 'pending' AND queue IS NOT NULL;
-- The head of each serial queue.
CREATE INDEX jobs_queue_head_idx ON jobs (queue, priority DESC, run_at, id) WHERE status = 'pending' AND queue IS NOT NULL;

-- One row per serial queue name. held_by is the job that owns the queue from its claim until it ends
-- (completed, failed for good or cancelled): retries and snoozes keep the queue, so order holds.
CREATE TABLE serial_queues (
  name    text PRIMARY KEY,
  held_by bigint
);

CREATE TABLE paused_types (
  type      text PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schedules (
  name        text PRIMARY KEY,
  cron        text        NOT NULL,
  seconds     boolean     NOT NULL DEFAULT false,
  time_zone   text        NOT NULL DEFAULT 'UTC',
  type        text        NOT NULL,
  payload     jsonb       NOT NULL DEFAULT '{}',
  priority    integer     NOT NULL DEFAULT 100,
  max_attempts integer    CHECK (max_attempts >= 1),
  queue       text,
  catch_up    text        NOT NULL DEFAULT 'skip' CHECK (catch_up IN ('skip', 'last')),
  starts_at   timestamptz,
  ends_at     timestamptz,
  -- The next slot to fire; NULL once the schedule has ended.
  next_run_at timestamptz,
  last_slot   timestamptz,
  declared_in text        NOT NULL DEFAULT 'runtime' CHECK (declared_in IN ('runtime', 'code')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
