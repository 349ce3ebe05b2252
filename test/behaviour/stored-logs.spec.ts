import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, useQueueApps, type QueueApp } from '../support/queue-app';

@Injectable()
class LoggingHandlers {
  /** Logs on each attempt; the first fails. The last line comes right before the return: it must not be lost. */
  @JobHandler('logs.twice', { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 1, jitter: false } })
  twice(_: unknown, ctx: JobContext) {
    ctx.log(`starting attempt ${ctx.job.attempt}`);
    if (ctx.job.attempt === 1) {
      ctx.log('about to fail');
      throw new Error('first attempt fails');
    }
    ctx.log('last words');
    return 'ok';
  }

  @JobHandler('logs.chatty')
  chatty(payload: { lines: number }, ctx: JobContext) {
    ctx.log(`long ${'x'.repeat(5000)}`);
    ctx.log('with a NUL \u0000 inside');
    for (let i = 0; i < payload.lines; i++) ctx.log(`line ${i}`);
  }
}

describe('stored job logs: ctx.log and getJobLogs', () => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let app: QueueApp;

  beforeEach(async () => {
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const storedLines = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(db.schema)}.job_logs`))[0].n;
  const finished = (id: string) => waitFor(async () => ['completed', 'failed'].includes((await app.queue.getJob(id))?.status ?? ''));

  it('stores each line with its attempt, in order, the last ones before the outcome', async () => {
    app = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER });
    const job = await app.queue.enqueue('logs.twice', {});
    await finished(job.id);
    // Read at once: the completion is written only after the last lines.
    const lines = await app.queue.getJobLogs(job.id);
    expect(lines.map(({ attempt, message }) => [attempt, message])).toEqual([
      [1, 'starting attempt 1'],
      [1, 'about to fail'],
      [2, 'starting attempt 2'],
      [2, 'last words'],
    ]);
    expect(lines.every((line) => line.at instanceof Date)).toBe(true);
    const times = lines.map((line) => line.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(await app.queue.getJobLogs('999999')).toEqual([]);
  });

  it('bounds what an attempt stores: lines cut, NULs dropped, and one line for the rest past the limit', async () => {
    app = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER });
    const job = await app.queue.enqueue('logs.chatty', { lines: 250 });
    await finished(job.id);
    const lines = await app.queue.getJobLogs(job.id);
    expect(lines).toHaveLength(201);
    expect(lines[0].message).toHaveLength(2000);
    expect(lines[0].message.endsWith('…')).toBe(true);
    expect(lines[1].message).toBe('with a NUL  inside');
    expect(lines[199].message).toBe('line 197');
    expect(lines[200].message).toBe('(52 more lines of this attempt were not stored)');
  });

  it('deletes the lines with their job: remove(), and completion with a retention of 0', async () => {
    app = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER });
    const removed = await app.queue.enqueue('logs.chatty', { lines: 3 });
    await finished(removed.id);
    expect(await storedLines()).toBe(5);
    await app.queue.remove(removed.id);
    expect(await storedLines()).toBe(0);
    await app.close();

    app = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER, module: { retention: { completedMs: 0 } } });
    const kept = await app.queue.enqueue('logs.twice', {}); // fails once: its first attempt's lines are stored
    await waitFor(async () => (await app.queue.getJob(kept.id)) === null);
    expect(await storedLines()).toBe(0);
  });
});
