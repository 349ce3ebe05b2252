/**
 * What the module tells a person: the boot summary and the work no handler here takes, every failed attempt with
 * its cause, the job's id on ctx.logger, and watch() streams that say they were ended by a shutdown.
 */
import { Injectable } from '@nestjs/common';
import { JobHandler, QueueShutdownError, type JobContext, type JobSnapshot } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { LogCapture } from '../support/log-capture';
import { gate, startQueueApp, withQueueApp, type QueueApp } from '../support/queue-app';

const holdWatched = gate();

@Injectable()
class LoggedHandlers {
  @JobHandler('logs.flaky', { maxAttempts: 2, backoff: { baseMs: 0 } })
  async flaky(_: unknown, ctx: JobContext) {
    throw new Error(`boom ${ctx.job.attempt}`);
  }

  @JobHandler('logs.talks')
  async talks(_: unknown, ctx: JobContext) {
    ctx.log('via ctx.log');
    ctx.logger.warn('via ctx.logger');
  }

  @JobHandler('logs.watched')
  async watched() {
    await holdWatched.opened;
  }

  @JobHandler('logs.nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin' })
  async nightly() {}
}

describe('logs and shutdown signals a person can act on', () => {
  let db: TestDatabase;
  let app: QueueApp | undefined;
  let logs: LogCapture;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Work no handler of the app below takes: a pending job of another type and a stored schedule of another type.
    await withQueueApp(db, { worker: { enabled: false } }, async (producer) => {
      await producer.queue.enqueue('billing.invoice', {});
      await producer.queue.schedule('weekly-digest', '0 8 * * 1', 'mail.digest', {});
    });
    logs = new LogCapture();
    app = await startQueueApp(db, { providers: [LoggedHandlers], logger: logs });
  });
  afterAll(async () => {
    holdWatched.open();
    await app?.close();
    logs.restore();
    await db.close();
  });

  it('says at boot which types this process runs and which schedules it declared, and warns about work no handler here takes', async () => {
    await waitFor(() => logs.matching('have no handler in this process', 'warn').length === 1, { message: 'the pending-jobs warning' });
    const [started] = logs.matching(/Worker .* started/, 'log');
    expect(started.message).toContain('Job types: logs.flaky, logs.talks, logs.watched, logs.nightly.');
    expect(started.message).toContain('Schedules declared in code: logs.nightly (0 3 * * * Europe/Berlin).');
    expect(logs.matching('have no handler in this process', 'warn')[0].message).toContain('billing.invoice');
    await waitFor(() => logs.matching('weekly-digest -> mail.digest', 'warn').length === 1, { message: 'the schedule warning' });
    expect(logs.matching('logs.nightly ->')).toEqual([]); // its own schedule is not reported
  });

  it('logs every failed attempt with its error, and the final failure with its stack, under the job id', async () => {
    const { id } = await app!.queue.enqueue('logs.flaky', {});
    await waitFor(async () => (await app!.queue.getJob(id))?.status === 'failed', { message: 'failed for good' });
    await waitFor(() => logs.matching('Failed for good', 'error').some((l) => l.context === `PgQueue:logs.flaky #${id}`));
    const lines = logs.lines.filter((line) => line.context === `PgQueue:logs.flaky #${id}`);
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'Attempt 1 of 2 failed: Error: boom 1; retrying in 0 ms.'],
      ['error', 'Failed for good after 2 attempt(s): Error: boom 2'],
    ]);
  });

  it('gives ctx.log and ctx.logger the job type and id', async () => {
    const { id } = await app!.queue.enqueue('logs.talks', {});
    await waitFor(() => logs.matching('via ctx.logger', 'warn').length === 1);
    expect(logs.matching('via ctx.log', 'log')[0].context).toBe(`PgQueue:logs.talks #${id}`);
    expect(logs.matching('via ctx.logger', 'warn')[0].context).toBe(`PgQueue:logs.talks #${id}`);
  });

  it('ends watch() streams at shutdown with QueueShutdownError, never as if the job had finished; the drain says what it waits for', async () => {
    const { id } = await app!.queue.enqueue('logs.watched', {});
    const seen: JobSnapshot[] = [];
    let ended: { completed?: true; error?: unknown } | undefined;
    app!.queue.watch(id).subscribe({
      next: (snapshot) => seen.push(snapshot),
      complete: () => (ended = { completed: true }),
      error: (error) => (ended = { error }),
    });
    await waitFor(() => seen.some((s) => s.status === 'running'), { message: 'the watch saw the job run' });
    const closing = app!.close();
    await waitFor(() => logs.matching('Shutting down: waiting', 'log').length === 1, { message: 'the drain says what it waits for' });
    holdWatched.open();
    await closing;
    app = undefined;
    expect(ended?.completed).toBeUndefined();
    expect(ended?.error).toBeInstanceOf(QueueShutdownError);
    expect((ended?.error as Error).message).toContain(`watch(${id})`);
    // The drain said what it waited for.
    expect(logs.matching(new RegExp(`^Shutting down: waiting up to \\d+ ms for 1 running job\\(s\\) #${id}\\.$`), 'log')).toHaveLength(1);
  });
});
