import { InvalidPayloadError } from '../errors';
import { messages } from '../errors/messages';
import { MAX_JOBS_DOCUMENT_BYTES } from '../pg-queue.constants';
import type { NewJobRow } from './job-writes';

/**
 * The jobs as the one JSON document the insert statements take (`jobsDocument` in queue-sql.ts): PostgreSQL parses it
 * once, and each payload, already validated JSON text, goes in as it is. Absent fields are NULL.
 */
export function jobsDocument(jobs: NewJobRow[], claimMaxAttempts?: Array<number | null>): string {
  const objects = new Array<string>(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const claim = claimMaxAttempts?.[i];
    let object = `{"type":${JSON.stringify(job.type)},"payload":${job.payload},"priority":${job.priority}`;
    if (job.maxAttempts !== null) object += `,"max_attempts":${job.maxAttempts}`;
    if (job.runAt !== null) object += `,"run_at":"${job.runAt.toISOString()}"`;
    if (job.delayMs !== null) object += `,"delay_ms":${job.delayMs}`;
    if (job.queue !== null) object += `,"queue":${JSON.stringify(job.queue)}`;
    if (job.jobKey !== null) object += `,"job_key":${JSON.stringify(job.jobKey)},"job_key_mode":"${job.jobKeyMode}"`;
    if (claim != null) object += `,"claim_max_attempts":${claim}`;
    if (job.traceContext !== null) object += `,"trace_context":${JSON.stringify(job.traceContext)}`;
    objects[i] = object + '}';
  }
  const document = `[${objects.join(',')}]`;
  assertDocumentFits(document);
  return document;
}

/** PostgreSQL refuses a jsonb value over 256 MiB; refuse a batch well below that, before anything is sent. */
function assertDocumentFits(document: string): void {
  // A UTF-16 unit is 1 to 3 bytes of UTF-8: count bytes only when the length alone cannot decide.
  if (document.length * 3 <= MAX_JOBS_DOCUMENT_BYTES) return;
  const bytes = document.length > MAX_JOBS_DOCUMENT_BYTES ? document.length : Buffer.byteLength(document, 'utf8');
  if (bytes > MAX_JOBS_DOCUMENT_BYTES) throw new InvalidPayloadError(messages.batchTooLarge(bytes, MAX_JOBS_DOCUMENT_BYTES));
}
