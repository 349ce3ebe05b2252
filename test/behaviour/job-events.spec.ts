import { Injectable, Scope } from '@nestjs/common';
import { Client } from 'pg';
import type { Subscription } from 'rxjs';
import { InvalidJobQueryError, JobHandler, OnJobEvent, PgQueueConfigError, type JobContext, type JobEvent } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { LogCapture } from '../support/log-capture';
import { FAST_WORKER, gate, Recorder, useQueueApps, type QueueApp } from '../support/queue-app';

const heard = new Recorder<JobEvent>();
const heardOfWork = new Recorder<JobEvent>();
const heardInRequestScope = new Recorder<JobEvent>();
let hold = gate();
const snoozed = new Set<string>();

@Injectable()
class EventHandlers {
  @JobHandler('ev.work')
  async work(payload: { n: number }, ctx: JobContext) {
    await ctx.progress(50, 'halfway');
    return { doubled: payload.n * 2 };
  }

  @JobHandler('ev.flaky', { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 1, jitter: false } })
  flaky() {
    throw new Error('always fails');
  }

  /** Snoozes once (a snooze gives the attempt back, so the attempt number cannot tell). */
  @JobHandler('ev.sleepy')
  sleepy(_: unknown, ctx: JobContext) {
    if (snoozed.has(ctx.job.id)) return;
    snoozed.add(ctx.job.id);
    ctx.snooze(10);
  }

  @JobHandler('ev.hold')
  async held() {
    await hold.opened;
  }
}

@Injectable()
class Listeners {
  @OnJobEvent(['started', 'progress', 'completed', 'retrying', 'failed', 'cancelled', 'snoozed', 'rescued'])
  all(event: JobEvent) {
    heard.push(event);
  }

  @OnJobEvent('completed', { type: 'ev.work' })
  onlyWork(event: JobEvent) {
    heardOfWork.push(event);
  }

