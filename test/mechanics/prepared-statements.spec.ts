import { Pool } from 'pg';
import { QueueDatabase } from '../../lib/db/queue-database';
import { countingPool, type CountingPool } from '../support/counting-pool';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { useQueueApps, type QueueApp, type QueueApps } from '../support/queue-app';

/** One connection, so the session that prepared the statements is the one asked about them. */
async function appOnOneConnection(
  apps: QueueApps,
  db: TestDatabase,
  preparedStatements?: boolean,
): Promise<{ app: QueueApp; counting: CountingPool }> {
  const counting = countingPool(db.url, { max: 1 });
  apps.defer(() => counting.pool.end());
  const app = await apps.start(db, {
    module: { pool: counting.pool, connectionString: undefined, preparedStatements },
    worker: { enabled: false },
  });
  return { app, counting };
}

const enqueueEveryWay = async (app: QueueApp) => {
  await app.queue.enqueue('prepared.job', { n: 1 });
  await app.queue.enqueue('prepared.job', { n: 2 }, { jobKey: 'k' });
  await app.queue.enqueueMany([{ type: 'prepared.job', payload: { n: 3 } }]);
};

const preparedNames = async (counting: CountingPool) =>
  (await counting.pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);

describe('prepared statements', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
    other = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
    await other?.close();
  });
  afterEach(async () => {
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it('runs enqueues as named prepared statements by default', async () => {
    const { app, counting } = await appOnOneConnection(apps, db);
    await enqueueEveryWay(app);
    const inserts = counting.statements.filter((s) => s.text.includes(`INSERT INTO "${db.schema}".jobs`));
    expect(inserts.length).toBeGreaterThanOrEqual(3);
    expect(inserts.every((s) => s.name?.startsWith('pgqueue_'))).toBe(true);
    expect((await preparedNames(counting)).length).toBeGreaterThan(0);
  });

  it('prepares nothing with preparedStatements: false (PgBouncer in transaction mode)', async () => {
    const { app, counting } = await appOnOneConnection(apps, db, false);
    await enqueueEveryWay(app);
    expect(counting.statements.every((s) => s.name === undefined)).toBe(true);
    expect(await preparedNames(counting)).toEqual([]);
  });

  it('gives the statements of two schemas sharing one pool names of their own', async () => {
    const counting = countingPool(db.url, { max: 1 });
    apps.defer(() => counting.pool.end());
    const sharing = await Promise.all(
      [db, other].map((d) =>
        apps.start(d, { module: { pool: counting.pool, connectionString: undefined, schema: d.schema }, worker: { enabled: false } }),
      ),
    );
    for (const app of sharing) await enqueueEveryWay(app);
    const counts = await Promise.all([db, other].map((d) => countJobs(d)));
    expect(counts).toEqual([3, 3]);
  });

  it("plans each statement once and never JIT-compiles on the module's own connections, leaving an application's pool as it is", async () => {
    const settings = async (pool: Pool) =>
      (await pool.query<{ plan: string; jit: string }>("SELECT current_setting('plan_cache_mode') AS plan, current_setting('jit') AS jit"))
        .rows[0];
    const own = await apps.start(db, { worker: { enabled: false } });
    const { app, counting } = await appOnOneConnection(apps, db);
    const plain = new Pool({ connectionString: db.url, max: 1 });
    apps.defer(() => plain.end());
    const queueDb = own.module.get(QueueDatabase);
    expect(await settings(queueDb.pool)).toEqual({ plan: 'force_generic_plan', jit: 'off' });
    expect(await settings(queueDb.control)).toEqual({ plan: 'force_generic_plan', jit: 'off' });
    // The application's pool, used by the module, keeps the server's defaults.
    await enqueueEveryWay(app);
    expect(await settings(counting.pool)).toEqual(await settings(plain));
    expect((await settings(plain)).plan).toBe('auto');
  });
});
