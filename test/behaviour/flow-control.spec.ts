import { Inject, Injectable } from '@nestjs/common';
import { InvalidJobKeyError, JobHandler, JobSnoozedSignal, UnrecoverableJobError, type JobContext, type JobSnapshot } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { statusOf } from '../support/jobs';
import { gate, startQueueApp, type QueueApp } from '../support/queue-app';

const APP = 'APP';
const runs: Array<{
  id: string;
  type: string;
  queue: string | null;
  app: string;
  start: number;
  end: number;
  attempt: number;
  payload: unknown;
}> = [];
let holdKeyed = gate();
const caughtSnoozes: Array<{ id: string; isSnooze: boolean }> = [];

@Injectable()
class FlowHandlers {
  constructor(@Inject(APP) private readonly app: string) {}

  private async record(payload: unknown, ctx: JobContext, work: () => Promise<void>) {
    const start = performance.now();
    await work();
    runs.push({
      id: ctx.job.id,
      type: ctx.job.type,
      queue: ctx.job.queue,
      app: this.app,
      start,
      end: performance.now(),
      attempt: ctx.job.attempt,
      payload,
    });
  }

  @JobHandler('serial.step', { concurrency: 16 })
  async serialStep(payload: { failFirst?: boolean }, ctx: JobContext) {
    await this.record(payload, ctx, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (payload.failFirst && ctx.job.attempt === 1) throw new Error('first attempt fails');
    });
  }

  @JobHandler('keyed', { concurrency: 16 })
  async keyed(payload: { hold?: boolean }, ctx: JobContext) {
    await this.record(payload, ctx, async () => {
      if (payload.hold) await holdKeyed.opened;
    });
  }

  @JobHandler('sleepy')
  async sleepy(payload: { snoozes: number }, ctx: JobContext) {
    const seen = runs.filter((r) => r.id === ctx.job.id).length;
    await this.record(payload, ctx, async () => undefined);
    if (seen < payload.snoozes) ctx.snooze(50);
    return { runs: seen + 1 };
  }

  @JobHandler('snooze.caught', { maxAttempts: 1 })
  async snoozeCaught(_: unknown, ctx: JobContext) {
    if (caughtSnoozes.some((c) => c.id === ctx.job.id)) return 'second run';
    try {
      ctx.snooze(10);
    } catch (error) {
      // A handler with its own try/catch tells a snooze from a failure, and rethrows it.
      caughtSnoozes.push({ id: ctx.job.id, isSnooze: error instanceof JobSnoozedSignal });
      throw error;
    }
  }

  @JobHandler('bad.snooze', { maxAttempts: 1 })
  async badSnooze(_: unknown, ctx: JobContext) {
    ctx.snooze(-5);
  }

  @JobHandler('hopeless', { maxAttempts: 5 })
  async hopeless() {
    throw new UnrecoverableJobError('the invoice does not exist');
  }
}

