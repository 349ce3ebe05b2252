// The library's own prune statement and batch size, exactly as its workers run them (schema 'pgqueue', the default).
import { queueSql } from '../../dist/db/queue-sql';
import { PRUNE_BATCH_SIZE } from '../../dist/worker/pruner';
import { benchPool, storage, type Storage } from './db';
import { now } from './measure';

export interface PruneResult extends Storage {
  jobs: number;
  seconds: number;
}

/**
 * What happens once the retention of every finished job has passed: the pruner's statement (with retention 0),
 * batch after batch while batches come back full, as its loop runs it; then a VACUUM, which autovacuum would run
 * (this server runs with autovacuum off), and the size of the schema.
 */
export async function pruneEverything(url: string): Promise<PruneResult> {
  const schema = 'pgqueue';
  const sql = queueSql(`"${schema}"`);
  const pool = benchPool(url, 1);
  try {
    const start = now();
    let jobs = 0;
    let pruned: number;
    do {
      pruned = (await pool.query(sql.pruneFinishedJobs, [0, 0, 0, PRUNE_BATCH_SIZE])).rows[0].pruned;
      jobs += pruned;
    } while (pruned >= PRUNE_BATCH_SIZE);
    const seconds = (now() - start) / 1000;
    await pool.query(`VACUUM ${schema}.jobs`);
    return { jobs, seconds, ...(await storage(url, schema)) };
  } finally {
    await pool.end();
  }
}
