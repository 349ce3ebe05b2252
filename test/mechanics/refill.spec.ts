import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { countingPool } from '../support/counting-pool';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRows } from '../support/jobs';
import { gate, useQueueApps } from '../support/queue-app';

const runs: Array<{ type: string; attempt: number }> = [];
let hold = gate<void>();

@Injectable()
class RefillHandlers {
  @JobHandler('refill.noop')
  async noop(_payload: unknown, ctx: JobContext) {
    runs.push({ type: ctx.job.type, attempt: ctx.job.attempt });
  }

  @JobHandler('refill.held', { concurrency: 1 })
  async held(_payload: unknown, ctx: JobContext) {
    runs.push({ type: ctx.job.type, attempt: ctx.job.attempt });
    await hold.opened;
  }

  @JobHandler('refill.flaky', { backoff: { baseMs: 0 } })
  async flaky(_payload: unknown, ctx: JobContext) {
    runs.push({ type: ctx.job.type, attempt: ctx.job.attempt });
    if (ctx.job.attempt === 1) throw new Error('first attempt fails');
  }

  @JobHandler('refill.snoozer')
  async snoozer(_payload: unknown, ctx: JobContext) {
    runs.push({ type: ctx.job.type, attempt: ctx.job.attempt });
    if (runs.filter((r) => r.type === 'refill.snoozer').length === 1) ctx.snooze(0);
  }
}

// A poll floor of a minute: whatever is claimed within seconds was claimed because of a notification, a finished job
// or a retry, never by the poll.
const NO_POLL = { pollIntervalMs: 60_000 };

/** A fragment of the claim statement's text. */
const CLAIM = 'WITH unqueued AS';

describe('when a worker claims again', () => {
  let db: TestDatabase;

  // A held handler would hold up its app's shutdown: the gate opens before the apps close.
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  beforeEach(async () => {
    runs.length = 0;
    hold = gate<void>();
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const statuses = async () => (await jobRows(db, ['status'])).map((row) => row.status);

  it('an idle worker does not claim after each job: new jobs notify it', async () => {
    // The worker's pool counts the claim statements it sends.
    const counting = countingPool(db.url);
    apps.defer(() => counting.pool.end());
    const app = await apps.start(db, {
      providers: [RefillHandlers],
      module: { pool: counting.pool, connectionString: undefined },
      worker: NO_POLL,
    });
    // The claim at start has been sent and has returned (no query in flight on the pool): an enqueue during a claim in
    // flight would go the claim's way instead.
    await waitFor(() => counting.count(CLAIM) > 0 && counting.pool.idleCount === counting.pool.totalCount, {
      message: 'the claim at start',
    });
    const before = counting.count(CLAIM);
    for (let i = 0; i < 5; i++) {
      const job = await app.queue.enqueue('refill.noop', { i });
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
    }
    // Each job was claimed by its own insert, and nothing else was due: no claim was needed.
    expect(counting.count(CLAIM) - before).toBe(0);
  });

  it('claims the jobs it left behind as slots free, without waiting for the poll', async () => {
    const producer = await apps.start(db, { worker: { enabled: false } });
    await producer.queue.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ type: 'refill.held', payload: { i } })));
    await producer.close();
    await apps.start(db, { providers: [RefillHandlers], worker: { ...NO_POLL, prefetch: 0 } });
    await waitFor(() => runs.length === 1);
    hold.open();
    await waitFor(async () => (await statuses()).every((s) => s === 'completed'), { message: 'all four ran, one at a time' });
    expect(runs).toHaveLength(4);
  });

  it('claims a retry due at once, and a snooze of 0, without waiting for the poll', async () => {
    const app = await apps.start(db, { providers: [RefillHandlers], worker: NO_POLL });
    await app.queue.enqueue('refill.flaky', {});
    await app.queue.enqueue('refill.snoozer', {});
    await waitFor(async () => (await statuses()).every((s) => s === 'completed'), { message: 'both ran again and completed' });
    expect(runs.filter((r) => r.type === 'refill.flaky').map((r) => r.attempt)).toEqual([1, 2]);
    expect(runs.filter((r) => r.type === 'refill.snoozer')).toHaveLength(2);
  });
});
