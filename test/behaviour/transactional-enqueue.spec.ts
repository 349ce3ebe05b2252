import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const ran = new Recorder<string>();

@Injectable()
class OutboxHandlers {
  @JobHandler('receipt.send')
  async send(_: unknown, ctx: JobContext) {
    ran.push(ctx.job.id);
  }
}

describe('transactional enqueue (outbox)', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A poll floor of a minute: a job that runs within seconds was woken by NOTIFY.
    app = await startQueueApp(db, { providers: [OutboxHandlers], worker: { pollIntervalMs: 60_000 } });
    await db.query(`CREATE TABLE ${db.schema}.orders (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('writes nothing when the caller rolls back', async () => {
    const client = await db.admin.connect();
    let jobId: string;
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${db.schema}.orders VALUES (1)`);
      jobId = (await app.queue.enqueue('receipt.send', { orderId: 1 }, { client })).id;
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await app.queue.getJob(jobId)).toBeNull();
    expect(await db.query(`SELECT * FROM ${db.schema}.jobs`)).toEqual([]);
  });

  it('makes the job exist, and wakes workers, only when the caller commits', async () => {
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${db.schema}.orders VALUES (2)`);
      const [job] = await app.queue.enqueueMany([{ type: 'receipt.send', payload: { orderId: 2 } }], { client });
      expect(await app.queue.getJob(job.id)).toBeNull(); // invisible outside the transaction
      await client.query('COMMIT');
      await waitFor(() => ran.events.includes(job.id), { timeoutMs: 5000, message: 'job woken by NOTIFY after commit' });
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
    } finally {
      client.release();
    }
  });

  it('runs enqueues started at once on one client one after another (pg deprecates overlapping queries on a client)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      const jobs = await Promise.all(
        [10, 11, 12, 13].map((orderId) =>
          app.queue.enqueue('receipt.send', { orderId }, { client, ...(orderId % 2 ? { queue: `order-${orderId}` } : {}) }),
        ),
      );
      await client.query('COMMIT');
      expect(await db.query(`SELECT id::text FROM ${db.schema}.jobs WHERE id = ANY($1::bigint[])`, [jobs.map((j) => j.id)])).toHaveLength(
        4,
      );
    } finally {
      client.release();
      process.off('warning', onWarning);
    }
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((message) => message.includes('already executing a query'))).toEqual([]);
  });
});
