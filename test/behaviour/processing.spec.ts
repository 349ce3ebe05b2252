import { Injectable } from '@nestjs/common';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { JobHandler, type JobContext, type JobSnapshot } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { statusOf } from '../support/jobs';
import { gate, Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const started = new Recorder<{ type: string; id: string; payload: unknown; attempt: number }>();
const release = { report: gate() };

@Injectable()
class ReportHandlers {
  @JobHandler('report.generate')
  async generate(payload: { reportId: string }, ctx: JobContext) {
    started.push({ type: 'report.generate', id: ctx.job.id, payload, attempt: ctx.job.attempt });
    await ctx.progress(10, 'loading rows');
    await ctx.progress(60, 'rendering');
    await release.report.opened;
    await ctx.progress(90);
    return { url: `https://reports.example/${payload.reportId}` };
  }

  @JobHandler('order.step', { concurrency: 1 })
  async step(payload: { n: number }, ctx: JobContext) {
    started.push({ type: 'order.step', id: ctx.job.id, payload, attempt: ctx.job.attempt });
  }

  @JobHandler('flaky', { maxAttempts: 3, backoff: { baseMs: 10, maxMs: 20 } })
  async flaky(payload: { failTimes: number }, ctx: JobContext) {
    started.push({ type: 'flaky', id: ctx.job.id, payload, attempt: ctx.job.attempt });
    if (ctx.job.attempt <= payload.failTimes) throw new Error(`boom on attempt ${ctx.job.attempt}`);
    return { attempt: ctx.job.attempt };
  }

  @JobHandler('throws.anything', { maxAttempts: 1 })
  async throwsAnything(payload: { kind: string }) {
    // Handlers may throw anything; the queue must record it all the same.
    /* eslint-disable @typescript-eslint/only-throw-error */
    if (payload.kind === 'string') throw 'plain string\u0000with NUL';
    if (payload.kind === 'undefined') throw undefined;
    const circular: Record<string, unknown> = { name: 'circular' };
    circular.self = circular;
    throw circular;
    /* eslint-enable @typescript-eslint/only-throw-error */
  }
}

describe('processing jobs', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [ReportHandlers], worker: { concurrency: 1 } });
  });
  afterAll(async () => {
    release.report.open();
    await app?.close();
    await db?.close();
  });

  const job = (id: string) => app.queue.getJob(id) as Promise<JobSnapshot>;
  const status = (id: string) => statusOf(app.queue, id);

  it('runs a job, stores its progress while running and its result when done, visible through getJob and watch', async () => {
    const enqueued = await app.queue.enqueue('report.generate', { reportId: 'r-1' });
    // This app's own worker has a free slot and nothing else waits: the enqueue claims the job as it inserts it.
    expect(enqueued).toMatchObject({ type: 'report.generate', status: 'running', priority: 100, progress: 0, attempts: 1 });
    expect(typeof enqueued.id).toBe('string');

    const updates: JobSnapshot[] = [];
    const done = lastValueFrom(app.queue.watch(enqueued.id).pipe(toArray()));
    app.queue.watch(enqueued.id).subscribe((snapshot) => updates.push(snapshot));

    await waitFor(() => updates.some((s) => s.status === 'running' && s.progress === 60), {
      message: 'watch shows progress 60 while the handler runs',
    });
    const running = await job(enqueued.id);
    expect(running).toMatchObject({ status: 'running', stage: 'rendering', attempts: 1, maxAttempts: 3 });
    expect(running.startedAt).toBeInstanceOf(Date);

    release.report.open();
    const snapshots = await done;
    const final = snapshots.at(-1)!;
    expect(final).toMatchObject({ status: 'completed', progress: 100, stage: 'rendering', result: { url: 'https://reports.example/r-1' } });
    expect(final.finishedAt).toBeInstanceOf(Date);
    expect(snapshots.map((s) => s.progress)).toContain(60);
    expect(updates.at(-1)?.status).toBe('completed');
  });

  it('runs higher priority first, then earlier run_at, then lower id', async () => {
    const hold = gate();
    release.report = hold;
    const blocker = await app.queue.enqueue('report.generate', { reportId: 'blocker' });
    await waitFor(async () => (await status(blocker.id)) === 'running');
    const low = await app.queue.enqueue('order.step', { n: 1 }, { priority: 10 });
    const high = await app.queue.enqueue('order.step', { n: 2 }, { priority: 500 });
    const mid1 = await app.queue.enqueue('order.step', { n: 3 });
    const mid2 = await app.queue.enqueue('order.step', { n: 4 });
    const negative = await app.queue.enqueue('order.step', { n: 5 }, { priority: -5 });
    started.events.length = 0;
    hold.open();
    await waitFor(async () => (await status(negative.id)) === 'completed');
    expect(started.events.filter((e) => e.type === 'order.step').map((e) => e.id)).toEqual([
      high.id,
      mid1.id,
      mid2.id,
      low.id,
      negative.id,
    ]);
  });

  it('retries with backoff, then completes', async () => {
    const { id } = await app.queue.enqueue('flaky', { failTimes: 2 });
    await waitFor(async () => (await status(id)) === 'completed');
    const done = await job(id);
    expect(done).toMatchObject({ attempts: 3, result: { attempt: 3 } });
    expect(done.lastError).toContain('boom on attempt 2');
  });

  it('fails for good after maxAttempts, keeping the last error', async () => {
    const { id } = await app.queue.enqueue('flaky', { failTimes: 99 });
    await waitFor(async () => (await status(id)) === 'failed');
    const failed = await job(id);
    expect(failed).toMatchObject({ attempts: 3, maxAttempts: 3, result: null });
    expect(failed.lastError).toContain('boom on attempt 3');
    expect(started.events.filter((e) => e.id === id).map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('lets an enqueue-time maxAttempts override the handler', async () => {
    const { id } = await app.queue.enqueue('flaky', { failTimes: 99 }, { maxAttempts: 1 });
    await waitFor(async () => (await status(id)) === 'failed');
    expect(await job(id)).toMatchObject({ attempts: 1, maxAttempts: 1 });
  });

  it.each([
    ['string', 'plain string\\0with NUL'],
    ['undefined', 'undefined was thrown'],
    ['circular', 'Non-error thrown: [object Object]'],
  ])('records a thrown %s safely and keeps working', async (kind, expected) => {
    const { id } = await app.queue.enqueue('throws.anything', { kind });
    await waitFor(async () => (await status(id)) === 'failed');
    expect((await job(id)).lastError).toBe(expected);
  });

  it('leaves jobs of a type no process handles pending and visible', async () => {
    const orphan = await app.queue.enqueue('nobody.handles.this', { x: 1 });
    const marker = await app.queue.enqueue('order.step', { n: 99 }, { priority: -100 });
    await waitFor(async () => (await status(marker.id)) === 'completed');
    expect(await job(orphan.id)).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
  });

  it('enqueues many jobs in one call, returning them in order', async () => {
    const jobs = await app.queue.enqueueMany([
      { type: 'order.step', payload: { n: 1 } },
      { type: 'order.step', payload: { n: 2 }, priority: 7 },
    ]);
    expect(jobs.map((j) => [j.payload, j.priority])).toEqual([
      [{ n: 1 }, 100],
      [{ n: 2 }, 7],
    ]);
    expect(BigInt(jobs[1].id)).toBeGreaterThan(BigInt(jobs[0].id));
    await waitFor(async () => (await status(jobs[1].id)) === 'completed');
    expect(await app.queue.enqueueMany([])).toEqual([]);
  });

  it('delays jobs by runAt and delayMs, on the database clock', async () => {
    const [{ now }] = await db.query<{ now: Date }>('SELECT now() AS now');
    const delayed = await app.queue.enqueue('order.step', { n: 1 }, { delayMs: 60_000 });
    const scheduled = await app.queue.enqueue('order.step', { n: 2 }, { runAt: new Date(Date.now() + 3_600_000) });
    expect(delayed.runAt.getTime() - now.getTime()).toBeGreaterThanOrEqual(59_000);
    const soon = await app.queue.enqueue('order.step', { n: 3 }, { delayMs: 300 });
    await waitFor(async () => (await status(soon.id)) === 'completed');
    expect(await status(delayed.id)).toBe('pending');
    expect(await status(scheduled.id)).toBe('pending');
  });

  it('returns null for unknown jobs and watch errors for them', async () => {
    expect(await app.queue.getJob('999999999999')).toBeNull();
    await expect(firstValueFrom(app.queue.watch('999999999999'))).rejects.toThrow('does not exist');
  });
});
