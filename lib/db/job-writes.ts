import type { JobKeyMode } from '../interfaces';

/** What the queue writes about jobs: rows to insert, and the fenced writes a worker makes. Types only. */

/** A job ready for insertion: validated, payload already JSON text. */
export interface NewJobRow {
  type: string;
  payload: string;
  priority: number;
  maxAttempts: number | null;
  runAt: Date | null;
  delayMs: number | null;
  queue: string | null;
  jobKey: string | null;
  jobKeyMode: JobKeyMode | null;
  /** The enqueue's trace context (see telemetry/), stored so each attempt continues its trace. */
  traceContext: TraceCarrier | null;
}

/** A trace context as OpenTelemetry's propagators write it (W3C: `traceparent`, `tracestate`). */
export type TraceCarrier = Record<string, string>;

/** A fenced reference to a job this worker claimed. */
export interface JobLease {
  id: string;
  token: string;
}

/** A job's result, ready to be written (JSON text). */
export interface JobCompletion extends JobLease {
  result: string;
  stage: string | null;
}

/** The latest progress of a running job. */
export interface ProgressUpdate extends JobLease {
  percent: number;
  stage: string | null;
}

/** A failed attempt, ready to be written. */
export interface JobFailure extends JobLease {
  error: string;
  retryDelayMs: number;
  progress: number;
  stage: string | null;
  /** Fail for good, whatever attempts remain. */
  final: boolean;
}
