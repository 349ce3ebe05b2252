import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { lastValueFrom } from 'rxjs';
import { JobCancelledError, JobHandler, PgQueueConfigError, type JobContext } from '../../lib';
import { resolveModuleOptions } from '../../lib/pg-queue.options';
import { createTestDatabase, waitFor, withApplicationName, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { LogCapture } from '../support/log-capture';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { gate, Recorder, startQueueApp, useQueueApps, type QueueApp, type QueueAppOptions } from '../support/queue-app';

const seen = new Recorder<{ id: string; attempt: number; event: 'started' | 'aborted'; at: number; reason?: unknown }>();
const halfway = gate();

@Injectable()
class Handlers {
  @JobHandler('noop')
  noop(_: unknown, ctx: JobContext) {
    seen.push({ id: ctx.job.id, attempt: ctx.job.attempt, event: 'started', at: Date.now() });
  }

  /** Fails its first attempt; the second reports progress, waits for the test, and returns. */
  @JobHandler('flaky', { maxAttempts: 3, backoff: { baseMs: 10, maxMs: 10, jitter: false } })
  async flaky(_: unknown, ctx: JobContext) {
    if (ctx.job.attempt === 1) throw new Error('first attempt fails');
    await ctx.progress(60, 'halfway');
    await halfway.opened;
    return { attempt: ctx.job.attempt };
  }

  /** Runs until its signal aborts. */
  @JobHandler('held')
  async held(_: unknown, ctx: JobContext) {
    seen.push({ id: ctx.job.id, attempt: ctx.job.attempt, event: 'started', at: Date.now() });
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    seen.push({ id: ctx.job.id, attempt: ctx.job.attempt, event: 'aborted', at: Date.now(), reason: ctx.signal.reason });
  }
}

/** Resolves once every job of `ids` has completed. */
const allCompleted = (db: TestDatabase, ids: string[]) =>
  waitFor(async () => (await countJobs(db, "id = ANY($1::bigint[]) AND status = 'completed'", [ids])) === ids.length, {
    message: `${ids.length} job(s) to complete`,
  });
const started = (id: string) => seen.events.find((e) => e.id === id && e.event === 'started');
const aborted = (id: string) => seen.events.find((e) => e.id === id && e.event === 'aborted');

describe("pooler: 'transaction' options", () => {
  const base = { connectionString: 'postgres://pooler.invalid/db' };

  it('turns prepared statements off by default, and refuses them when asked for', () => {
    expect(resolveModuleOptions({ ...base, pooler: 'transaction' })).toMatchObject({ pooler: 'transaction', preparedStatements: false });
    const both = () => resolveModuleOptions({ ...base, pooler: 'transaction', preparedStatements: true });
    expect(both).toThrow(PgQueueConfigError);
    expect(both).toThrow("Options pooler: 'transaction' and preparedStatements: true cannot be used together.");
    expect(resolveModuleOptions(base).preparedStatements).toBe(true);
  });

  it('accepts listenConnectionString in any mode and rejects what is not a connection string', () => {
    const listenConnectionString = 'postgres://direct.invalid/db';
    expect(resolveModuleOptions({ ...base, listenConnectionString }).listenConnectionString).toBe(listenConnectionString);
    expect(() => resolveModuleOptions({ ...base, listenConnectionString: '' })).toThrow(PgQueueConfigError);
    expect(() => resolveModuleOptions({ ...base, listenConnectionString: 5 as never })).toThrow(PgQueueConfigError);
    expect(() => resolveModuleOptions({ ...base, pooler: 'session' as never })).toThrow(PgQueueConfigError);
  });
});

describe('behind PgBouncer in transaction mode', () => {
  let db: TestDatabase;
  let bouncer: PgBouncer;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
    bouncer = await startPgBouncer({ upstreamUrl: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.close();
  });

  /** The options of an app whose module's connections all go through PgBouncer. */
  const behindPooler = (options: QueueAppOptions = {}): QueueAppOptions => ({
    providers: [Handlers],
    ...options,
    module: { connectionString: bouncer.url, pooler: 'transaction', ...options.module },
  });
  /** Enqueues from another application, so that the worker's own enqueue cannot claim the job on the spot. */
  const producer = (options: QueueAppOptions = {}) =>
    apps.start(db, behindPooler({ providers: [], worker: { enabled: false }, ...options }));

  /**
   * What every one of PgBouncer's server connections holds, seen by another client: as many transactions at once as
   * the pool has connections, so each runs on a different one.
   */
  const serverConnections = async () => {
    const clients = Array.from({ length: bouncer.poolSize }, () => new Client(withApplicationName(bouncer.url, 'pgqt_pooler_other')));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      const seenBy = await Promise.all(
        clients.map(async (client) => {
          await client.query('BEGIN');
          const { rows } = await client.query<{ pid: number; jit: string; plan: string; prepared: number }>(
            `SELECT pg_backend_pid() AS pid, current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plan,
                    (SELECT count(*)::int FROM pg_prepared_statements) AS prepared`,
          );
          return rows[0];
        }),
      );
      await Promise.all(clients.map((client) => client.query('COMMIT')));
      return seenBy;
    } finally {
      await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    }
  };

  it("leaves no session state on PgBouncer's shared server connections", async () => {
    const [defaults] = await db.query<{ jit: string; plan: string }>(
      "SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plan",
    );
    const app = await apps.start(db, behindPooler());
    const jobs = await app.queue.enqueueMany(Array.from({ length: 20 }, () => ({ type: 'noop', payload: {} })));
    await allCompleted(
      db,
      jobs.map((job) => job.id),
    );
    const connections = await serverConnections();
    expect(new Set(connections.map((c) => c.pid)).size).toBe(bouncer.poolSize);
    for (const connection of connections) expect(connection).toMatchObject({ ...defaults, prepared: 0 });
  });

  it('runs jobs through it: enqueue, enqueueMany, a retry, progress and watch()', async () => {
    const app = await apps.start(db, behindPooler());
    const job = await app.queue.enqueue('flaky', {});
    await waitFor(async () => (await app.queue.getJob(job.id))?.progress === 60, { message: 'progress of the second attempt' });
    const watched = lastValueFrom(app.queue.watch(job.id));
    halfway.open();
    expect(await watched).toMatchObject({ status: 'completed', attempts: 2, progress: 100, result: { attempt: 2 } });
    expect(await app.queue.getJob(job.id)).toMatchObject({ status: 'completed', stage: 'halfway' });

    const many = await app.queue.enqueueMany(Array.from({ length: 30 }, (_, n) => ({ type: 'noop', payload: { n } })));
    await allCompleted(
      db,
      many.map((j) => j.id),
    );
  });

  it('wakes workers at once through listenConnectionString, a direct connection', async () => {
    // A poll floor of a minute: a job that starts within 1.5 s was woken by a notification.
    await apps.start(db, behindPooler({ module: { listenConnectionString: db.url }, worker: { pollIntervalMs: 60_000 } }));
    const enqueuer = await producer();
    for (let n = 0; n < 3; n++) {
      const enqueuedAt = Date.now();
      const job = await enqueuer.queue.enqueue('noop', { n });
      await waitFor(() => started(job.id) !== undefined, { timeoutMs: 1500, message: 'a wake-up by NOTIFY' });
      expect((started(job.id)?.at ?? Infinity) - enqueuedAt).toBeLessThan(1500);
    }
  });

  describe('without listenConnectionString', () => {
    let logs: LogCapture;
    let worker: QueueApp;

    beforeAll(async () => {
      logs = new LogCapture();
      worker = await startQueueApp(db, behindPooler({ worker: { pollIntervalMs: 200 }, logger: logs }));
    });
    afterAll(async () => {
      await worker?.close();
      logs?.restore();
    });

    const pollOnlyWarnings = () => logs.matching('listenConnectionString', 'warn');

    it('warns once at boot, naming listenConnectionString, and runs jobs and watch() by polling', async () => {
      expect(pollOnlyWarnings()).toHaveLength(1);
      // Its log lines go to the capture too: booting or closing it must not warn again.
      const enqueuer = await producer({ logger: logs });
      const job = await enqueuer.queue.enqueue('noop', {});
      expect(await lastValueFrom(worker.queue.watch(job.id))).toMatchObject({ status: 'completed' });
      expect(started(job.id)).toBeDefined();
      await enqueuer.close();
      expect(pollOnlyWarnings()).toHaveLength(1);
    });

    it('aborts a running handler cancelled through QueueService.cancel() with JobCancelledError', async () => {
      const job = await worker.queue.enqueue('held', {});
      await waitFor(() => started(job.id) !== undefined, { message: 'the handler to start' });
      expect(await worker.queue.cancel(job.id)).toMatchObject({ status: 'cancelled' });
      await waitFor(() => aborted(job.id) !== undefined, { message: "the handler's signal to abort" });
      expect(aborted(job.id)?.reason).toBeInstanceOf(JobCancelledError);
      expect(await worker.queue.getJob(job.id)).toMatchObject({ status: 'cancelled' });
    });
  });
});
