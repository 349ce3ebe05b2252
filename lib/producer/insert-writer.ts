import type { JobRow } from '../db/job-row';
import type { InsertStore } from '../db/stores/insert-store';
import type { NewJobRow, TraceCarrier } from '../db/job-writes';
import { isStatementRolledBack } from '../db/pg-errors';
import type { SlotLender } from './slot-lender';

/** An enqueue waiting for its statement; `lender` has reserved a slot for it when claimMaxAttempts is set. */
export interface PendingInsert {
  job: NewJobRow;
  claimMaxAttempts: number | null;
  lender?: SlotLender;
}

/** Inserted (a claimed job with its claim token), or this job's own error. */
export type InsertOutcome = (JobRow & { claim_token?: string | null; trace_context?: TraceCarrier | null }) | Error;

/** Payload bytes (about: JSON characters) one statement carries; a larger payload goes alone. */
const MAX_STATEMENT_PAYLOAD = 1024 * 1024;

/**
 * Writes the unkeyed enqueues of independent callers, in call order, in as few statements as the payload budget
 * allows (unkeyed, each store.insert is exactly one statement: no replace retries). A statement PostgreSQL refused
 * (an ERROR: nothing of it was committed) is retried as two halves, down to single jobs, so a job that fails fails
 * only its own caller and one bad job among n costs about 2 log2(n) statements, not n. Any other failure (a lost
 * connection: maybe committed) is never retried.
 */
export async function writeInserts(store: InsertStore, inserts: PendingInsert[]): Promise<InsertOutcome[]> {
  const outcomes: InsertOutcome[] = [];
  for (const statement of byPayloadBudget(inserts)) outcomes.push(...(await writeStatement(store, statement)));
  return outcomes;
}

async function writeStatement(store: InsertStore, inserts: PendingInsert[]): Promise<InsertOutcome[]> {
  try {
    return await insertStatement(store, inserts);
  } catch (error) {
    if (inserts.length > 1 && isStatementRolledBack(error)) {
      const half = inserts.length >> 1;
      const first = await writeStatement(store, inserts.slice(0, half));
      return first.concat(await writeStatement(store, inserts.slice(half)));
    }
    return inserts.map(() => asError(error));
  }
}

/** Claims in the insert only in a statement of plain jobs; next to a serial-queue job, a reserved job stays pending. */
function insertStatement(store: InsertStore, inserts: PendingInsert[]): Promise<InsertOutcome[]> {
  const jobs = inserts.map((insert) => insert.job);
  const lender = inserts.find((insert) => insert.lender)?.lender;
  if (!lender || jobs.some((job) => job.queue !== null)) return store.insert(jobs);
  const claimMaxAttempts = inserts.map((insert) => insert.claimMaxAttempts);
  return store.insertClaiming(jobs, { claimMaxAttempts, workerId: lender.workerId, leaseMs: lender.leaseMs, types: lender.types });
}

function* byPayloadBudget(inserts: PendingInsert[]): Generator<PendingInsert[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < inserts.length; i++) {
    bytes += inserts[i].job.payload.length;
    if (bytes > MAX_STATEMENT_PAYLOAD && i > start) {
      yield inserts.slice(start, i);
      start = i;
      bytes = inserts[i].job.payload.length;
    }
  }
  yield inserts.slice(start);
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
