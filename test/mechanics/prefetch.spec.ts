import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { gate, useQueueApps } from '../support/queue-app';

const started: Array<{ id: string; type: string }> = [];
let inFlight = 0;
let mostInFlight = 0;
let hold = gate<void>();

@Injectable()
class AheadHandlers {
  @JobHandler('ahead.quick')
  async quick() {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
  }

  @JobHandler('ahead.held')
  async held(_payload: unknown, ctx: JobContext) {
    started.push({ id: ctx.job.id, type: ctx.job.type });
    await hold.opened;
  }

  @JobHandler('ahead.other')
  async other(_payload: unknown, ctx: JobContext) {
    started.push({ id: ctx.job.id, type: ctx.job.type });
    await hold.opened;
  }
}

describe('claiming ahead of free slots', () => {
  let db: TestDatabase;

  // A held handler would hold up its app's shutdown: the gate opens before the apps close.
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  beforeEach(async () => {
    started.length = 0;
    inFlight = 0;
    mostInFlight = 0;
    hold = gate<void>();
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const countByStatus = (status: string) => countJobs(db, 'status = $1', [status]);

  it("with the default prefetch ('auto'), claims ahead for handlers that start jobs quickly, never running more than the concurrency", async () => {
    const producer = await apps.start(db, { worker: { enabled: false } });
    // Records how many jobs each claim statement took: the statement that moves rows from pending to running.
    await db.query(`
      CREATE TABLE ${db.schema}.claim_sizes (claimed int NOT NULL);
      CREATE FUNCTION ${db.schema}.log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ${db.schema}.claim_sizes
          SELECT count(*) FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status = 'pending' AND n.status = 'running'
          HAVING count(*) > 0;
        RETURN NULL;
      END $$;
      CREATE TRIGGER log_claim AFTER UPDATE ON ${db.schema}.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION ${db.schema}.log_claim();`);
    await producer.queue.enqueueMany(Array.from({ length: 3000 }, (_, i) => ({ type: 'ahead.quick', payload: { i } })));
    await producer.close();

    await apps.start(db, { providers: [AheadHandlers], worker: { concurrency: 2 } });
    await waitFor(async () => (await countByStatus('completed')) === 3000, { timeoutMs: 60_000, message: 'all 3,000 jobs completed' });
    const sizes = (await db.query<{ claimed: number }>(`SELECT claimed FROM ${db.schema}.claim_sizes`)).map((r) => r.claimed);
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(3000);
    expect(Math.max(...sizes)).toBeGreaterThan(2);
    expect(sizes.length).toBeLessThan(1500);
    expect(mostInFlight).toBe(2);
  });

  it("with the default prefetch ('auto'), claims nothing ahead for slow handlers: a later higher-priority job starts next", async () => {
    const app = await apps.start(db, { providers: [AheadHandlers], worker: { concurrency: 1 } });
    const early = await app.queue.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'ahead.held', payload: { i }, priority: 100 })));
    await waitFor(() => started.length === 1);
    expect(await countByStatus('running')).toBe(1);
    const urgent = await app.queue.enqueue('ahead.held', {}, { priority: 200 });

    const first = hold;
    hold = gate<void>();
    first.open();
    await waitFor(() => started.length === 2, { message: 'the next job started' });
    expect(started.map((s) => s.id)).toEqual([early[0].id, urgent.id]);
  });

  it('claimed ahead across types, still runs no more jobs at once than the worker concurrency', async () => {
    const producer = await apps.start(db, { worker: { enabled: false } });
    await producer.queue.enqueueMany([
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'ahead.held', payload: { i } })),
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'ahead.other', payload: { i } })),
    ]);
    await producer.close();
    await apps.start(db, { providers: [AheadHandlers], worker: { concurrency: 2, prefetch: 4 } });
    // The first claim takes all six (two slots, four ahead) and starts what it may in the same turn of the event loop.
    await waitFor(() => started.length >= 2);
    expect(started).toHaveLength(2);
    expect(await countByStatus('running')).toBe(6);
  });
});
