import type { JobRow } from '../db/job-row';
import type { JobStore, NewJobRow } from '../db/job-store';

/** Inserted, or this job's own error. */
export type InsertOutcome = JobRow | Error;

/** Payload bytes (about: JSON characters) one statement carries; a larger payload goes alone. */
const MAX_STATEMENT_PAYLOAD = 1024 * 1024;

/**
 * Writes the unkeyed enqueues of independent callers, in call order, in as few statements as the payload budget
 * allows (unkeyed, each store.insert is exactly one statement: no replace retries). A statement PostgreSQL refused
 * (an ERROR: nothing of it was committed) is retried as two halves, down to single jobs, so a job that fails fails
 * only its own caller and one bad job among n costs about 2 log2(n) statements, not n. Any other failure (a lost
 * connection: maybe committed) is never retried.
 */
export async function writeInserts(store: JobStore, jobs: NewJobRow[]): Promise<InsertOutcome[]> {
  const outcomes: InsertOutcome[] = [];
  for (const statement of byPayloadBudget(jobs)) outcomes.push(...(await writeStatement(store, statement)));
  return outcomes;
}

async function writeStatement(store: JobStore, jobs: NewJobRow[]): Promise<InsertOutcome[]> {
  try {
    return await store.insert(jobs);
  } catch (error) {
    if (jobs.length > 1 && isRolledBack(error)) {
      const half = jobs.length >> 1;
      const first = await writeStatement(store, jobs.slice(0, half));
      return first.concat(await writeStatement(store, jobs.slice(half)));
    }
    return jobs.map(() => asError(error));
  }
}

function* byPayloadBudget(jobs: NewJobRow[]): Generator<NewJobRow[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < jobs.length; i++) {
    bytes += jobs[i].payload.length;
    if (bytes > MAX_STATEMENT_PAYLOAD && i > start) {
      yield jobs.slice(start, i);
      start = i;
      bytes = jobs[i].payload.length;
    }
  }
  yield jobs.slice(start);
}

/** An ERROR reported by the server aborts the statement's transaction; FATAL or a broken socket leave it unknown. */
function isRolledBack(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return severity === 'ERROR' && typeof code === 'string';
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
