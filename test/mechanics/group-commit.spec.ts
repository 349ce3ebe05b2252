import { Client } from 'pg';
import { compareIds } from '../../lib/db/stores/lease-order';
import { channelsFor } from '../../lib/db/identifiers';
import { countingPool, type CountingPool } from '../support/counting-pool';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRows } from '../support/jobs';
import { startQueueApp, type QueueApp } from '../support/queue-app';

describe('group commit of concurrent enqueues', () => {
  let db: TestDatabase;
  let counting: CountingPool;
  let app: QueueApp;
  let inserts: () => number;

  beforeAll(async () => {
    db = await createTestDatabase();
    counting = countingPool(db.url);
    app = await startQueueApp(db, { module: { pool: counting.pool, connectionString: undefined }, worker: { enabled: false } });
    inserts = () => counting.count(`INSERT INTO "${db.schema}".jobs`);
  });
  afterAll(async () => {
    await app?.close();
    await counting?.pool.end();
    await db?.close();
  });
  afterEach(async () => {
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  const storedIds = async () => (await jobRows(db, ['id'])).map((r) => r.id);
  const inCallOrder = (ids: string[]) => expect([...ids].sort(compareIds)).toEqual(ids);

  it('writes 64 concurrent enqueues in one statement, each caller getting its own job, ids in call order', async () => {
    const before = inserts();
    const jobs = await Promise.all(Array.from({ length: 64 }, (_, i) => app.queue.enqueue('batch.job', { i }, { priority: i })));
    expect(inserts() - before).toBe(1);
    expect(jobs.map((j) => [j.payload, j.priority, j.status])).toEqual(Array.from({ length: 64 }, (_, i) => [{ i }, i, 'pending']));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(64);
    inCallOrder(jobs.map((j) => j.id));
    expect(await storedIds()).toEqual(jobs.map((j) => j.id));
  });

  it("resolves each caller's promise only once its job is committed", async () => {
    const visibleAtResolve = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const job = await app.queue.enqueue('batch.job', { i });
        // Another connection sees the row: it is committed, not merely sent.
        return (await db.query(`SELECT 1 FROM ${db.schema}.jobs WHERE id = $1`, [job.id])).length;
      }),
    );
    expect(visibleAtResolve).toEqual(Array(32).fill(1));
  });

  it('fails only the jobs PostgreSQL refuses; the others of their batch are committed, in few retried statements', async () => {
    // A BEFORE ... FOR EACH STATEMENT trigger runs even for a statement that a row later aborts, and nextval is not
    // rolled back: the sequence counts the INSERT statements tried.
    await db.query(`
      CREATE SEQUENCE ${db.schema}.insert_statements;
      CREATE FUNCTION ${db.schema}.count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('${db.schema}.insert_statements'); RETURN NULL; END $$;
      CREATE TRIGGER count_statement BEFORE INSERT ON ${db.schema}.jobs FOR EACH STATEMENT EXECUTE FUNCTION ${db.schema}.count_statement();
      CREATE FUNCTION ${db.schema}.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.payload ? 'poison' THEN RAISE EXCEPTION 'poisoned job refused'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON ${db.schema}.jobs FOR EACH ROW EXECUTE FUNCTION ${db.schema}.refuse_poison();`);
    try {
      const poisoned = (i: number) => i === 4 || i === 41;
      const results = await Promise.allSettled(
        Array.from({ length: 64 }, (_, i) => app.queue.enqueue('batch.job', poisoned(i) ? { poison: true } : { i })),
      );
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: 64 }, (_, i) => (poisoned(i) ? 'rejected' : 'fulfilled')));
      expect(((results[4] as PromiseRejectedResult).reason as Error).message).toBe('poisoned job refused');
      const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : []));
      inCallOrder(ids);
      expect(await storedIds()).toEqual(ids);
      // Halving: about 4 statements per level below the first for two bad jobs; one job at a time would take 64 or more.
      const [{ tried }] = await db.query<{ tried: string }>(`SELECT last_value AS tried FROM ${db.schema}.insert_statements`);
      expect(Number(tried)).toBeLessThanOrEqual(2 + 4 * Math.log2(64));
    } finally {
      await db.query(`
        DROP TRIGGER refuse_poison ON ${db.schema}.jobs; DROP FUNCTION ${db.schema}.refuse_poison();
        DROP TRIGGER count_statement ON ${db.schema}.jobs; DROP FUNCTION ${db.schema}.count_statement();
        DROP SEQUENCE ${db.schema}.insert_statements;`);
    }
  });

  it('splits a batch whose payloads are large into several statements, ids still in call order', async () => {
    const before = inserts();
    const jobs = await Promise.all(Array.from({ length: 8 }, (_, i) => app.queue.enqueue('batch.job', { i, blob: 'x'.repeat(300_000) })));
    expect(inserts() - before).toBeGreaterThan(1);
    inCallOrder(jobs.map((j) => j.id));
    expect(await storedIds()).toEqual(jobs.map((j) => j.id));
  });

  it('fails every job of a statement whose connection is lost, and writes none of them again', async () => {
    const locker = await db.admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${db.schema}.jobs IN EXCLUSIVE MODE`);
      const before = inserts();
      const results = Promise.allSettled(Array.from({ length: 5 }, (_, i) => app.queue.enqueue('batch.job', { i })));
      // The batch waits for the lock; its connection is then cut, as a failover or a network fault would.
      await waitFor(
        async () =>
          (
            await db.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
              [`%INSERT INTO "${db.schema}".jobs%`],
            )
          ).length === 1,
        { message: 'the waiting batch statement' },
      );
      const settled = await results;
      expect(settled.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
      expect(inserts() - before).toBe(1);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(await storedIds()).toEqual([]);
  });

  it('sends one NOTIFY per statement, after its commit', async () => {
    const channel = channelsFor(db.schema).newJobs;
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    try {
      const received: string[] = [];
      listener.on('notification', (n) => n.channel === channel && received.push(n.payload ?? ''));
      await listener.query(`LISTEN "${channel}"`);
      const before = inserts();
      await Promise.all(Array.from({ length: 64 }, (_, i) => app.queue.enqueue('batch.job', { i })));
      const statements = inserts() - before;
      // Notifications arrive in commit order: once this one is in, every earlier one is.
      await db.query('SELECT pg_notify($1, $2)', [channel, 'end']);
      await waitFor(() => received.includes('end'), { message: 'the closing notification' });
      expect(received.filter((p) => p !== 'end')).toHaveLength(statements);
      expect(statements).toBe(1);
    } finally {
      await listener.end();
    }
  });

  it('keeps keyed enqueues out of the batch, so dedupe and replace behave as for sequential calls', async () => {
    const before = inserts();
    const [a, keyed1, b, keyed2, keyed3] = await Promise.all([
      app.queue.enqueue('batch.job', { n: 0 }),
      app.queue.enqueue('batch.job', { v: 1 }, { jobKey: 'k', delayMs: 60_000 }),
      app.queue.enqueue('batch.job', { n: 1 }),
      app.queue.enqueue('batch.job', { v: 2 }, { jobKey: 'k', delayMs: 60_000 }),
      app.queue.enqueue('batch.job', { v: 3 }, { jobKey: 'k', jobKeyMode: 'replace', delayMs: 60_000 }),
    ]);
    // One statement per keyed job, one for the two unkeyed ones.
    expect(inserts() - before).toBe(4);
    expect(new Set([keyed1.id, keyed2.id, keyed3.id]).size).toBe(1);
    inCallOrder([a.id, b.id]);
    // Whatever order the keyed statements ran in, the replace is the only one that rewrites the job.
    const keyed = await db.query(`SELECT payload FROM ${db.schema}.jobs WHERE job_key = 'k' AND status = 'pending'`);
    expect(keyed).toEqual([{ payload: { v: 3 } }]);
  });

  it("leaves a transactional enqueue in the caller's transaction, outside any batch", async () => {
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      const before = inserts();
      const [inTransaction, ...others] = await Promise.all([
        app.queue.enqueue('batch.job', { tx: true }, { client }),
        ...Array.from({ length: 8 }, (_, i) => app.queue.enqueue('batch.job', { i })),
      ]);
      expect(inserts() - before).toBe(1); // the batch of 8; the transactional one went through the caller's client
      expect(await storedIds()).toEqual(others.map((j) => j.id)); // committed, while the caller's job is not yet
      await client.query('ROLLBACK');
      expect(await app.queue.getJob(inTransaction.id)).toBeNull();
    } finally {
      client.release();
    }
  });

  it('returns each job exactly as getJob then reads it, whatever its options, on every unkeyed path', async () => {
    const options = [
      {},
      { priority: -0, maxAttempts: 7 },
      { runAt: new Date('2031-05-06T07:08:09.123Z'), queue: 'line:1' },
      { delayMs: 1500.5, priority: -(2 ** 31) },
    ];
    const payloads = [null, { z: 1, a: [true, 'é😀', -0], nested: { deep: null } }, 'text', 2 ** 53 - 1];
    const batched = await Promise.all(options.map((o, i) => app.queue.enqueue('batch.job', payloads[i], o)));
    const many = await app.queue.enqueueMany(options.map((o, i) => ({ type: 'batch.job', payload: payloads[i], ...o })));
    const client = await db.admin.connect();
    let transactional;
    try {
      transactional = await Promise.all(options.map((o, i) => app.queue.enqueue('batch.job', payloads[i], { ...o, client })));
    } finally {
      client.release();
    }
    for (const job of [...batched, ...many, ...transactional]) expect(await app.queue.getJob(job.id)).toEqual(job);
    expect(batched.map((j) => [j.priority, j.status, j.attempts, j.progress, j.jobKey])).toEqual([
      [100, 'pending', 0, 0, null],
      [0, 'pending', 0, 0, null],
      [100, 'pending', 0, 0, null],
      [-(2 ** 31), 'pending', 0, 0, null],
    ]);
  });

  it('writes enqueues accepted before shutdown', async () => {
    const closing = await startQueueApp(db, { worker: { enabled: false } });
    const accepted = Promise.all(Array.from({ length: 16 }, (_, i) => closing.queue.enqueue('batch.job', { i })));
    await closing.close();
    const jobs = await accepted;
    expect(await storedIds()).toEqual(jobs.map((j) => j.id));
  });
});
