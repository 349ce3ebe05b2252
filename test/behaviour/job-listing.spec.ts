import {
  InvalidCursorError,
  InvalidJobKeyError,
  InvalidJobQueryError,
  InvalidJobTypeError,
  type JobFilter,
  type JobSnapshot,
  type JobStatus,
  type ListJobsQuery,
} from '../../lib';
import { createTestDatabase, quoteIdent, type TestDatabase } from '../support/database';
import { startQueueApp, type QueueApp } from '../support/queue-app';

/** Every page of a query, following nextCursor to the end. */
async function allPages(app: QueueApp, query: ListJobsQuery): Promise<JobSnapshot[][]> {
  const pages: JobSnapshot[][] = [];
  let cursor = query.cursor;
  do {
    const page = await app.queue.listJobs({ ...query, cursor });
    pages.push(page.jobs);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return pages;
}

const idsOf = (jobs: JobSnapshot[]) => jobs.map((job) => job.id);
const newestFirst = (ids: string[]) => [...ids].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));

describe('listJobs and countJobs', () => {
  let db: TestDatabase;
  let app: QueueApp;
  let jobs: string;
  /** Each job made for these tests, as it is stored. */
  const made: Array<{ id: string; type: string; status: JobStatus; queue: string | null; jobKey: string | null; createdAt: Date }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { worker: { enabled: false } });
    jobs = `${quoteIdent(db.schema)}.jobs`;
    // 60 jobs: three types, every status, some in a serial queue, some keyed, created over three distinct times.
    const statuses: JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
    for (let i = 0; i < 60; i++) {
      const type = ['list.a', 'list.b', 'list.c'][i % 3];
      const queue = i % 4 === 0 ? `q${i % 8}` : undefined;
      const jobKey = i % 5 === 0 ? `key-${i}` : undefined;
      const job = await app.queue.enqueue(type, { i }, { queue, jobKey });
      made.push({ id: job.id, type, status: statuses[i % 5], queue: queue ?? null, jobKey: jobKey ?? null, createdAt: new Date() });
    }
    // The states the workers would give them; a running job has a lease, as every running job does.
    for (const status of statuses) {
      const ids = made.filter((job) => job.status === status).map((job) => job.id);
      await db.query(
        `UPDATE ${jobs} SET status = $2,
                lease_expires_at = CASE WHEN $2 = 'running' THEN now() + interval '1 hour' END,
                claim_token = CASE WHEN $2 = 'running' THEN gen_random_uuid() END,
                finished_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN now() END
          WHERE id = ANY($1::bigint[])`,
        [ids, status],
      );
    }
    // Creation times in three spans (a day apart), so time filters have something to cut.
    await db.query(`UPDATE ${jobs} SET created_at = now() - (id % 3) * interval '1 day'`);
    const rows = await db.query<{ id: string; created_at: Date }>(`SELECT id::text AS id, created_at FROM ${jobs}`);
    for (const row of rows) made.find((job) => job.id === row.id)!.createdAt = row.created_at;
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const expected = (keep: (job: (typeof made)[number]) => boolean) => newestFirst(made.filter(keep).map((job) => job.id));

  it('pages through every job newest first, each exactly once', async () => {
    const pages = await allPages(app, { limit: 7 });
    expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
    expect(pages.flat().map((job) => job.id)).toEqual(expected(() => true));
    const [first] = pages[0];
    expect(first).toMatchObject({
      type: made.find((job) => job.id === first.id)!.type,
      payload: { i: made.findIndex((job) => job.id === first.id) },
    });
    expect(first.createdAt).toBeInstanceOf(Date);
  });

  it('returns null as nextCursor on the last page, also when the last page is full', async () => {
    expect(await app.queue.listJobs({ limit: 60 })).toMatchObject({ nextCursor: null });
    const page = await app.queue.listJobs({ limit: 1000 });
    expect(page.jobs).toHaveLength(60);
    expect(page.nextCursor).toBeNull();
  });

  it('applies each filter, alone and together, and counts what it lists', async () => {
    const day = 24 * 3600 * 1000;
    const midnight = new Date(Date.now() - day / 2);
    const cases: Array<[JobFilter, (job: (typeof made)[number]) => boolean]> = [
      [{}, () => true],
      [{ type: 'list.b' }, (job) => job.type === 'list.b'],
      [{ status: 'failed' }, (job) => job.status === 'failed'],
      [{ status: 'running' }, (job) => job.status === 'running'],
      [{ status: ['pending', 'cancelled'] }, (job) => job.status === 'pending' || job.status === 'cancelled'],
      [
        { type: 'list.a', status: ['running', 'completed'] },
        (job) => job.type === 'list.a' && ['running', 'completed'].includes(job.status),
      ],
      [{ queue: 'q0' }, (job) => job.queue === 'q0'],
      [{ jobKey: 'key-15' }, (job) => job.jobKey === 'key-15'],
      [{ createdAfter: midnight }, (job) => job.createdAt >= midnight],
      [{ createdBefore: midnight, type: 'list.c' }, (job) => job.createdAt < midnight && job.type === 'list.c'],
      [{ type: 'nobody' }, () => false],
    ];
    for (const [filter, keep] of cases) {
      const listed = (await allPages(app, { ...filter, limit: 4 })).flat();
      expect({ filter, ids: idsOf(listed) }).toEqual({ filter, ids: expected(keep) });
      expect({ filter, count: await app.queue.countJobs(filter) }).toEqual({ filter, count: expected(keep).length });
    }
  });

  it('neither skips nor repeats a job when jobs are added and removed between pages', async () => {
    const own = await app.queue.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ type: 'list.paging', payload: { i } })));
    try {
      const before = newestFirst(idsOf(own));
      const first = await app.queue.listJobs({ type: 'list.paging', limit: 5 });
      const added = await app.queue.enqueue('list.paging', { added: true });
      await db.query(`DELETE FROM ${jobs} WHERE id = $1`, [before[7]]);
      const rest = (await allPages(app, { type: 'list.paging', limit: 5, cursor: first.nextCursor! })).flat();
      // The new job is newer than the first page, so it is not on a later one; the removed one is simply gone.
      expect([...idsOf(first.jobs), ...idsOf(rest)]).toEqual(before.filter((id) => id !== before[7]));
      expect(idsOf((await app.queue.listJobs({ type: 'list.paging', limit: 1 })).jobs)).toEqual([added.id]);
    } finally {
      await db.query(`DELETE FROM ${jobs} WHERE type = 'list.paging'`);
    }
  });

  it('refuses a bad query with a typed error before reading anything', async () => {
    const refusals: Array<[unknown, new (...args: never[]) => Error, RegExp]> = [
      [{ limit: 0 }, InvalidJobQueryError, /limit: 0; expected an integer from 1 to 1000/],
      [{ limit: 1001 }, InvalidJobQueryError, /limit: 1001/],
      [{ limit: 2.5 }, InvalidJobQueryError, /limit/],
      [{ status: 'done' }, InvalidJobQueryError, /status: "done"; expected one of pending, running, completed, failed, cancelled/],
      [{ status: [] }, InvalidJobQueryError, /status/],
      [{ stauts: 'failed' }, InvalidJobQueryError, /Unknown option stauts: did you mean status\?/],
      [{ createdAfter: '2026-01-01' }, InvalidJobQueryError, /createdAfter/],
      [{ type: '' }, InvalidJobTypeError, /Invalid job type/],
      [{ jobKey: 7 }, InvalidJobKeyError, /jobKey/],
      [{ cursor: 42 }, InvalidJobQueryError, /cursor/],
      ['failed', InvalidJobQueryError, /filter/],
    ];
    for (const [query, Type, message] of refusals) {
      await expect(app.queue.listJobs(query as ListJobsQuery)).rejects.toThrow(Type);
      await expect(app.queue.listJobs(query as ListJobsQuery)).rejects.toThrow(message);
    }
    await expect(app.queue.countJobs({ limit: 5 } as JobFilter)).rejects.toThrow(/Unknown option limit/);
  });

  it('lets PostgreSQL cancel a listing or a count that outlasts its timeoutMs', async () => {
    await db.query(`INSERT INTO ${jobs} (type, payload, status, finished_at)
                    SELECT 'list.bulk', '{}', 'completed', now() FROM generate_series(1, 300000)`);
    try {
      await expect(app.queue.countJobs({}, { timeoutMs: 1 })).rejects.toMatchObject({ code: '57014' });
      await expect(app.queue.countJobs({ type: 'list.bulk' }, { timeoutMs: 60_000 })).resolves.toBe(300_000);
      await expect(app.queue.listJobs({}, { timeoutMs: 0 })).rejects.toThrow(InvalidJobQueryError);
      await expect(app.queue.listJobs({}, { timeoutMs: 3e9 })).rejects.toThrow(InvalidJobQueryError);
      await expect(app.queue.countJobs({}, { timeout: 5 } as never)).rejects.toThrow(/did you mean timeoutMs/);
    } finally {
      await db.query(`DELETE FROM ${jobs} WHERE type = 'list.bulk'`);
    }
  });

  it('takes back only the cursors it issued, for the filter they were issued for', async () => {
    const { nextCursor } = await app.queue.listJobs({ type: 'list.a', limit: 2 });
    const cursor = nextCursor!;
    const decoded = Buffer.from(cursor, 'base64url').toString();
    const forged = [
      'garbage',
      '',
      Buffer.from(decoded.replace(/\.(\d+)\./, (_, id: string) => `.${BigInt(id) + 1n}.`)).toString('base64url'),
      Buffer.from(decoded.replace(/\.(\d+)\./, '.1 OR 1=1.')).toString('base64url'),
      `${cursor}=`,
    ];
    for (const bad of forged) {
      await expect(app.queue.listJobs({ type: 'list.a', cursor: bad })).rejects.toThrow(InvalidCursorError);
    }
    await expect(app.queue.listJobs({ type: 'list.b', cursor })).rejects.toThrow(/issued for another filter/);
    await expect(app.queue.listJobs({ type: 'list.a', status: 'failed', cursor })).rejects.toThrow(InvalidCursorError);
    // The page size is not part of the filter: a cursor goes on with any limit.
    const next = await app.queue.listJobs({ type: 'list.a', cursor, limit: 3 });
    expect(idsOf(next.jobs)).toEqual(expected((job) => job.type === 'list.a').slice(2, 5));
  });
});
