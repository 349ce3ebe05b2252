// The library's own claim, exactly as its workers run it (schema 'pgqueue', the default): ClaimStore.claim on a pool
// the library creates itself, with its prepared statement and session settings.
import { ClaimStore } from '../../dist/db/stores/claim-store';
import { OutcomeStore } from '../../dist/db/stores/outcome-store';
import { StatementRunner } from '../../dist/db/statement-runner';
import { QueueDatabase } from '../../dist/db/queue-database';
import { createApp, JOB_TYPE } from './adapters/nestjs-pgqueue';
import { median, now, percentile } from './measure';
import { benchPool, storage, type Storage } from './db';
import { FAILED_EVERY, FINISHED_TYPES, measureListing, type ListingTiming } from './listing';

export const CLAIMS = { count: 50, batch: 32 };

export interface ClaimCase {
  label: string;
  pending: number;
  finished: number;
  /** Serial queues each held by a running job, with a backlog of 2 pending jobs. */
  busyQueues?: number;
  /** Jobs claimed and completed, a batch at a time as a worker does, after the VACUUM and before the measured claims. */
  drainedFirst?: number;
  /** Also time listJobs and countJobs (listing.ts) after the claims: on one case only, to keep the run short. */
  withListing?: boolean;
}

export interface ClaimResult extends ClaimCase, Storage {
  medianMs: number;
  p95Ms: number;
  setupSeconds: number;
  listing?: ListingTiming[];
}

export function claimCases(): ClaimCase[] {
  return [
    { label: '10k pending', pending: 10_000, finished: 0 },
    { label: '100k pending', pending: 100_000, finished: 0 },
    { label: '1M pending', pending: 1_000_000, finished: 0 },
    { label: '10k pending + 1M finished kept', pending: 10_000, finished: 1_000_000, withListing: true },
    { label: '10k pending + 100k busy serial queues, 2 waiting in each', pending: 10_000, finished: 0, busyQueues: 100_000 },
    { label: '200k pending, after 150k of them were drained (no VACUUM since)', pending: 200_000, finished: 0, drainedFirst: 150_000 },
  ];
}

/**
 * Claim time of nestjs-pgqueue as its table grows: for each case the jobs table is filled directly with SQL
 * (pending rows, and finished rows as the worker leaves them), vacuumed and analyzed as autovacuum would, then
 * ClaimStore.claim of dist/ claims a batch `count` times (committed, as a worker does). A case with `drainedFirst`
 * first claims and completes that many jobs with the worker's own statements, without a VACUUM: what a claim costs
 * in the middle of a long drain, when the index still holds the entries of every job claimed since.
 */
export async function measureClaims(url: string, cases: ClaimCase[], log: (line: string) => void): Promise<ClaimResult[]> {
  await (await createApp(url)).close(); // migrates the schema, as any application start does
  const schema = 'pgqueue';
  const pool = benchPool(url, 1);
  const queueDb = QueueDatabase.fromConnectionString(url, schema);
  const statements = new StatementRunner(queueDb);
  const store = new ClaimStore(queueDb, statements);
  const outcomes = new OutcomeStore(queueDb, statements);
  const sql = queueDb.sql;
  const results: ClaimResult[] = [];
  try {
    for (const c of cases) {
      const setupStart = now();
      await pool.query(`TRUNCATE ${schema}.jobs, ${schema}.serial_queues CASCADE`);
      if (c.finished > 0) {
        // A few failed for good among them, and several types: what the listing's status and type filters pick from.
        await pool.query(
          `INSERT INTO ${schema}.jobs (type, payload, status, attempts, max_attempts, started_at, finished_at, progress, result, last_error)
           SELECT ($1::text[])[1 + g % cardinality($1::text[])], jsonb_build_object('i', g), f.status, CASE f.status WHEN 'failed' THEN 3 ELSE 1 END, 3,
                  now(), now(), CASE f.status WHEN 'failed' THEN 0 ELSE 100 END,
                  CASE f.status WHEN 'failed' THEN NULL ELSE 'null'::jsonb END,
                  CASE f.status WHEN 'failed' THEN 'Error: the bench handler failed' END
             FROM generate_series(1, $2) g, LATERAL (SELECT CASE WHEN g % $3 = 0 THEN 'failed' ELSE 'completed' END AS status) f`,
          [FINISHED_TYPES, c.finished, FAILED_EVERY],
        );
      }
      await pool.query(`INSERT INTO ${schema}.jobs (type, payload) SELECT $1, jsonb_build_object('i', g) FROM generate_series(1, $2) g`, [
        JOB_TYPE,
        c.pending,
      ]);
      if (c.busyQueues) await fillBusyQueues(pool, schema, c.busyQueues);
      // What every worker's serial-queue keeper does on its timer: mark the jobs waiting behind a holder.
      if (c.busyQueues) while ((await pool.query(sql.blockJobsBehindHolders, [1000])).rowCount === 1000);
      await pool.query(`VACUUM (ANALYZE) ${schema}.jobs`);
      const setupSeconds = (now() - setupStart) / 1000;

      const claim = () =>
        store.claim({
          types: [JOB_TYPE],
          defaultMaxAttempts: [3],
          perType: [CLAIMS.batch],
          limit: CLAIMS.batch,
          workerId: 'bench-claims',
          leaseMs: 30_000,
        });
      for (let drained = 0; drained < (c.drainedFirst ?? 0); drained += CLAIMS.batch) {
        const rows = await claim();
        await outcomes.complete(rows.map((row) => ({ id: row.id, token: row.claim_token, result: 'null', stage: null })));
      }
      for (let i = 0; i < 8; i++) await claim(); // warm-up: the plan cache settles after 5 runs of a prepared statement
      const times: number[] = [];
      for (let i = 0; i < CLAIMS.count; i++) {
        const start = now();
        const { length } = await claim();
        times.push(now() - start);
        if (length !== CLAIMS.batch) throw new Error(`a claim returned ${length} jobs instead of ${CLAIMS.batch}`);
      }
      const size = await storage(url, schema);
      const result: ClaimResult = { ...c, ...size, medianMs: median(times), p95Ms: percentile(times, 95), setupSeconds };
      results.push(result);
      log(
        `  claim, ${c.label}: median ${result.medianMs.toFixed(2)} ms, p95 ${result.p95Ms.toFixed(2)} ms (setup ${setupSeconds.toFixed(1)} s)`,
      );
      if (c.withListing) result.listing = await measureListing(queueDb, statements, pool, schema, log);
    }
  } finally {
    await queueDb.close();
    await pool.end();
  }
  return results;
}

/** `count` serial queues, each held by a running job with 2 pending jobs waiting behind it. */
async function fillBusyQueues(pool: ReturnType<typeof benchPool>, schema: string, count: number): Promise<void> {
  await pool.query(
    `WITH holders AS (
       INSERT INTO ${schema}.jobs (type, payload, status, attempts, max_attempts, started_at, queue, claim_token, locked_by, lease_expires_at)
       SELECT $1, '{}', 'running', 1, 3, now(), 'busy:' || g, gen_random_uuid(), 'elsewhere', now() + interval '1 hour'
         FROM generate_series(1, $2) g
       RETURNING id, queue)
     INSERT INTO ${schema}.serial_queues (name, held_by) SELECT queue, id FROM holders`,
    [JOB_TYPE, count],
  );
  await pool.query(
    `INSERT INTO ${schema}.jobs (type, payload, queue) SELECT $1, '{}', 'busy:' || g FROM generate_series(1, $2) g, generate_series(1, 2)`,
    [JOB_TYPE, count],
  );
}
