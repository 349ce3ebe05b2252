/** Metadata key that @JobHandler writes and HandlerExplorer reads. */
export const JOB_HANDLER_METADATA = 'nestjs-pgqueue:job-handler';
/** Metadata key that @OnJobEvent writes and HandlerExplorer reads. */
export const JOB_EVENT_LISTENER_METADATA = 'nestjs-pgqueue:job-event-listener';
export const DEFAULT_SCHEMA = 'pgqueue';
export const DEFAULT_PRIORITY = 100;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** The jobs of one insert statement travel as one jsonb document: half of PostgreSQL's 256 MiB limit for one. */
export const MAX_JOBS_DOCUMENT_BYTES = 128 * 1024 * 1024;
/** Highest maxPayloadBytes accepted: a single job always fits in one document. */
export const MAX_PAYLOAD_BYTES_LIMIT = 64 * 1024 * 1024;

const DAY_MS = 24 * 3600 * 1000;
/** Completed jobs are kept a day, failed and cancelled ones a week: long enough to look into what went wrong. */
export const DEFAULT_RETENTION = { completedMs: DAY_MS, failedMs: 7 * DAY_MS, cancelledMs: 7 * DAY_MS, pruneIntervalMs: 60_000 };
/** Ten years: beyond it a retention is a typo, not a policy. */
export const MAX_RETENTION_MS = 3650 * DAY_MS;
