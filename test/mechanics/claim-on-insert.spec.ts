import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { JobHandler, type JobContext } from '../../lib';
import { countingPool } from '../support/counting-pool';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRow } from '../support/jobs';
import { gate, useQueueApps } from '../support/queue-app';

const started = new Map<string, number>();
let hold = gate<void>();

@Injectable()
class HandoffHandlers {
  @JobHandler('handoff.work', { maxAttempts: 7 })
  async work(payload: { hold?: boolean }, ctx: JobContext) {
    started.set(ctx.job.id, Date.now());
    if (payload.hold) await hold.opened;
  }

  @JobHandler('handoff.single', { concurrency: 1 })
  async single(payload: { hold?: boolean }, ctx: JobContext) {
    started.set(ctx.job.id, Date.now());
    if (payload.hold) await hold.opened;
  }
}

/** A fragment of the claim statement's text. */
const CLAIM = 'WITH unqueued AS';

/** A worker that polls rarely, so whatever claims happen are the ones under test. */
const QUIET_WORKER = { concurrency: 2, pollIntervalMs: 60_000 };

describe('an enqueue claimed by its own insert (an idle worker of the same application)', () => {
  let db: TestDatabase;

  // A held handler would hold up its app's shutdown: the gate opens before the apps close.
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  beforeEach(async () => {
    started.clear();
    hold = gate<void>();
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const row = (id: string) => jobRow(db, ['status', 'attempts', 'locked_by', 'max_attempts'], id);

  it('inserts the job running, leased to this worker, and starts it with no claim statement', async () => {
    const counting = countingPool(db.url);
    apps.defer(() => counting.pool.end());
    const app = await apps.start(db, {
      providers: [HandoffHandlers],
      module: { pool: counting.pool, connectionString: undefined },
      worker: QUIET_WORKER,
    });
    // The worker's first claim, at start, has been sent and has returned (no query in flight on the pool).
    await waitFor(() => counting.count(CLAIM) > 0 && counting.pool.idleCount === counting.pool.totalCount);
    const before = counting.statements.length;
    const job = await app.queue.enqueue('handoff.work', { hold: true });
    expect(job).toMatchObject({ status: 'running', attempts: 1, maxAttempts: 7 });
    await waitFor(() => started.has(job.id));
    const claimsSince = counting.statements.slice(before).filter((s) => s.text.includes(CLAIM));
    expect(claimsSince).toEqual([]);
    expect((await row(job.id)).locked_by).toMatch(new RegExp(`:${process.pid}:`));
    hold.open();
    await waitFor(async () => (await row(job.id)).status === 'completed');
  });

  it('leaves the job pending when its type is paused, a slot is not free, or it is delayed, keyed, queued or transactional', async () => {
    const app = await apps.start(db, { providers: [HandoffHandlers], worker: QUIET_WORKER });
    await app.queue.pause('handoff.work');
    const paused = await app.queue.enqueue('handoff.work', {});
    expect(paused.status).toBe('pending');
    await app.queue.resume('handoff.work');
    await waitFor(async () => (await row(paused.id)).status === 'completed');

    const busy = await app.queue.enqueue('handoff.single', { hold: true });
    expect(busy.status).toBe('running');
    expect((await app.queue.enqueue('handoff.single', {})).status).toBe('pending'); // its type's only slot is taken

    hold.open();
    await waitFor(async () => (await row(busy.id)).status === 'completed');
    await db.query(`DELETE FROM ${db.schema}.jobs WHERE status = 'pending'`); // the second handoff.single job
    // Each alone, with a slot free and nothing waiting; the due ones then run through the usual claim.
    const delayed = await app.queue.enqueue('handoff.work', {}, { delayMs: 60_000 });
    expect(delayed.status).toBe('pending');
    await db.query(`DELETE FROM ${db.schema}.jobs WHERE id = $1`, [delayed.id]);
    for (const options of [{ jobKey: 'k' }, { queue: 'serial' }]) {
      const job = await app.queue.enqueue('handoff.work', {}, options);
      expect(job.status).toBe('pending');
      await waitFor(async () => (await row(job.id)).status === 'completed');
    }
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      const transactional = await app.queue.enqueue('handoff.work', {}, { client });
      await client.query('COMMIT');
      expect(transactional.status).toBe('pending');
      await waitFor(async () => (await row(transactional.id)).status === 'completed');
    } finally {
      await client.end();
    }
  });

  it('leaves the job pending while a due job of its worker waits, so the claim keeps priority order', async () => {
    const app = await apps.start(db, { providers: [HandoffHandlers], worker: QUIET_WORKER });
    const busy = await app.queue.enqueue('handoff.single', { hold: true });
    const waiting = await app.queue.enqueue('handoff.single', {}, { priority: 500 });
    expect([busy.status, waiting.status]).toEqual(['running', 'pending']);
    // One slot is free, but a job of the worker's types is due: the new job queues behind it.
    const next = await app.queue.enqueue('handoff.work', {}, { priority: 1 });
    expect(next.status).toBe('pending');
    hold.open();
    await waitFor(async () => (await row(next.id)).status === 'completed' && (await row(waiting.id)).status === 'completed');
  });

  it('never claims in the insert without a running worker of its own (producer-only)', async () => {
    await apps.start(db, { providers: [HandoffHandlers], worker: QUIET_WORKER });
    const producer = await apps.start(db, { worker: { enabled: false } });
    const job = await producer.queue.enqueue('handoff.work', {});
    expect(job.status).toBe('pending');
    await waitFor(async () => (await row(job.id)).status === 'completed'); // the other app's worker, woken by NOTIFY
  });

  it('hands back a job claimed by an insert that returns while the worker stops: none is left running', async () => {
    const app = await apps.start(db, { providers: [HandoffHandlers], worker: { ...QUIET_WORKER, concurrency: 8 } });
    const enqueues = Array.from({ length: 40 }, () => app.queue.enqueue('handoff.work', {}).catch(() => null));
    const closing = app.close();
    await Promise.all(enqueues);
    await closing;
    const left = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM ${db.schema}.jobs GROUP BY status ORDER BY status`,
    );
    expect(left.filter((r) => r.status === 'running')).toEqual([]);
    expect(left.reduce((sum, r) => sum + r.n, 0)).toBe((await Promise.all(enqueues)).filter(Boolean).length);
  });
});
