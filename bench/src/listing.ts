// Listing and counting jobs (QueueService.listJobs, countJobs) where they cost most: on the claim case that keeps a
// million finished jobs. OperationsStore of dist/ on the library's own pool, as claims.ts runs ClaimStore.
import { JOB_STATUSES, type JobSelection } from '../../dist/db/job-selection';
import { OperationsStore } from '../../dist/db/stores/operations-store';
import type { StatementRunner } from '../../dist/db/statement-runner';
import type { QueueDatabase } from '../../dist/db/queue-database';
import { JOB_TYPE } from './adapters/nestjs-pgqueue';
import { median, now, percentile } from './measure';
import type { benchPool } from './db';

export const LISTING = { runs: 30, warmUp: 3, page: 50 };

/** The types the finished rows are spread over, in turn: a type filter then keeps a quarter of them. */
export const FINISHED_TYPES = [JOB_TYPE, 'bench.email', 'bench.report', 'bench.resize'];
/** Every 97th finished row failed (about 1%): coprime with the 4 types, so each type has its share of failures. */
export const FAILED_EVERY = 97;
/** A type with finished rows only: its listing reads the million, never the pending rows inserted after them. */
const LISTED_TYPE = FINISHED_TYPES[2];

export interface ListingTiming {
  label: string;
  medianMs: number;
  p95Ms: number;
  /** Jobs on the page (one more than the page size: the sign that another page follows), or the count. */
  returned: number;
}

type Measured = { label: string; run: () => Promise<number>; expected: number };

/**
 * Each listing and count `LISTING.runs` times, one after another, after a few warm-up runs. Every result is checked
 * first: a page holds `LISTING.page + 1` jobs, and a count equals a plain count(*) with the same conditions.
 */
export async function measureListing(
  queueDb: QueueDatabase,
  statements: StatementRunner,
  pool: ReturnType<typeof benchPool>,
  schema: string,
  log: (line: string) => void,
): Promise<ListingTiming[]> {
  const store = new OperationsStore(queueDb, statements);
  const every: JobSelection = { statuses: JOB_STATUSES };
  const failed: JobSelection = { statuses: ['failed'] };
  const ofType: JobSelection = { statuses: JOB_STATUSES, type: LISTED_TYPE };
  const middle = (await pool.query(`SELECT ((min(id) + max(id)) / 2)::text AS id FROM ${schema}.jobs`)).rows[0].id as string;
  // Running jobs are counted by their lease, as the library counts them: every running row here has one.
  const plainCount = async (where: string, values: unknown[] = []) =>
    Number((await pool.query(`SELECT count(*) FROM ${schema}.jobs WHERE ${where}`, values)).rows[0].count);
  const page = (selection: JobSelection, afterId?: string) => async () =>
    (await store.list(selection, { afterId, limit: LISTING.page })).length;
  const count = (selection: JobSelection) => () => store.count(selection);
  const full = LISTING.page + 1;

  const cases: Measured[] = [
    { label: `first page of ${LISTING.page}, every status`, run: page(every), expected: full },
    { label: `first page of ${LISTING.page}, status failed`, run: page(failed), expected: full },
    { label: `first page of ${LISTING.page}, one type (a quarter of the finished jobs)`, run: page(ofType), expected: full },
    { label: `page of ${LISTING.page} after an id in the middle of the table, one type`, run: page(ofType, middle), expected: full },
    { label: 'countJobs, status failed', run: count(failed), expected: await plainCount(`status = 'failed'`) },
    { label: 'countJobs, one type, every status', run: count(ofType), expected: await plainCount('type = $1', [LISTED_TYPE]) },
    { label: 'countJobs, no filter (every status)', run: count(every), expected: await plainCount('true') },
  ];

  const timings: ListingTiming[] = [];
  for (const { label, run, expected } of cases) {
    const returned = await run();
    if (returned !== expected) throw new Error(`${label}: returned ${returned} instead of ${expected}`);
    for (let i = 1; i < LISTING.warmUp; i++) await run();
    const times: number[] = [];
    for (let i = 0; i < LISTING.runs; i++) {
      const start = now();
      await run();
      times.push(now() - start);
    }
    const timing = { label, medianMs: median(times), p95Ms: percentile(times, 95), returned };
    timings.push(timing);
    log(`    ${label}: ${returned} jobs, median ${timing.medianMs.toFixed(2)} ms, p95 ${timing.p95Ms.toFixed(2)} ms`);
  }
  return timings;
}
