/**
 * The deadline of a statement covers the whole statement, the wait for a pooled connection included: a heartbeat
 * that waits behind busy or silent connections must still fail in time for the worker to judge its leases.
 */
import { Pool } from 'pg';
import { QueryTimeoutError } from '../../lib';
import { BoundedQueries } from '../../lib/db/bounded-query';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('statement deadlines', () => {
  let db: TestDatabase;
  let pool: Pool;
  const bounded = new BoundedQueries();
  const timeout = () => new QueryTimeoutError('timed out');

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  it('fails a statement still waiting for a connection at its deadline, and the late connection goes back to the pool', async () => {
    const held = await pool.connect(); // the pool's only connection
    try {
      await expect(bounded.query(pool, { text: 'SELECT 1' }, 300, timeout)).rejects.toBeInstanceOf(QueryTimeoutError);
    } finally {
      held.release();
    }
    // The statement that gave up did not keep the connection it was finally handed.
    expect((await bounded.query<{ n: number }>(pool, { text: 'SELECT 2 AS n' }, 5000, timeout)).rows).toEqual([{ n: 2 }]);
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(1);
  });

  it('ends the connection of a statement that runs past its deadline; the pool replaces it', async () => {
    await expect(bounded.query(pool, { text: 'SELECT pg_sleep(1)' }, 300, timeout)).rejects.toBeInstanceOf(QueryTimeoutError);
    expect((await bounded.query<{ n: number }>(pool, { text: 'SELECT 3 AS n' }, 5000, timeout)).rows).toEqual([{ n: 3 }]);
  });
});
