/** Metadata key that @JobHandler writes and HandlerExplorer reads. */
export const JOB_HANDLER_METADATA = 'nestjs-pgqueue:job-handler';
export const DEFAULT_SCHEMA = 'pgqueue';
export const DEFAULT_PRIORITY = 100;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
