-- Stored job logs: the lines a handler writes with ctx.log(), with the attempt that wrote them. Deleted together with
-- their job by each statement that deletes jobs (the pruner, completion with retention 0, remove), not through a
-- foreign key: a cascade would cost every deleted job a lookup, also where no job ever logged.
CREATE TABLE job_logs (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id   bigint      NOT NULL,
  attempt  integer     NOT NULL,
  at       timestamptz NOT NULL,
  message  text        NOT NULL
);
CREATE INDEX job_logs_job_idx ON job_logs (job_id, id);
