-- Jobs completed and failed per minute, per type, as each worker process counted them: what the dashboard charts.
-- Each worker writes its own rows (no two workers update one row), about every ten seconds, off the claim and
-- outcome writes; rows older than a day are deleted by those same writes.
CREATE TABLE throughput (
  type      text        NOT NULL,
  minute    timestamptz NOT NULL,
  worker_id text        NOT NULL,
  completed integer     NOT NULL,
  failed    integer     NOT NULL,
  PRIMARY KEY (minute, type, worker_id)
);
