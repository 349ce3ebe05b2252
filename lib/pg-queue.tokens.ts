/** Injection token of the module options with defaults filled in and validated. */
export const RESOLVED_OPTIONS = Symbol('PGQUEUE_RESOLVED_OPTIONS');

/** Injection token of the queue's telemetry (telemetry/job-telemetry.ts): OpenTelemetry, or nothing. */
export const JOB_TELEMETRY = Symbol('PGQUEUE_JOB_TELEMETRY');
