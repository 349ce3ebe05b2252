import { Injectable } from '@nestjs/common';
import { JobCancelledError, JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const seen = new Recorder<{ id: string; event: 'started' | 'aborted'; reason?: unknown }>();

@Injectable()
class SlowHandlers {
  @JobHandler('slow')
  async slow(_: unknown, ctx: JobContext) {
    seen.push({ id: ctx.job.id, event: 'started' });
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    seen.push({ id: ctx.job.id, event: 'aborted', reason: ctx.signal.reason });
    return 'finished after abort';
  }
}

describe('cancel', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [SlowHandlers] });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('cancels a pending job, which then never runs', async () => {
    const job = await app.queue.enqueue('slow', {}, { delayMs: 200 });
    const cancelled = await app.queue.cancel(job.id);
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled' });
    expect(cancelled?.finishedAt).toBeInstanceOf(Date);
    const marker = await app.queue.enqueue('slow', {}, { delayMs: 400 });
    await waitFor(() => seen.events.some((e) => e.id === marker.id));
    expect(seen.events.some((e) => e.id === job.id)).toBe(false);
    await app.queue.cancel(marker.id);
  });

  it('cancels a running job: its signal aborts and a late completion does not overwrite the cancellation', async () => {
    const job = await app.queue.enqueue('slow', {});
    await waitFor(() => seen.events.some((e) => e.id === job.id && e.event === 'started'));
    expect(await app.queue.cancel(job.id)).toMatchObject({ status: 'cancelled' });
    await waitFor(() => seen.events.some((e) => e.id === job.id && e.event === 'aborted'));
    const aborted = seen.events.find((e) => e.id === job.id && e.event === 'aborted');
    expect(aborted?.reason).toBeInstanceOf(JobCancelledError);
    // The slot is freed: a new job starts, and the cancelled one stays cancelled.
    const next = await app.queue.enqueue('slow', {});
    await waitFor(() => seen.events.some((e) => e.id === next.id));
    expect(await app.queue.getJob(job.id)).toMatchObject({ status: 'cancelled', result: null });
    await app.queue.cancel(next.id);
  });

  it('returns a finished job unchanged, and null for an unknown id', async () => {
    const job = await app.queue.enqueue('slow', {}, { delayMs: 100_000 });
    await app.queue.cancel(job.id);
    expect(await app.queue.cancel(job.id)).toMatchObject({ status: 'cancelled' });
    expect(await app.queue.cancel('123456789012')).toBeNull();
  });
});