  @OnJobEvent('completed')
  throws() {
    throw new Error('listener broke');
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedListener {
  @OnJobEvent('completed')
  completed(event: JobEvent) {
    heardInRequestScope.push(event);
  }
}

const sequenceOf = (id: string) => heard.events.filter((event) => event.job.id === id).map((event) => event.event);

describe('job events', () => {
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    hold = gate();
  });

  describe('@OnJobEvent, for the jobs this process runs', () => {
    let app: QueueApp;
    let logs: LogCapture;

    beforeEach(async () => {
      logs = new LogCapture();
      apps.defer(() => logs.restore());
      app = await apps.start(db, { providers: [EventHandlers, Listeners, RequestScopedListener], worker: FAST_WORKER, logger: logs });
    });

    it('tells a listener each step of a job, with the result, the progress and the error', async () => {
      const done = await app.queue.enqueue('ev.work', { n: 21 });
      const failing = await app.queue.enqueue('ev.flaky', {});
      await waitFor(() => sequenceOf(done.id).includes('completed') && sequenceOf(failing.id).includes('failed'));
      expect(sequenceOf(done.id)).toEqual(['started', 'progress', 'completed']);
      const [started, progress, completed] = heard.events.filter((event) => event.job.id === done.id);
      expect(started).toMatchObject({ job: { id: done.id, type: 'ev.work', attempt: 1, maxAttempts: 3 } });
      expect(started.at).toBeInstanceOf(Date);
      expect(progress).toMatchObject({ progress: 50, stage: 'halfway' });
      expect(completed).toMatchObject({ result: { doubled: 42 } });

      // The next attempt's claim runs on another connection and can be read back before the reply to the failure that
      // made it claimable, so 'started' of attempt 2 may come before 'retrying' of attempt 1: each attempt keeps its order.
      const byAttempt = heard.events.filter((event) => event.job.id === failing.id).sort((a, b) => a.job.attempt - b.job.attempt);
      expect(byAttempt.map((event) => `${event.job.attempt}:${event.event}`)).toEqual(['1:started', '1:retrying', '2:started', '2:failed']);
      const [, retrying, , failed] = byAttempt;
      expect(retrying).toMatchObject({ job: { attempt: 1 }, delayMs: 1 });
      expect(retrying.error).toContain('always fails');
      expect(retrying.cause).toBeInstanceOf(Error);
      expect(failed).toMatchObject({ job: { attempt: 2 } });
      expect(failed.error).toContain('always fails');
    });

    it('tells of snoozes and cancellations', async () => {
      const sleepy = await app.queue.enqueue('ev.sleepy', {});
      const held = await app.queue.enqueue('ev.hold', {});
      await waitFor(() => sequenceOf(held.id).includes('started'));
      await app.queue.cancel(held.id);
      await waitFor(() => sequenceOf(held.id).includes('cancelled') && sequenceOf(sleepy.id).includes('completed'));
      expect(sequenceOf(sleepy.id)).toEqual(['started', 'snoozed', 'started', 'completed']);
      expect(heard.events.find((event) => event.job.id === sleepy.id && event.event === 'snoozed')).toMatchObject({ delayMs: 10 });
      expect(sequenceOf(held.id)).toEqual(['started', 'cancelled']);
    });

    it('filters by type, calls request-scoped listeners, and logs a listener that throws, changing nothing', async () => {
      const work = await app.queue.enqueue('ev.work', { n: 1 });
      const sleepy = await app.queue.enqueue('ev.sleepy', {});
      await waitFor(() => heardInRequestScope.events.some((event) => event.job.id === sleepy.id));
      await waitFor(() => heardInRequestScope.events.some((event) => event.job.id === work.id));
      expect(heardOfWork.events.map((event) => event.job.id)).toContain(work.id);
      expect(heardOfWork.events.every((event) => event.job.type === 'ev.work')).toBe(true);
      expect(await app.queue.getJob(work.id)).toMatchObject({ status: 'completed', result: { doubled: 2 } });
      await waitFor(() => logs.matching(`Listeners#throws threw on completed of job #${work.id}`, 'error').length === 1);
    });
  });

  it('refuses an @OnJobEvent of an event that does not exist, at bootstrap', async () => {
    @Injectable()
    class Misspelt {
      @OnJobEvent('complete' as never)
      never() {}
    }
    await expect(apps.start(db, { providers: [EventHandlers, Misspelt] })).rejects.toThrow(PgQueueConfigError);
    await expect(apps.start(db, { providers: [EventHandlers, Misspelt] })).rejects.toThrow(/"complete"; expected one of started, progress/);
  });

  describe('QueueService.events(), from every process', () => {
    it('sends nothing while nobody subscribes, then the events of another process, with their details', async () => {
      // A bare LISTEN on the channel, without subscribing: what the workers would send anyway.
      const spy = new Client({ connectionString: db.url });
      await spy.connect();
      apps.defer(() => spy.end());
      const sent: string[] = [];
      spy.on('notification', (message) => sent.push(message.payload ?? ''));
      await spy.query(`LISTEN "${db.schema}:job-events"`);

      const worker = await apps.start(db, { providers: [EventHandlers], worker: FAST_WORKER });
      const producer = await apps.start(db, { worker: { enabled: false } });
      const quiet = await producer.queue.enqueue('ev.work', { n: 0 });
      await waitFor(async () => (await worker.queue.getJob(quiet.id))?.status === 'completed');

      const received = new Recorder<JobEvent>();
      const subscription: Subscription = producer.queue
        .events({ type: ['ev.work', 'ev.flaky'] })
        .subscribe((event) => received.push(event));
      apps.defer(() => subscription.unsubscribe());
      // The workers hear of the subscriber within moments: enqueue until its events arrive.
      await waitFor(async () => {
        if (received.events.length > 0) return true;
        await producer.queue.enqueue('ev.work', { n: 1 });
        return false;
      });
      const sentIds = sent.flatMap((payload) => (JSON.parse(payload) as Array<[string, string]>).map(([, id]) => id));
      expect(sentIds).not.toContain(quiet.id);
      expect(sentIds.length).toBeGreaterThan(0);

      const done = await producer.queue.enqueue('ev.work', { n: 5 });
      const failing = await producer.queue.enqueue('ev.flaky', {});
      const of = (id: string) => received.events.filter((event) => event.job.id === id);
      await waitFor(() => of(done.id).some((e) => e.event === 'completed') && of(failing.id).some((e) => e.event === 'failed'));
      expect(of(done.id).map((event) => event.event)).toEqual(['started', 'progress', 'completed']);
      expect(of(done.id)[1]).toMatchObject({ progress: 50, stage: 'halfway' });
      expect(of(done.id)[2]).toMatchObject({ job: { type: 'ev.work', attempt: 1 }, result: { doubled: 10 } });
      expect(of(failing.id).map((event) => event.event)).toEqual(['started', 'retrying', 'started', 'failed']);
      expect(of(failing.id)[3].error).toContain('always fails');
      expect(of(failing.id)[3]).not.toHaveProperty('cause');
      // No user data travels in the notifications themselves.
      expect(sent.some((payload) => payload.includes('halfway') || payload.includes('doubled') || payload.includes('always fails'))).toBe(
        false,
      );
    });

    it('keeps streaming after its LISTEN connection is cut', async () => {
      const worker = await apps.start(db, { providers: [EventHandlers], worker: FAST_WORKER });
      const received = new Recorder<JobEvent>();
      const subscription = worker.queue.events({ event: 'completed' }).subscribe((event) => received.push(event));
      apps.defer(() => subscription.unsubscribe());
      const completedAfter = async (count: number) =>
        waitFor(async () => {
          if (received.events.length > count) return true;
          await worker.queue.enqueue('ev.work', { n: 2 });
          return false;
        });
      await completedAfter(0);
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1`, [`LISTEN "${db.schema}:%`]);
      const before = received.events.length;
      await completedAfter(before);
      expect(received.events.every((event) => event.event === 'completed')).toBe(true);
    });

    it('refuses a bad filter with a typed error', async () => {
      const producer = await apps.start(db, { worker: { enabled: false } });
      expect(() => producer.queue.events({ event: 'done' as never })).toThrow(InvalidJobQueryError);
      expect(() => producer.queue.events({ type: '' })).toThrow(/Invalid job type/);
      expect(() => producer.queue.events({ kind: 'x' } as never)).toThrow(/Unknown option kind/);
    });
  });
});
