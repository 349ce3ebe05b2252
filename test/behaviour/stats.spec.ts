import { Injectable } from '@nestjs/common';
import { InvalidJobQueryError, JobHandler, UnrecoverableJobError } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, startQueueApp, type QueueApp } from '../support/queue-app';

@Injectable()
class StatsHandlers {
  @JobHandler('stats.work')
  work(payload: { fail?: boolean }) {
    if (payload.fail) throw new UnrecoverableJobError('no');
  }
}

describe('stats()', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [StatsHandlers], worker: FAST_WORKER });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('counts jobs per type and status, and reports lag and the last minute', async () => {
    const done = await app.queue.enqueueMany([
      { type: 'stats.work', payload: {} },
      { type: 'stats.work', payload: {} },
      { type: 'stats.work', payload: { fail: true } },
    ]);
    await waitFor(async () => (await app.queue.countJobs({ type: 'stats.work', status: ['pending', 'running'] })) === 0);
    // Nobody handles stats.waiting: one job due for ten minutes, one due in an hour (not lag: it is not due).
    await app.queue.enqueue('stats.waiting', {}, { runAt: new Date(Date.now() - 600_000) });
    await app.queue.enqueue('stats.waiting', {}, { delayMs: 3_600_000 });
    await app.queue.enqueue('stats.waiting', {}, { delayMs: 3_600_000 }).then((job) => app.queue.cancel(job.id));
    await app.queue.pause('stats.idle');
    // A completion from two minutes ago is history, not the last minute.
    await db.query(`UPDATE ${quoteIdent(db.schema)}.jobs SET finished_at = now() - interval '2 minutes' WHERE id = $1`, [done[0].id]);

    const stats = await app.queue.stats();
    expect(stats.map((s) => s.type)).toEqual(['stats.idle', 'stats.waiting', 'stats.work']);
    expect(stats[0]).toEqual({ type: 'stats.idle', paused: true, counts: {}, lagMs: null, completedLastMinute: 0, failedLastMinute: 0 });
    expect(stats[1]).toMatchObject({ paused: false, counts: { pending: 2, cancelled: 1 }, completedLastMinute: 0, failedLastMinute: 0 });
    expect(stats[1].lagMs).toBeGreaterThanOrEqual(595_000);
    expect(stats[1].lagMs).toBeLessThan(700_000);
    expect(stats[2]).toEqual({
      type: 'stats.work',
      paused: false,
      counts: { completed: 2, failed: 1 },
      lagMs: null,
      completedLastMinute: 1,
      failedLastMinute: 1,
    });
  });

  it('lets PostgreSQL cancel the count after timeoutMs', async () => {
    const jobs = `${quoteIdent(db.schema)}.jobs`;
    await db.query(
      `INSERT INTO ${jobs} (type, payload, status, finished_at) SELECT 'stats.bulk', '{}', 'completed', now() FROM generate_series(1, 300000)`,
    );
    try {
      await expect(app.queue.stats({ timeoutMs: 1 })).rejects.toMatchObject({ code: '57014' });
      await expect(app.queue.stats({ timeoutMs: 60_000 })).resolves.toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'stats.bulk' })]),
      );
      await expect(app.queue.stats({ timeoutMs: -5 })).rejects.toThrow(InvalidJobQueryError);
    } finally {
      await db.query(`DELETE FROM ${jobs} WHERE type = 'stats.bulk'`);
    }
  });
});
