import { Injectable } from '@nestjs/common';
import { lastValueFrom, toArray } from 'rxjs';
import { JobHandler, PgQueueConfigError, UnrecoverableJobError, type JobContext, type JobSnapshot, type RetentionOptions } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { gate, Recorder, startQueueApp, useQueueApps, type QueueApp } from '../support/queue-app';

const ran = new Recorder<{ type: string; id: string }>();
let hold = gate();

@Injectable()
class RetentionHandlers {
  @JobHandler('work')
  async work(payload: { fail?: boolean; hold?: boolean }, ctx: JobContext) {
    ran.push({ type: ctx.job.type, id: ctx.job.id });
    if (payload.hold) await hold.opened;
    if (payload.fail) throw new UnrecoverableJobError('failing on purpose');
    return { done: true };
  }

  @JobHandler('retried', { maxAttempts: 5, backoff: { baseMs: 3_600_000, maxMs: 3_600_000, jitter: false } })
  async retried() {
    throw new Error('retry in an hour');
  }

  @JobHandler('tick')
  async tick(_: unknown, ctx: JobContext) {
    ran.push({ type: ctx.job.type, id: ctx.job.id });
  }
}

/** Records every deleted job with the status it had, and when: tells the completion write from the pruner. */
async function logDeletions(db: TestDatabase): Promise<void> {
  const s = db.schema;
  await db.query(`CREATE TABLE ${s}.deleted_jobs (id text, status text, finished_at timestamptz, deleted_at timestamptz)`);
  await db.query(`
    CREATE FUNCTION ${s}.log_deleted_job() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.deleted_jobs VALUES (OLD.id::text, OLD.status, OLD.finished_at, clock_timestamp());
      RETURN OLD;
    END $fn$`);
  await db.query(`CREATE TRIGGER log_deleted_job AFTER DELETE ON ${s}.jobs FOR EACH ROW EXECUTE FUNCTION ${s}.log_deleted_job()`);
}

const deletion = async (db: TestDatabase, id: string) =>
  (
    await db.query<{ status: string; kept_ms: number }>(
      `SELECT status, (extract(epoch FROM deleted_at - finished_at) * 1000)::float8 AS kept_ms FROM ${db.schema}.deleted_jobs WHERE id = $1`,
      [id],
    )
  )[0];

const exists = async (db: TestDatabase, id: string) => (await countJobs(db, 'id = $1', [id])) === 1;

