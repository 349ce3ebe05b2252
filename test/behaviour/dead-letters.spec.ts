import { Injectable } from '@nestjs/common';
import { JobHandler, PgQueueConfigError, type DeadLetterPayload, type JobContext } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const sunk = new Recorder<DeadLetterPayload<{ n: number }>>();

@Injectable()
class DeadLetterHandlers {
  @JobHandler('dl.flaky', { maxAttempts: 2, deadLetter: 'dl.sink', backoff: { baseMs: 1, maxMs: 1, jitter: false } })
  flaky(payload: { n: number; succeedOnAttempt?: number }, ctx: JobContext) {
    if (ctx.job.attempt !== payload.succeedOnAttempt) throw new Error(`attempt ${ctx.job.attempt} of ${payload.n} failed`);
  }

  /** Never settles by itself: its lease is taken from it in the test. */
  @JobHandler('dl.stuck', { maxAttempts: 1, deadLetter: 'dl.sink' })
  async stuck(_: unknown, ctx: JobContext) {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
  }

  @JobHandler('dl.sink')
  sink(payload: DeadLetterPayload<{ n: number }>) {
    sunk.push(payload);
  }
}

describe('dead letters (handler option deadLetter)', () => {
  let db: TestDatabase;
  let app: QueueApp;
  let jobs: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [DeadLetterHandlers], worker: FAST_WORKER });
    jobs = `${quoteIdent(db.schema)}.jobs`;
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const sinkJobsFor = (id: string) =>
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${jobs} WHERE type = 'dl.sink' AND payload #>> '{failedJob,id}' = $1`, [id]);

  it('enqueues one dead-letter job naming the job that failed for good, and none for a job that recovers', async () => {
    const failing = await app.queue.enqueue('dl.flaky', { n: 1 });
    const recovering = await app.queue.enqueue('dl.flaky', { n: 2, succeedOnAttempt: 2 });
    await waitFor(() => sunk.events.some((payload) => payload.failedJob.id === failing.id));
    await waitFor(async () => (await app.queue.getJob(recovering.id))?.status === 'completed');
    expect(await app.queue.getJob(failing.id)).toMatchObject({ status: 'failed', attempts: 2 });
    expect(sunk.events.filter((payload) => payload.failedJob.id === failing.id)).toEqual([
      {
        failedJob: {
          id: failing.id,
          type: 'dl.flaky',
          payload: { n: 1 },
          lastError: expect.stringContaining('attempt 2 of 1 failed') as string,
          attempts: 2,
        },
      },
    ]);
    expect(await sinkJobsFor(failing.id)).toEqual([{ n: 1 }]);
    expect(await sinkJobsFor(recovering.id)).toEqual([{ n: 0 }]);
  });

  it('also when the job fails for good by losing its lease, in whichever process rescues it', async () => {
    const job = await app.queue.enqueue('dl.stuck', {});
    await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'running');
    // Another claim's token and a lease already past: the worker lost it, and the rescuer ends it (its last attempt).
    await db.query(`UPDATE ${jobs} SET claim_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second' WHERE id = $1`, [
      job.id,
    ]);
    await waitFor(() => sunk.events.some((payload) => payload.failedJob.id === job.id));
    expect(await app.queue.getJob(job.id)).toMatchObject({ status: 'failed' });
    expect(await sinkJobsFor(job.id)).toEqual([{ n: 1 }]);
  });

  it('refuses a dead-letter type that is invalid, the handler’s own, or in a circle, at bootstrap', async () => {
    @Injectable()
    class IntoItself {
      @JobHandler('dl.loop', { deadLetter: 'dl.loop' })
      loop() {}
    }
    @Injectable()
    class Invalid {
      @JobHandler('dl.bad', { deadLetter: 'not a type' })
      bad() {}
    }
    await expect(startQueueApp(db, { providers: [IntoItself] })).rejects.toThrow(PgQueueConfigError);
    await expect(startQueueApp(db, { providers: [IntoItself] })).rejects.toThrow(/deadLetter: "dl.loop"; expected another job type/);
    await expect(startQueueApp(db, { providers: [Invalid] })).rejects.toThrow(/Invalid job type "not a type"/);
    @Injectable()
    class Circle {
      @JobHandler('dl.a', { deadLetter: 'dl.b' })
      a() {}

      @JobHandler('dl.b', { deadLetter: 'dl.a' })
      b() {}
    }
    await expect(startQueueApp(db, { providers: [Circle] })).rejects.toThrow(/go round in a circle \(dl\.a -> dl\.b -> dl\.a\)/);
  });
});
