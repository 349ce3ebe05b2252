import type { NewJobRow } from './job-store';

/**
 * The jobs as the one JSON document the insert statements take (`jobsDocument` in queue-sql.ts): PostgreSQL parses it
 * once, and each payload, already validated JSON text, goes in as it is. Absent fields are NULL.
 */
export function jobsDocument(jobs: NewJobRow[]): string {
  const objects = new Array<string>(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    let object = `{"type":${JSON.stringify(job.type)},"payload":${job.payload},"priority":${job.priority}`;
    if (job.maxAttempts !== null) object += `,"max_attempts":${job.maxAttempts}`;
    if (job.runAt !== null) object += `,"run_at":"${job.runAt.toISOString()}"`;
    if (job.delayMs !== null) object += `,"delay_ms":${job.delayMs}`;
    if (job.queue !== null) object += `,"queue":${JSON.stringify(job.queue)}`;
    if (job.jobKey !== null) object += `,"job_key":${JSON.stringify(job.jobKey)},"job_key_mode":"${job.jobKeyMode}"`;
    objects[i] = object + '}';
  }
  return `[${objects.join(',')}]`;
}
