import { Injectable } from '@nestjs/common';
import { JobHandler, WorkerShutdownError, type JobContext } from '../../lib';
import { QueueService } from '../../lib';
import { PgQueueLifecycle } from '../../lib/pg-queue.lifecycle';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRows } from '../support/jobs';
import { gate, Recorder, useQueueApps } from '../support/queue-app';

const events = new Recorder<{ id: string; event: string; reason?: unknown }>();
let release = gate();

@Injectable()
class DrainHandlers {
  constructor(private readonly queue: QueueService) {}

  @JobHandler('drain.me', { concurrency: 2 })
  async drainMe(_: unknown, ctx: JobContext) {
    events.push({ id: ctx.job.id, event: 'started' });
    await release.opened;
    const followUp = await this.queue.enqueue('follow.up', { after: ctx.job.id });
    events.push({ id: ctx.job.id, event: `enqueued ${followUp.id}` });
    return 'drained';
  }

  @JobHandler('stubborn')
  async stubborn(_: unknown, ctx: JobContext) {
    events.push({ id: ctx.job.id, event: 'started' });
    ctx.signal.addEventListener('abort', () => events.push({ id: ctx.job.id, event: 'aborted', reason: ctx.signal.reason }));
    await new Promise(() => undefined); // ignores its signal and never settles
  }
}

describe('shutdown (app.close)', () => {
  let db: TestDatabase;

  const apps = useQueueApps();
  beforeEach(async () => {
    events.events.length = 0; // every test has a fresh schema, so job ids start again at 1
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const rows = (ids: string[]) => jobRows(db, ['id', 'status', 'attempts'], ids);

  it('lets running jobs finish, keeps QueueService working meanwhile, and claims nothing more', async () => {
    release = gate();
    const app = await apps.start(db, { providers: [DrainHandlers], worker: { concurrency: 6, shutdownTimeoutMs: 10_000 } });
    const jobs = await app.queue.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ type: 'drain.me', payload: { i } })));
    const ids = jobs.map((j) => j.id);
    await waitFor(() => events.events.filter((e) => e.event === 'started').length === 2, { message: 'two started' });
    // Handler concurrency 2: the claim took only what could start, the other four were left for anyone.
    expect((await rows(ids)).filter((r) => r.status === 'pending' && r.attempts === 0)).toHaveLength(4);

    const closing = app.close();
    const late = await db.query<{ id: string }>(
      `INSERT INTO ${db.schema}.jobs (type, payload) VALUES ('drain.me', '{}') RETURNING id::text`,
    );
    release.open();
    await closing;

    const final = await rows(ids);
    const startedIds = events.events.filter((e) => e.event === 'started').map((e) => e.id);
    expect(startedIds).toHaveLength(2);
    expect(
      final
        .filter((r) => r.status === 'completed')
        .map((r) => r.id)
        .sort(),
    ).toEqual([...startedIds].sort());
    expect(final.filter((r) => r.status === 'pending' && r.attempts === 0)).toHaveLength(4);
    expect(events.events.filter((e) => e.event.startsWith('enqueued'))).toHaveLength(2);
    expect(await db.query(`SELECT status FROM ${db.schema}.jobs WHERE type = 'follow.up'`)).toEqual([
      { status: 'pending' },
      { status: 'pending' },
    ]);
    expect(await rows([late[0].id])).toEqual([{ id: late[0].id, status: 'pending', attempts: 0 }]);
  });

  it('hands back, without using an attempt, jobs whose claim was under way when shutdown began', async () => {
    const app = await apps.start(db, { providers: [DrainHandlers], worker: { concurrency: 6 } });
    await app.queue.pause('drain.me');
    const jobs = await app.queue.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'drain.me', payload: { i } })));
    const ids = jobs.map((j) => j.id);
    const blocker = await db.admin.connect();
    try {
      // (pg_stat_activity shows the first 1 KB of a query: enough to recognise the claim)
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${db.schema}.jobs IN SHARE MODE`); // lets the claim start, then holds it
      await app.queue.resume('drain.me');
      await waitFor(
        async () => {
          const waiting = await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%WITH unqueued AS%'`,
            [new URL(db.url).searchParams.get('application_name')],
          );
          return waiting.length > 0;
        },
        { message: 'a claim blocked on the lock' },
      );
      const stopping = app.module.get(PgQueueLifecycle).onModuleDestroy(); // the shutdown's first hook
      await blocker.query('COMMIT');
      await stopping;
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    await app.close();
    expect(events.events.filter((e) => e.event === 'started')).toEqual([]);
    expect(await rows(ids)).toEqual(ids.map((id) => ({ id, status: 'pending', attempts: 0 })));
  });

  it('after shutdownTimeoutMs aborts the signals of jobs still running and hands them back, the attempt counted', async () => {
    const app = await apps.start(db, { providers: [DrainHandlers], worker: { shutdownTimeoutMs: 300 } });
    const job = await app.queue.enqueue('stubborn', {});
    await waitFor(() => events.events.some((e) => e.id === job.id && e.event === 'started'));
    await app.close();
    const aborted = events.events.find((e) => e.id === job.id && e.event === 'aborted');
    expect(aborted?.reason).toBeInstanceOf(WorkerShutdownError);
    expect(await rows([job.id])).toEqual([{ id: job.id, status: 'pending', attempts: 1 }]);
    const [{ last_error }] = await db.query<{ last_error: string }>(`SELECT last_error FROM ${db.schema}.jobs WHERE id = $1`, [job.id]);
    expect(last_error).toContain('shut down while this attempt was running');
  });
});
