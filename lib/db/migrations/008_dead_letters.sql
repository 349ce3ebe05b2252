-- Dead letters: a handler's `deadLetter` option, stored per job type by each worker at its start, so that whichever
-- process fails a job for good (its own worker, a rescuer elsewhere, a shutdown) enqueues the dead-letter job in the
-- same statement as the failure. The last worker to start decides for its types.
CREATE TABLE dead_letters (
  type       text PRIMARY KEY,
  target     text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
