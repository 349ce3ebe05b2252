import { Injectable } from '@nestjs/common';
import { JobHandler } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { statusOf } from '../support/jobs';
import { startQueueApp, type QueueApp } from '../support/queue-app';

@Injectable()
class NoopHandlers {
  @JobHandler('noop')
  async noop() {}
}

describe('LISTEN/NOTIFY wake-up', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A poll floor of a minute: whatever runs within seconds was woken by a notification or a reconnect catch-up.
    app = await startQueueApp(db, { providers: [NoopHandlers], worker: { pollIntervalMs: 60_000 } });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const listenerPids = () =>
    db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, [
      new URL(db.url).searchParams.get('application_name'),
    ]);
  const completed = async (id: string) => (await statusOf(app.queue, id)) === 'completed';

  it('wakes an idle worker on enqueue', async () => {
    const job = await app.queue.enqueue('noop', {});
    await waitFor(() => completed(job.id), { timeoutMs: 5000 });
  });

  it('reconnects after its connection is killed, catches up on what it missed, and wakes on NOTIFY again', async () => {
    const [before] = await listenerPids();
    expect(before).toBeDefined();
    await db.query('SELECT pg_terminate_backend($1)', [before.pid]);
    const missed = await app.queue.enqueue('noop', {}); // its NOTIFY may reach nobody
    await waitFor(() => completed(missed.id), { timeoutMs: 8000, message: 'catch-up poll after reconnect' });
    await waitFor(async () => (await listenerPids()).some((p) => p.pid !== before.pid), { message: 'a new LISTEN connection' });
    const after = await app.queue.enqueue('noop', {});
    await waitFor(() => completed(after.id), { timeoutMs: 5000, message: 'woken by NOTIFY on the new connection' });
  });
});