describe('retention 0: finished jobs are deleted at once', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, {
      providers: [RetentionHandlers],
      module: { retention: { completedMs: 0, failedMs: 0, cancelledMs: 0, pruneIntervalMs: 100 } },
    });
    await logDeletions(db);
  });
  afterAll(async () => {
    hold.open();
    await app?.close();
    await db?.close();
  });

  it('deletes a completed job in the completion write itself, and completes its watch', async () => {
    hold = gate();
    const job = await app.queue.enqueue('work', { hold: true });
    const snapshots: JobSnapshot[] = [];
    const watched = lastValueFrom(app.queue.watch(job.id).pipe(toArray()));
    app.queue.watch(job.id).subscribe((snapshot) => snapshots.push(snapshot));
    await waitFor(() => snapshots.some((s) => s.status === 'running'), { message: 'watch saw the job running' });
    hold.open();

    const seen = await watched; // completes, does not error, although the job is gone
    expect(seen.at(-1)?.status).toBe('running');
    expect(await app.queue.getJob(job.id)).toBeNull();
    // The row was deleted while still running: by the completion write, not by a later prune of a completed row.
    expect((await deletion(db, job.id))?.status).toBe('running');
  });

  it('keeps job keys and serial queues working when their jobs are deleted', async () => {
    const first = await app.queue.enqueue('work', {}, { jobKey: 'k', queue: 'serial' });
    const second = await app.queue.enqueue('work', {}, { queue: 'serial' });
    await waitFor(async () => !(await exists(db, first.id)) && !(await exists(db, second.id)), {
      message: 'both jobs ran and were deleted',
    });

    const again = await app.queue.enqueue('work', {}, { jobKey: 'k', queue: 'serial' });
    expect(again.id).not.toBe(first.id); // the key was free again: a new job, not the deleted one
    await waitFor(async () => !(await exists(db, again.id)), { message: 'the queue was free for the third job' });
    expect(ran.events.filter((e) => [first.id, second.id, again.id].includes(e.id))).toHaveLength(3);
    const [queue] = await db.query<{ held_by: string | null }>(`SELECT held_by FROM ${db.schema}.serial_queues WHERE name = 'serial'`);
    expect(queue.held_by).toBeNull();
  });

  it('deletes failed and cancelled jobs at the next prune', async () => {
    const failed = await app.queue.enqueue('work', { fail: true });
    const cancelled = await app.queue.enqueue('unhandled', {});
    await app.queue.cancel(cancelled.id);
    await waitFor(async () => !(await exists(db, failed.id)) && !(await exists(db, cancelled.id)), { message: 'both pruned' });
    expect((await deletion(db, failed.id))?.status).toBe('failed');
    expect((await deletion(db, cancelled.id))?.status).toBe('cancelled');
  });

  it('never prunes pending or running jobs, whatever their timestamps say', async () => {
    hold = gate();
    const running = await app.queue.enqueue('work', { hold: true });
    const delayed = await app.queue.enqueue('work', {}, { delayMs: 3_600_000 });
    const unhandled = await app.queue.enqueue('unhandled', {});
    const retrying = await app.queue.enqueue('retried', {});
    await waitFor(async () => (await app.queue.getJob(running.id))?.status === 'running');
    await waitFor(async () => {
      const job = await app.queue.getJob(retrying.id);
      return job?.status === 'pending' && job.attempts === 1;
    });
    const unfinished = [running.id, delayed.id, unhandled.id, retrying.id];
    // Old enough to be pruned, were they finished.
    await db.query(`UPDATE ${db.schema}.jobs SET finished_at = now() - interval '1 year' WHERE id = ANY($1::bigint[])`, [unfinished]);

    const marker = await app.queue.enqueue('unhandled', {});
    await app.queue.cancel(marker.id);
    await waitFor(async () => !(await exists(db, marker.id)), { message: 'a prune pass ran' });
    const statuses = await Promise.all(unfinished.map(async (id) => (await app.queue.getJob(id))?.status));
    expect(statuses).toEqual(['running', 'pending', 'pending', 'pending']);

    hold.open();
    await waitFor(async () => !(await exists(db, running.id)), { message: 'deleted once it completed' });
  });

  it('never fires a slot of a schedule again after its job was deleted', async () => {
    const runs = () => ran.events.filter((e) => e.type === 'tick').length;
    await app.queue.schedule('yearly', '0 0 1 1 *', 'tick', {});
    await db.query(`UPDATE ${db.schema}.schedules SET next_run_at = now() - interval '1 second' WHERE name = 'yearly'`);
    await waitFor(
      async () => runs() === 1 && (await db.query(`SELECT 1 FROM ${db.schema}.jobs WHERE schedule_name = 'yearly'`)).length === 0,
      {
        message: 'the slot fired once and its job was deleted',
      },
    );
    const [{ slot }] = await db.query<{ slot: Date }>(`SELECT last_slot AS slot FROM ${db.schema}.schedules WHERE name = 'yearly'`);

    // The unique slot index cannot help any more (the row is gone): push the schedule back to the fired slot.
    await db.query(`UPDATE ${db.schema}.schedules SET next_run_at = $1 WHERE name = 'yearly'`, [slot]);
    await waitFor(
      async () => {
        const [{ next }] = await db.query<{ next: Date }>(`SELECT next_run_at AS next FROM ${db.schema}.schedules WHERE name = 'yearly'`);
        return next.getTime() > Date.now();
      },
      { message: 'the schedule moved past the slot again' },
    );
    expect(runs()).toBe(1);
    expect(await db.query(`SELECT 1 FROM ${db.schema}.jobs WHERE schedule_name = 'yearly'`)).toEqual([]);
  });
});

