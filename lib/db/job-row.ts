import type { JobSnapshot, JobStatus } from '../interfaces';

/** A jobs row as the statements of queue-sql.ts select it. */
export interface JobRow {
  id: string;
  type: string;
  queue: string | null;
  status: JobStatus;
  priority: number;
  payload: unknown;
  progress: number;
  stage: string | null;
  attempts: number;
  max_attempts: number | null;
  run_at: Date;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  last_error: string | null;
  result: unknown;
}

/** A claimed row also carries the token that fences the worker's writes. */
export interface ClaimedJobRow extends JobRow {
  claim_token: string;
  max_attempts: number;
  started_at: Date;
}

export function toSnapshot<P = unknown, R = unknown>(row: JobRow): JobSnapshot<P, R> {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    priority: row.priority,
    queue: row.queue,
    payload: row.payload as P,
    progress: row.progress,
    stage: row.stage,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    lastError: row.last_error,
    result: (row.result ?? null) as R | null,
  };
}
