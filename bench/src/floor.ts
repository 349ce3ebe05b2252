import { now } from './measure';
import { SIZES } from './suite';
import { benchPool } from './db';

export const FLOOR = { claimBatch: 32, claimConnections: 4 };

export interface FloorResult {
  single_insert: number;
  multi_row_insert: number;
  claim_delete: number;
}

/**
 * What PostgreSQL itself does here with no queue code: a bare table, single-row and multi-row INSERTs, and a
 * batch claim-and-delete with FOR UPDATE SKIP LOCKED from several connections. Rows per second.
 */
export async function rawSqlFloor(url: string): Promise<FloorResult> {
  const pool = benchPool(url, FLOOR.claimConnections);
  try {
    await pool.query(`CREATE TABLE floor_jobs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, run_at timestamptz NOT NULL DEFAULT now())`);
    const payload = (i: number) => JSON.stringify({ i });

    let start = now();
    for (let i = 0; i < SIZES.single; i++) await pool.query('INSERT INTO floor_jobs (payload) VALUES ($1)', [payload(i)]);
    const single_insert = SIZES.single / ((now() - start) / 1000);

    const batch = SIZES.bulkBatch;
    const values = Array.from({ length: batch }, (_, k) => `($${k + 1})`).join(', ');
    start = now();
    for (let offset = 0; offset < SIZES.bulk; offset += batch) {
      await pool.query(
        `INSERT INTO floor_jobs (payload) VALUES ${values}`,
        Array.from({ length: batch }, (_, k) => payload(offset + k)),
      );
    }
    const multi_row_insert = SIZES.bulk / ((now() - start) / 1000);

    const total = Number((await pool.query('SELECT count(*) FROM floor_jobs')).rows[0].count);
    let deleted = 0;
    start = now();
    await Promise.all(
      Array.from({ length: FLOOR.claimConnections }, async () => {
        for (;;) {
          const { rowCount } = await pool.query(
            `WITH c AS (SELECT id FROM floor_jobs ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
             DELETE FROM floor_jobs j USING c WHERE j.id = c.id RETURNING j.id, j.payload`,
            [FLOOR.claimBatch],
          );
          if (!rowCount) return;
          deleted += rowCount;
        }
      }),
    );
    const claim_delete = deleted / ((now() - start) / 1000);
    if (deleted !== total) throw new Error(`claim-and-delete removed ${deleted} of ${total} rows`);
    return { single_insert, multi_row_insert, claim_delete };
  } finally {
    await pool.end();
  }
}
