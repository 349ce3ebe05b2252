import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, Recorder, useQueueApps, type QueueApp } from '../support/queue-app';

/** Ids of the jobs handlers started, in this test (each test has its own schema, where ids start at 1). */
let started = new Recorder<string>();

@Injectable()
class RaceHandlers {
  @JobHandler('race.work')
  async work(_: unknown, ctx: JobContext) {
    started.push(ctx.job.id);
    // A few milliseconds of work, so that bulk actions meet jobs in every state.
    await new Promise((resolve) => setTimeout(resolve, 1 + (Number(ctx.job.id) % 4)));
    return { ok: true };
  }
}

const JOBS = 600;

/** Two worker apps running jobs, and a third, producer-only, app that acts on them in bulk meanwhile. */
describe('bulk actions racing two running workers', () => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let producer: QueueApp;
  let jobs: string;

  beforeEach(async () => {
    started = new Recorder<string>();
    db = await createTestDatabase();
    apps.defer(() => db.close());
    jobs = `${quoteIdent(db.schema)}.jobs`;
    producer = await apps.start(db, { worker: { enabled: false } });
    const worker = { ...FAST_WORKER, concurrency: 4 };
    await apps.start(db, { providers: [RaceHandlers], worker });
    await apps.start(db, { providers: [RaceHandlers], worker });
  });

  const enqueueAll = () => producer.queue.enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ type: 'race.work', payload: { i } })));
  const settled = () =>
    waitFor(async () => (await producer.queue.countJobs({ type: 'race.work', status: ['pending', 'running'] })) === 0, {
      timeoutMs: 30_000,
    });

  it('cancelMany: each job ends completed or cancelled, never half of each, and the count is exact', async () => {
    await enqueueAll();
    await waitFor(() => started.events.length >= 50);
    const cancelled = await producer.queue.cancelMany({ type: 'race.work' });
    await settled();
    expect(cancelled).toBeGreaterThan(0);
    expect(await producer.queue.countJobs({ type: 'race.work', status: 'cancelled' })).toBe(cancelled);
    expect(await producer.queue.countJobs({ type: 'race.work', status: 'completed' })).toBe(JOBS - cancelled);
    // A completion that lost the race to a cancellation wrote nothing: no result, no lease on a cancelled job.
    const [mixed] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${jobs}
        WHERE (status = 'cancelled' AND (result IS NOT NULL OR claim_token IS NOT NULL OR lease_expires_at IS NOT NULL))
           OR (status = 'completed' AND result IS DISTINCT FROM '{"ok": true}'::jsonb)`,
    );
    expect(mixed.n).toBe(0);
  });

  it('removeMany: never deletes a job that runs; every job that started is still there, completed', async () => {
    const enqueued = await enqueueAll();
    await waitFor(() => started.events.length >= 50);
    const removed = await producer.queue.removeMany({ type: 'race.work', status: 'pending' });
    await settled();
    const left = await db.query<{ id: string; status: string }>(`SELECT id::text AS id, status FROM ${jobs} WHERE type = 'race.work'`);
    expect(removed + left.length).toBe(JOBS);
    const ids = new Set(enqueued.map((job) => job.id));
    const startedHere = started.events.filter((id) => ids.has(id));
    const leftById = new Map(left.map((row) => [row.id, row.status]));
    expect(startedHere.filter((id) => leftById.get(id) !== 'completed')).toEqual([]);
    expect(left.every((row) => row.status === 'completed')).toBe(true);
  });
});
