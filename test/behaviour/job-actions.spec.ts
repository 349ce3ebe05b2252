import { Injectable } from '@nestjs/common';
import {
  InvalidJobIdError,
  InvalidJobOptionError,
  InvalidJobQueryError,
  JobHandler,
  JobStateError,
  UnrecoverableJobError,
  type JobContext,
} from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, gate, Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const runs = new Recorder<{ id: string; attempt: number; payload: { fail?: boolean } }>();
/** Jobs of type `actions.hold` wait on this gate; each test opens a new one. */
let hold = gate();

@Injectable()
class ActionHandlers {
  /** Fails while its payload says so (payloads can be changed between attempts in these tests). */
  @JobHandler('actions.flaky', { maxAttempts: 2, backoff: { baseMs: 10, maxMs: 10, jitter: false } })
  flaky(payload: { fail?: boolean }, ctx: JobContext) {
    runs.push({ id: ctx.job.id, attempt: ctx.job.attempt, payload });
    if (payload.fail) throw new UnrecoverableJobError('told to fail');
    return 'done';
  }

  @JobHandler('actions.hold')
  async held(_: unknown, ctx: JobContext) {
    runs.push({ id: ctx.job.id, attempt: ctx.job.attempt, payload: {} });
    await hold.opened;
  }
}