describe('retention windows', () => {
  let db: TestDatabase;
  let app: QueueApp;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, {
      providers: [RetentionHandlers],
      module: { retention: { completedMs: 3000, failedMs: 2 * HOUR, cancelledMs: 3 * HOUR, pruneIntervalMs: 100 } },
    });
    await logDeletions(db);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('keeps a completed job until its retention has passed, then prunes it', async () => {
    const job = await app.queue.enqueue('work', {});
    await waitFor(async () => !(await exists(db, job.id)), { message: 'pruned after its retention', timeoutMs: 20_000 });
    const deleted = await deletion(db, job.id);
    expect(deleted.status).toBe('completed');
    expect(deleted.kept_ms).toBeGreaterThanOrEqual(3000);
  });

  it('keeps failed and cancelled jobs for their own retention', async () => {
    const jobs = await Promise.all([0, 1].map(() => app.queue.enqueue('work', { fail: true })));
    await waitFor(async () => (await Promise.all(jobs.map((j) => app.queue.getJob(j.id)))).every((j) => j?.status === 'failed'));
    const cancelled = await Promise.all([0, 1].map(() => app.queue.enqueue('unhandled', {})));
    await Promise.all(cancelled.map((j) => app.queue.cancel(j.id)));
    const [failedYoung, failedOld] = jobs.map((j) => j.id);
    const [cancelledYoung, cancelledOld] = cancelled.map((j) => j.id);
    // A minute short of, and a minute past, each retention.
    await db.query(
      `UPDATE ${db.schema}.jobs SET finished_at = now() - CASE id
         WHEN $1 THEN interval '119 minutes' WHEN $2 THEN interval '121 minutes'
         WHEN $3 THEN interval '179 minutes' WHEN $4 THEN interval '181 minutes' END
       WHERE id IN ($1, $2, $3, $4)`,
      [failedYoung, failedOld, cancelledYoung, cancelledOld],
    );
    await waitFor(async () => !(await exists(db, failedOld)) && !(await exists(db, cancelledOld)), { message: 'the old ones pruned' });
    // The pass that pruned them looked at the young ones too.
    expect(await exists(db, failedYoung)).toBe(true);
    expect(await exists(db, cancelledYoung)).toBe(true);
  });
});

describe('pruning a backlog', () => {
  let db: TestDatabase;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
    const migrated = await startQueueApp(db, { worker: { enabled: false } });
    await migrated.close();
  });
  afterAll(async () => {
    await db?.close();
  });

  const count = (where: string) => countJobs(db, where);

  it('deletes more than one batch in one pass, with the default retention (completed 1 day, failed and cancelled 7 days)', async () => {
    const insert = (n: number, status: string, age: string) =>
      db.query(
        `INSERT INTO ${db.schema}.jobs (type, payload, status, finished_at)
         SELECT 'old', '{}'::jsonb, $2::text, CASE WHEN $2::text <> 'pending' THEN now() - $3::interval END
           FROM generate_series(1, $1::int)`,
        [n, status, age],
      );
    await insert(2500, 'completed', '25 hours');
    await insert(10, 'completed', '23 hours');
    await insert(1200, 'failed', '8 days');
    await insert(10, 'failed', '6 days');
    await insert(10, 'cancelled', '8 days');
    await insert(10, 'cancelled', '6 days');
    await insert(10, 'pending', '1 year');

    // One pass at start-up only: the next would come in ten minutes.
    await apps.start(db, { module: { retention: { pruneIntervalMs: 600_000 } } });
    await waitFor(async () => (await count(`status <> 'pending'`)) === 30, {
      message: 'the first pass pruned what is past its retention',
    });
    expect(await count(`status = 'completed' AND finished_at > now() - interval '1 day'`)).toBe(10);
    expect(await count(`status = 'failed' AND finished_at > now() - interval '7 days'`)).toBe(10);
    expect(await count(`status = 'cancelled' AND finished_at > now() - interval '7 days'`)).toBe(10);
    expect(await count(`status = 'pending'`)).toBe(10);
  });

  it('tunes autovacuum for a queue table', async () => {
    const [options] = await db.query<{ heap: string[]; toast: string[] }>(
      `SELECT c.reloptions AS heap, t.reloptions AS toast FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE c.oid = $1::regclass`,
      [`${db.schema}.jobs`],
    );
    expect(options.heap).toEqual(expect.arrayContaining(['fillfactor=80', 'autovacuum_vacuum_scale_factor=0.01']));
    expect(options.toast).toEqual(['autovacuum_vacuum_scale_factor=0.01']);
  });
});

describe('invalid retention options', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it.each<[string, unknown]>([
    ['a negative retention', { completedMs: -1 }],
    ['NaN', { failedMs: NaN }],
    ['a fraction', { cancelledMs: 1.5 }],
    ['over ten years', { completedMs: 3651 * 24 * 3600 * 1000 }],
    ['Infinity', { failedMs: Infinity }],
    ['a string', { completedMs: '1000' }],
    ['an unknown key', { completed: 0 }],
    ['a prune interval under 100 ms', { pruneIntervalMs: 10 }],
    ['something not an object', 'forever'],
  ])('rejects %s with a typed error before anything is written', async (_, retention) => {
    const attempt = startQueueApp(db, { module: { retention: retention as RetentionOptions } });
    await expect(attempt).rejects.toBeInstanceOf(PgQueueConfigError);
    await expect(attempt).rejects.toThrow(/retention/);
    expect(await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [db.schema])).toEqual([]);
  });
});
