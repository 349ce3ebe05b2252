import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRows } from '../support/jobs';
import { gate, useQueueApps } from '../support/queue-app';

const started: string[] = [];
let hold = gate<void>();

@Injectable()
class SlotHandlers {
  @JobHandler('slot.work')
  async work(payload: { hold?: boolean }, ctx: JobContext) {
    started.push(ctx.job.id);
    if (payload.hold) await hold.opened;
  }
}

describe('worker slots', () => {
  let db: TestDatabase;

  // A held handler would hold up its app's shutdown: the gate opens before the apps close.
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  beforeEach(async () => {
    started.length = 0;
    hold = gate<void>();
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  const statuses = async (ids: string[]) => (await jobRows(db, ['status', 'attempts'], ids)).map((row) => `${row.status}/${row.attempts}`);

  it('frees a slot when the handler returns, while its outcome is still being written', async () => {
    const app = await apps.start(db, { providers: [SlotHandlers], worker: { concurrency: 1, leaseMs: 10_000 } });
    const locker = new Client({ connectionString: db.url });
    apps.defer(() => locker.end().catch(() => undefined)); // before the app closes: it may wait on the lock
    const first = await app.queue.enqueue('slot.work', { hold: true });
    await waitFor(() => started.includes(first.id));
    // Hold the first job's row, so writing its outcome waits.
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${db.schema}.jobs WHERE id = $1 FOR UPDATE`, [first.id]);
    const second = await app.queue.enqueue('slot.work', {});

    hold.open();
    await waitFor(() => started.includes(second.id), { message: 'the second job started in the freed slot' });
    expect(await statuses([first.id])).toEqual(['running/1']);

    await locker.query('ROLLBACK');
    await waitFor(async () => (await statuses([first.id, second.id])).every((s) => s === 'completed/1'));
  });

  it('prefetch claims jobs ahead of free slots, and hands back the unstarted ones at shutdown', async () => {
    const app = await apps.start(db, { providers: [SlotHandlers], worker: { concurrency: 2, prefetch: 2 } });
    const jobs = await app.queue.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ type: 'slot.work', payload: { i, hold: true } })));
    const ids = jobs.map((j) => j.id);
    await waitFor(async () => started.length === 2 && (await statuses(ids)).filter((s) => s === 'running/1').length === 4, {
      message: 'two running and two more claimed ahead',
    });
    expect((await statuses(ids)).filter((s) => s === 'pending/0')).toHaveLength(2);

    const closing = app.close();
    await waitFor(async () => (await statuses(ids)).filter((s) => s === 'pending/0').length === 4, {
      message: 'the two prefetched jobs handed back, their attempt refunded',
    });
    hold.open();
    await closing;
    expect(started).toHaveLength(2);
    expect((await statuses(ids)).filter((s) => s === 'completed/1')).toHaveLength(2);
  });
});