describe('retry, promote, remove and the bulk actions', () => {
  let db: TestDatabase;
  let app: QueueApp;
  let jobs: string;

  const ranAttempts = (id: string) => runs.events.filter((run) => run.id === id).map((run) => run.attempt);
  const failedJob = async (payload: object = { fail: true }, options = {}) => {
    const job = await app.queue.enqueue('actions.flaky', payload, options);
    await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'failed');
    return job;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [ActionHandlers], worker: FAST_WORKER });
    jobs = `${quoteIdent(db.schema)}.jobs`;
  });
  beforeEach(() => {
    hold = gate();
  });
  afterEach(() => hold.open());
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  describe('retry', () => {
    it('runs a failed job again with a fresh attempt budget, keeping its id and last error until it ends', async () => {
      const job = await failedJob();
      const failed = await app.queue.getJob(job.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
      expect(failed?.lastError).toContain('told to fail');
      await db.query(`UPDATE ${jobs} SET payload = '{}' WHERE id = $1`, [job.id]); // the cause is fixed
      const retried = await app.queue.retry(job.id, { delayMs: 300 }); // not claimed before it is read back
      expect(retried).toMatchObject({ id: job.id, status: 'pending', attempts: 0, finishedAt: null, lastError: failed?.lastError });
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
      expect(await app.queue.getJob(job.id)).toMatchObject({ attempts: 1, result: 'done' });
      expect(ranAttempts(job.id)).toEqual([1, 1]);
    });

    it('runs a cancelled job again, later when asked, with the attempts it is given', async () => {
      const job = await app.queue.enqueue('actions.flaky', {}, { delayMs: 60_000 });
      await app.queue.cancel(job.id);
      const retried = await app.queue.retry(job.id, { delayMs: 300, maxAttempts: 7 });
      expect(retried).toMatchObject({ status: 'pending', maxAttempts: 7 });
      expect(retried!.runAt.getTime()).toBeGreaterThan(job.runAt.getTime() - 60_000);
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
    });

    it('runs a job cancelled while it ran again in the worker that was told of the cancellation', async () => {
      const job = await app.queue.enqueue('actions.hold', {});
      await waitFor(() => ranAttempts(job.id).length === 1);
      await app.queue.cancel(job.id);
      hold.open();
      await app.queue.retry(job.id);
      await waitFor(() => ranAttempts(job.id).length === 2);
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
    });

    it('refuses a job in another state with JobStateError, changing nothing; null for no such job', async () => {
      const pending = await app.queue.enqueue('actions.flaky', {}, { delayMs: 60_000 });
      await expect(app.queue.retry(pending.id)).rejects.toThrow(JobStateError);
      await expect(app.queue.retry(pending.id)).rejects.toThrow(
        `Cannot retry job ${pending.id}: it is pending, and retry applies to failed or cancelled jobs`,
      );
      const error = await app.queue.retry(pending.id).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ jobId: pending.id, status: 'pending' });
      expect(await app.queue.getJob(pending.id)).toEqual(pending);
      await app.queue.cancel(pending.id);
      expect(await app.queue.retry('999999999')).toBeNull();
      await expect(app.queue.retry('x')).rejects.toThrow(InvalidJobIdError);
      await expect(app.queue.retry(pending.id, { delayMs: -1 })).rejects.toThrow(InvalidJobOptionError);
      await expect(app.queue.retry(pending.id, { priority: 5 } as never)).rejects.toThrow(/Unknown option priority/);
      expect(await app.queue.getJob(pending.id)).toMatchObject({ status: 'cancelled' });
    });

    it('keeps job keys unique: a failed job whose key an unfinished job now holds is not retried', async () => {
      const failed = await failedJob({ fail: true }, { jobKey: 'retry-key' });
      const holder = await app.queue.enqueue('actions.flaky', {}, { jobKey: 'retry-key', delayMs: 60_000 });
      await expect(app.queue.retry(failed.id)).rejects.toThrow(/another unfinished job holds its job key/);
      expect(await app.queue.getJob(failed.id)).toMatchObject({ status: 'failed' });
      await app.queue.cancel(holder.id);
      // Of two finished jobs with one key, retryMany takes the newest.
      expect(await app.queue.retryMany({ jobKey: 'retry-key' })).toBe(1);
      // The retried holder is due at once: the worker may already run it.
      expect(['pending', 'running', 'completed']).toContain((await app.queue.getJob(holder.id))?.status);
      expect(await app.queue.getJob(failed.id)).toMatchObject({ status: 'failed' });
      await app.queue.cancel(holder.id);
    });
  });

  describe('promote', () => {
    it('makes a delayed job due now; a due one is returned as it is', async () => {
      const job = await app.queue.enqueue('actions.flaky', {}, { delayMs: 3_600_000 });
      const promoted = await app.queue.promote(job.id);
      expect(promoted!.runAt.getTime()).toBeLessThan(job.runAt.getTime() - 3_500_000);
      await waitFor(async () => (await app.queue.getJob(job.id))?.status === 'completed');
      const done = await app.queue.getJob(job.id);
      await expect(app.queue.promote(job.id)).rejects.toThrow(/it is completed, and promote applies to pending jobs/);
      expect(await app.queue.getJob(job.id)).toEqual(done);
      expect(await app.queue.promote('999999999')).toBeNull();
    });
  });

  describe('remove', () => {
    it('deletes a job that is not running, refuses a running one, and is false for no such job', async () => {
      const pending = await app.queue.enqueue('actions.flaky', {}, { delayMs: 60_000 });
      expect(await app.queue.remove(pending.id)).toBe(true);
      expect(await app.queue.getJob(pending.id)).toBeNull();
      expect(await app.queue.remove(pending.id)).toBe(false);

      const running = await app.queue.enqueue('actions.hold', {});
      await waitFor(() => ranAttempts(running.id).length === 1);
      await expect(app.queue.remove(running.id)).rejects.toThrow(
        /it is running, and remove applies to pending or completed or failed or cancelled jobs/,
      );
      hold.open();
      await waitFor(async () => (await app.queue.getJob(running.id))?.status === 'completed');
      expect(await app.queue.remove(running.id)).toBe(true);
    });

    it('frees the serial queue a removed job held, so the next job of the queue runs', async () => {
      // A failed attempt with a retry to come keeps the queue held while the job waits.
      const holder = await app.queue.enqueue('actions.hold', {}, { queue: 'removal' });
      await waitFor(() => ranAttempts(holder.id).length === 1);
      const next = await app.queue.enqueue('actions.flaky', {}, { queue: 'removal' });
      await db.query(
        `UPDATE ${jobs} SET status = 'pending', run_at = now() + interval '1 hour', claim_token = NULL,
                             lease_expires_at = NULL, locked_by = NULL WHERE id = $1`,
        [holder.id],
      );
      await expect(app.queue.remove(holder.id)).resolves.toBe(true);
      await waitFor(async () => (await app.queue.getJob(next.id))?.status === 'completed');
    });
  });

  describe('bulk actions', () => {
    it('retries, cancels and removes every matching job in batches, returning how many', async () => {
      // 1,200 failed jobs of one type: more than two batches.
      await db.query(
        `INSERT INTO ${jobs} (type, payload, status, attempts, max_attempts, finished_at, last_error)
         SELECT 'actions.bulk', '{}', 'failed', 1, 1, now(), 'boom' FROM generate_series(1, 1200)`,
      );
      await db.query(
        `INSERT INTO ${jobs} (type, payload, status, finished_at) SELECT 'actions.bulk', '{}', 'completed', now() FROM generate_series(1, 5)`,
      );
      expect(await app.queue.retryMany({ type: 'actions.bulk' })).toBe(1200);
      expect(await app.queue.countJobs({ type: 'actions.bulk', status: 'pending' })).toBe(1200);
      const [{ attempts }] = await db.query<{ attempts: string }>(
        `SELECT sum(attempts)::text AS attempts FROM ${jobs} WHERE type = 'actions.bulk'`,
      );
      expect(attempts).toBe('0');
      expect(await app.queue.cancelMany({ type: 'actions.bulk' })).toBe(1200);
      expect(await app.queue.countJobs({ type: 'actions.bulk', status: 'cancelled' })).toBe(1200);
      expect(await app.queue.removeMany({ type: 'actions.bulk', status: 'completed' })).toBe(5);
      expect(await app.queue.removeMany({ type: 'actions.bulk' })).toBe(1200);
      expect(await app.queue.countJobs({ type: 'actions.bulk' })).toBe(0);
    });

    it('leaves running jobs to cancelMany alone in removeMany', async () => {
      await app.queue.removeMany({ type: 'actions.hold', status: ['completed', 'failed', 'cancelled'] }); // earlier tests'
      const running = await app.queue.enqueue('actions.hold', {});
      const waiting = await app.queue.enqueue('actions.hold', {}, { delayMs: 60_000 });
      await waitFor(() => ranAttempts(running.id).length === 1);
      expect(await app.queue.removeMany({ type: 'actions.hold' })).toBe(1);
      expect(await app.queue.getJob(waiting.id)).toBeNull();
      expect(await app.queue.getJob(running.id)).toMatchObject({ status: 'running' });
      expect(await app.queue.cancelMany({ type: 'actions.hold' })).toBe(1);
      expect(await app.queue.getJob(running.id)).toMatchObject({ status: 'cancelled' });
    });

    it('refuses an empty filter, and a status the action does not apply to, before writing', async () => {
      const job = await app.queue.enqueue('actions.flaky', {}, { delayMs: 60_000 });
      await expect(app.queue.removeMany({})).rejects.toThrow(InvalidJobQueryError);
      await expect(app.queue.removeMany({})).rejects.toThrow(/removeMany needs a filter/);
      await expect(app.queue.cancelMany(undefined as never)).rejects.toThrow(/cancelMany needs a filter/);
      await expect(app.queue.retryMany({ status: 'pending' })).rejects.toThrow(/retryMany applies only to failed or cancelled jobs/);
      await expect(app.queue.removeMany({ status: 'running' })).rejects.toThrow(InvalidJobQueryError);
      await expect(app.queue.cancelMany({ status: 'pending', typ: 'actions.flaky' } as never)).rejects.toThrow(/did you mean type\?/);
      expect(await app.queue.getJob(job.id)).toMatchObject({ status: 'pending' });
      await app.queue.cancel(job.id);
    });
  });
});
