import type { JobSnapshot, JobStatus, Schedule } from '../interfaces';
import type { NewJobRow, TraceCarrier } from './job-writes';

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
  job_key: string | null;
}

/** A schedules row. */
export interface ScheduleRow {
  name: string;
  cron: string;
  seconds: boolean;
  time_zone: string;
  type: string;
  payload: unknown;
  priority: number;
  max_attempts: number | null;
  queue: string | null;
  catch_up: 'skip' | 'last';
  starts_at: Date | null;
  ends_at: Date | null;
  next_run_at: Date | null;
  last_slot: Date | null;
  declared_in: 'runtime' | 'code';
}

/** What a worker reads of a job it claims, with the token that fences its writes about the job. */
export interface ClaimedJobRow extends Pick<
  JobRow,
  'id' | 'type' | 'queue' | 'priority' | 'payload' | 'progress' | 'stage' | 'attempts' | 'run_at' | 'created_at'
> {
  claim_token: string;
  max_attempts: number;
  started_at: Date;
  /** The enqueue's trace context, when it was traced. */
  trace_context: TraceCarrier | null;
}

/** What insertPlainJobs returns per job: what the database decided. */
export interface InsertedRow {
  id: string;
  run_at: Date;
  created_at: Date;
}

/**
 * The row of a new job without key or queue, as insertPlainJobs stored it: its input, the column defaults of the
 * migrations, and what the database decided.
 */
export function newRow(job: NewJobRow, inserted: InsertedRow): JobRow {
  return {
    id: inserted.id,
    type: job.type,
    queue: null,
    status: 'pending',
    priority: job.priority,
    payload: JSON.parse(job.payload),
    progress: 0,
    stage: null,
    attempts: 0,
    max_attempts: job.maxAttempts,
    run_at: inserted.run_at,
    created_at: inserted.created_at,
    started_at: null,
    finished_at: null,
    last_error: null,
    result: null,
    job_key: null,
  };
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
    jobKey: row.job_key,
  };
}

export function toSchedule(row: ScheduleRow): Schedule {
  return {
    name: row.name,
    cron: row.cron,
    timezone: row.time_zone,
    type: row.type,
    payload: row.payload,
    priority: row.priority,
    maxAttempts: row.max_attempts,
    queue: row.queue,
    catchUp: row.catch_up,
    startAt: row.starts_at,
    endAt: row.ends_at,
    nextRunAt: row.next_run_at,
    lastSlot: row.last_slot,
    declaredIn: row.declared_in,
  };
}
