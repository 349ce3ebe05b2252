import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../lib';
import { ClaimStore } from '../lib/db/stores/claim-store';
import { createTestDatabase, waitFor, type TestDatabase } from './support/database';
import { gate, startQueueApp } from './support/queue-app';

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

describe('when a worker claims again', () => {
  let db: TestDatabase;
  let claims: jest.SpyInstance;

  beforeEach(async () => {
    runs.length = 0;
    hold = gate<void>();
    db = await createTestDatabase();
    claims = jest.spyOn(ClaimStore.prototype, 'claim');
  });
  afterEach(async () => {
    claims.mockRestore();
    hold.open();
    await db?.close();
  });

  const statuses = async () =>
    (await db.query<{ status: string }>(`SELECT status FROM ${db.schema}.jobs ORDER BY id`)).map((row) => row.status);

  it('an idle worker does not claim after each job: new jobs notify it', async () => {
    const app = await startQueueApp(db, { providers: [RefillHandlers], worker: NO_POLL });
    try {
      await waitFor(() => claims.mock.calls.length > 0, { message: 'the claim at start' });
      await claims.mock.results[0].value; // an enqueue during a claim in flight would go the claim's way instead
      const before = claims.mock.calls.length;
      for (let i = 0; i < 5; i++) {
        const job = await app.queue.enqueue('refill.noop', { i });
        await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
      }
      // Each job was claimed by its own insert, and nothing else was due: no claim was needed.
      expect(claims.mock.calls.length - before).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('claims the jobs it left behind as slots free, without waiting for the poll', async () => {
    const producer = await startQueueApp(db, { worker: { enabled: false } });
    await producer.queue.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ type: 'refill.held', payload: { i } })));
    await producer.close();
    const app = await startQueueApp(db, { providers: [RefillHandlers], worker: { ...NO_POLL, prefetch: 0 } });
    try {
      await waitFor(() => runs.length === 1);
      hold.open();
      await waitFor(async () => (await statuses()).every((s) => s === 'completed'), { message: 'all four ran, one at a time' });
      expect(runs).toHaveLength(4);
    } finally {
      await app.close();
    }
  });

  it('claims a retry due at once, and a snooze of 0, without waiting for the poll', async () => {
    const app = await startQueueApp(db, { providers: [RefillHandlers], worker: NO_POLL });
    try {
      await app.queue.enqueue('refill.flaky', {});
      await app.queue.enqueue('refill.snoozer', {});
      await waitFor(async () => (await statuses()).every((s) => s === 'completed'), { message: 'both ran again and completed' });
      expect(runs.filter((r) => r.type === 'refill.flaky').map((r) => r.attempt)).toEqual([1, 2]);
      expect(runs.filter((r) => r.type === 'refill.snoozer')).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});