describe('flow control', () => {
  let db: TestDatabase;
  let apps: QueueApp[];

  beforeAll(async () => {
    db = await createTestDatabase();
    apps = await Promise.all(
      ['a', 'b'].map((name) =>
        startQueueApp(db, { providers: [FlowHandlers, { provide: APP, useValue: name }], worker: { concurrency: 16, pollIntervalMs: 50 } }),
      ),
    );
  });
  afterAll(async () => {
    holdKeyed.open();
    await Promise.all(apps.map((app) => app.close()));
    await db?.close();
  });

  const job = (id: string) => apps[0].queue.getJob(id);
  const status = (id: string) => statusOf(apps[0].queue, id);
  const unfinishedWithKey = async (key: string) =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${db.schema}.jobs WHERE job_key = $1 AND status IN ('pending', 'running')`,
        [key],
      )
    )[0].n;

  describe('job keys', () => {
    it('dedupe: concurrent enqueues of one key from two apps all get the same job', async () => {
      const enqueues = Array.from({ length: 40 }, (_, i) =>
        apps[i % 2].queue.enqueue('keyed', { i }, { jobKey: 'sync:user:1', delayMs: 60_000 }),
      );
      const jobs = await Promise.all(enqueues);
      expect(new Set(jobs.map((j) => j.id)).size).toBe(1);
      expect(jobs.every((j) => j.jobKey === 'sync:user:1')).toBe(true);
      expect(await unfinishedWithKey('sync:user:1')).toBe(1);
      await apps[0].queue.cancel(jobs[0].id);
      // Once the job has ended, the key is free again.
      const again = await apps[0].queue.enqueue('keyed', {}, { jobKey: 'sync:user:1', delayMs: 60_000 });
      expect(again.id).not.toBe(jobs[0].id);
      await apps[0].queue.cancel(again.id);
    });

    it('dedupe also returns a running job holding the key', async () => {
      holdKeyed = gate();
      const first = await apps[0].queue.enqueue('keyed', { hold: true }, { jobKey: 'report:7' });
      await waitFor(async () => (await status(first.id)) === 'running');
      const second = await apps[1].queue.enqueue('keyed', { hold: false }, { jobKey: 'report:7' });
      expect(second).toMatchObject({ id: first.id, status: 'running' });
      holdKeyed.open();
      await waitFor(async () => (await status(first.id)) === 'completed');
    });

    it('replace: rewrites a pending job; a running one keeps running and a new one is queued', async () => {
      const pending = await apps[0].queue.enqueue('keyed', { v: 1 }, { jobKey: 'cfg', delayMs: 60_000 });
      const replaced = await apps[1].queue.enqueue(
        'keyed',
        { v: 2 },
        { jobKey: 'cfg', jobKeyMode: 'replace', delayMs: 120_000, priority: 7 },
      );
      expect(replaced).toMatchObject({ id: pending.id, payload: { v: 2 }, priority: 7, status: 'pending' });
      expect(replaced.runAt.getTime() - pending.runAt.getTime()).toBeGreaterThan(50_000);

      holdKeyed = gate();
      await apps[0].queue.enqueue('keyed', { hold: true }, { jobKey: 'cfg', jobKeyMode: 'replace', delayMs: 0 });
      await waitFor(async () => (await status(pending.id)) === 'running');
      const next = await apps[0].queue.enqueue('keyed', { v: 3 }, { jobKey: 'cfg', jobKeyMode: 'replace', delayMs: 60_000 });
      expect(next.id).not.toBe(pending.id);
      expect(await job(pending.id)).toMatchObject({ status: 'running', jobKey: null });
      expect(await unfinishedWithKey('cfg')).toBe(1);
      holdKeyed.open();
      await waitFor(async () => (await status(pending.id)) === 'completed');
      await apps[0].queue.cancel(next.id);
    });

    it('replace racing with claims from two apps never returns nothing and never leaves two unfinished jobs with one key', async () => {
      holdKeyed = gate();
      holdKeyed.open();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          apps[i % 2].queue.enqueue('keyed', { i }, { jobKey: 'hot', jobKeyMode: i % 3 ? 'replace' : 'dedupe' }),
        ),
      );
      expect(results.every((r) => r && r.id)).toBe(true);
      expect(await unfinishedWithKey('hot')).toBeLessThanOrEqual(1);
      await waitFor(async () => (await unfinishedWithKey('hot')) === 0);
    });

    it('throttle recipe (dedupe + delayMs): a burst gives one job, run once with the first payload', async () => {
      const burst: JobSnapshot[] = [];
      for (let i = 0; i < 5; i++) burst.push(await apps[i % 2].queue.enqueue('keyed', { n: i }, { jobKey: 'throttle', delayMs: 300 }));
      expect(new Set(burst.map((j) => j.id)).size).toBe(1);
      await waitFor(async () => (await status(burst[0].id)) === 'completed');
      expect(runs.filter((r) => r.id === burst[0].id).map((r) => r.payload)).toEqual([{ n: 0 }]);
    });

    it('debounce recipe (replace + delayMs): a burst gives one job with the last payload, run after the burst', async () => {
      const burst: JobSnapshot[] = [];
      for (let i = 0; i < 5; i++)
        burst.push(await apps[i % 2].queue.enqueue('keyed', { n: i }, { jobKey: 'debounce', jobKeyMode: 'replace', delayMs: 300 }));
      expect(new Set(burst.map((j) => j.id)).size).toBe(1);
      expect(burst[4].runAt.getTime()).toBeGreaterThan(burst[0].runAt.getTime());
      await waitFor(async () => (await status(burst[0].id)) === 'completed');
      expect(runs.filter((r) => r.id === burst[0].id).map((r) => r.payload)).toEqual([{ n: 4 }]);
    });

    it('rejects bad keys with a typed error', async () => {
      const { queue } = apps[0];
      await expect(queue.enqueue('keyed', {}, { jobKey: 'k'.repeat(513) })).rejects.toBeInstanceOf(InvalidJobKeyError);
      await expect(queue.enqueue('keyed', {}, { jobKey: '' })).rejects.toBeInstanceOf(InvalidJobKeyError);
      await expect(queue.enqueue('keyed', {}, { jobKeyMode: 'replace' })).rejects.toBeInstanceOf(InvalidJobKeyError);
      await expect(queue.enqueue('keyed', {}, { jobKey: 'x', jobKeyMode: 'upsert' as 'replace' })).rejects.toBeInstanceOf(
        InvalidJobKeyError,
      );
      await expect(
        queue.enqueueMany([
          { type: 'keyed', payload: {}, jobKey: 'dup' },
          { type: 'keyed', payload: {}, jobKey: 'dup' },
        ]),
      ).rejects.toBeInstanceOf(InvalidJobKeyError);
      await expect(queue.enqueue('keyed', {}, { queue: 'q'.repeat(129) })).rejects.toBeInstanceOf(InvalidJobKeyError);
      // PostgreSQL would store both as U+FFFD: two different keys would become one.
      await expect(queue.enqueue('keyed', {}, { jobKey: 'k\ud800' })).rejects.toBeInstanceOf(InvalidJobKeyError);
      await expect(queue.enqueue('keyed', {}, { queue: '\udc00q' })).rejects.toBeInstanceOf(InvalidJobKeyError);
      expect((await queue.enqueue('keyed', {}, { jobKey: 'k😀', delayMs: 60_000 })).jobKey).toBe('k😀');
    });
  });

  describe('serial queues', () => {
    it('never overlaps two jobs of one queue, across two apps at concurrency 16, and keeps their order', async () => {
      const names = ['account:1', 'account:2', 'account:3', 'account:4'];
      const jobs = await apps[0].queue.enqueueMany(
        Array.from({ length: 60 }, (_, i) => ({ type: 'serial.step', payload: { i }, queue: names[i % names.length] })),
      );
      const free = await apps[0].queue.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ type: 'serial.step', payload: { free: i } })));
      const ids = new Set([...jobs, ...free].map((j) => j.id));
      await waitFor(() => runs.filter((r) => ids.has(r.id)).length === 80, { timeoutMs: 20_000, message: 'all 80 ran' });
      for (const name of names) {
        const inQueue = runs.filter((r) => ids.has(r.id) && r.queue === name).sort((a, b) => a.start - b.start);
        expect(inQueue).toHaveLength(15);
        inQueue.slice(1).forEach((run, i) => expect(run.start).toBeGreaterThanOrEqual(inQueue[i].end));
        expect(inQueue.map((r) => BigInt(r.id))).toEqual([...inQueue.map((r) => BigInt(r.id))].sort((a, b) => (a < b ? -1 : 1)));
      }
      // Jobs outside serial queues still ran side by side.
      const freeRuns = runs.filter((r) => ids.has(r.id) && r.queue === null);
      const overlapping = freeRuns.some((a) => freeRuns.some((b) => a !== b && a.start < b.end && b.start < a.end));
      expect(overlapping).toBe(true);
    });

    it('keeps its queue for a job waiting to be retried: the jobs behind it wait', async () => {
      const [failing, behind] = await apps[0].queue.enqueueMany([
        { type: 'serial.step', payload: { failFirst: true }, queue: 'ordered' },
        { type: 'serial.step', payload: {}, queue: 'ordered' },
      ]);
      await waitFor(async () => (await status(behind.id)) === 'completed', { timeoutMs: 15_000 });
      const failingDone = runs.find((r) => r.id === failing.id && r.attempt === 2);
      const behindRun = runs.find((r) => r.id === behind.id);
      expect(failingDone).toBeDefined();
      expect(behindRun!.start).toBeGreaterThanOrEqual(failingDone!.end);
    });
  });

  describe('pause and resume', () => {
    it('stops every process from claiming a paused type; running jobs finish; resume lets it run again', async () => {
      const { queue } = apps[0];
      holdKeyed = gate();
      const running = await queue.enqueue('keyed', { hold: true });
      await waitFor(async () => (await status(running.id)) === 'running');
      await queue.pause('keyed');
      expect(await apps[1].queue.isPaused('keyed')).toBe(true);
      const waiting = await queue.enqueue('keyed', {});
      holdKeyed.open();
      await waitFor(async () => (await status(running.id)) === 'completed');
      // A job of another type enqueued later runs first: the paused one was passed over, not slow.
      const marker = await queue.enqueue('serial.step', {});
      await waitFor(async () => (await status(marker.id)) === 'completed');
      expect(await status(waiting.id)).toBe('pending');
      expect((await queue.stats()).find((s) => s.type === 'keyed')).toMatchObject({ paused: true });
      await queue.resume('keyed');
      expect(await queue.isPaused('keyed')).toBe(false);
      await waitFor(async () => (await status(waiting.id)) === 'completed');
    });
  });

  describe('from inside a handler', () => {
    it('ctx.snooze runs the job again later without using up an attempt', async () => {
      const snoozy = await apps[0].queue.enqueue('sleepy', { snoozes: 2 }, { maxAttempts: 1 });
      await waitFor(async () => (await status(snoozy.id)) === 'completed');
      expect(await job(snoozy.id)).toMatchObject({ attempts: 1, result: { runs: 3 } });
    });

    it('a handler that catches errors can tell a snooze (JobSnoozedSignal) from a failure', async () => {
      const caught = await apps[0].queue.enqueue('snooze.caught', {});
      await waitFor(async () => (await status(caught.id)) === 'completed');
      expect(caughtSnoozes).toEqual([{ id: caught.id, isSnooze: true }]);
      expect(await job(caught.id)).toMatchObject({ attempts: 1, result: 'second run' });
    });

    it('an invalid snooze fails the attempt with a typed error', async () => {
      const bad = await apps[0].queue.enqueue('bad.snooze', {});
      await waitFor(async () => (await status(bad.id)) === 'failed');
      expect((await job(bad.id))?.lastError).toContain('InvalidJobError: Invalid snooze -5');
    });

    it('UnrecoverableJobError fails the job at once, whatever attempts remain', async () => {
      const doomed = await apps[0].queue.enqueue('hopeless', {});
      await waitFor(async () => (await status(doomed.id)) === 'failed');
      expect(await job(doomed.id)).toMatchObject({ attempts: 1, maxAttempts: 5 });
      expect((await job(doomed.id))?.lastError).toContain('UnrecoverableJobError: the invoice does not exist');
    });
  });
});
