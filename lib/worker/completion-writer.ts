import type { OutcomeStore } from '../db/stores/outcome-store';
import type { JobCompletion } from '../db/job-writes';
import { isDataError } from '../db/pg-errors';

/** Accepted, fenced off (the lease is gone), or refused by PostgreSQL for this job's data alone. */
export type CompletionOutcome = boolean | Error;

/**
 * Writes a batch of completions in one statement; with `deleteAtOnce` (retention 0) that statement deletes the jobs.
 * If the batch fails, each completion is written alone, so one result PostgreSQL refuses (too large, invalid) fails
 * only its own job; connection errors are rethrown.
 */
export async function writeCompletions(
  store: OutcomeStore,
  completions: JobCompletion[],
  deleteAtOnce = false,
): Promise<CompletionOutcome[]> {
  try {
    const accepted = await store.complete(completions, deleteAtOnce);
    return completions.map((c) => accepted.has(c.id));
  } catch (error) {
    if (completions.length === 1) {
      if (isDataError(error)) return [error as Error];
      throw error;
    }
    const outcomes: CompletionOutcome[] = [];
    for (const completion of completions) outcomes.push((await writeCompletions(store, [completion], deleteAtOnce))[0]);
    return outcomes;
  }
}
