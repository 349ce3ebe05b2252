import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { countJobs, jobRows } from '../support/jobs';
import { useQueueApps } from '../support/queue-app';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const LEASE_MS = 2000;

describe('a worker killed with SIGKILL mid-job', () => {
  let db: TestDatabase;
  const processes: WorkerProcess[] = [];
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const p of processes) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    await db?.close();
  });

  it('has its running jobs recovered by another worker within the lease, the lost attempt counted', async () => {
    const env = { DATABASE_URL: db.url, SCHEMA: db.schema, LEASE_MS: String(LEASE_MS), CONCURRENCY: '6', HANDLER_CONCURRENCY: '2' };
    const victim = await startWorkerProcess(env);
    processes.push(victim);
    await db.query(`CREATE TABLE ${db.schema}.ledger (job_id bigint, attempt int, pid int, at timestamptz DEFAULT clock_timestamp())`);

    const producer = await apps.start(db, { worker: { enabled: false } });
    const jobs = await producer.queue.enqueueMany(Array.from({ length: 6 }, () => ({ type: 'ledger.work', payload: { holdMs: 60_000 } })));
    const ids = jobs.map((j) => j.id);
    await waitFor(
      async () => {
        const running = await countJobs(db, "status = 'running' AND id = ANY($1::bigint[])", [ids]);
        const [{ started }] = await db.query<{ started: number }>(`SELECT count(*)::int AS started FROM ${db.schema}.ledger`);
        return running === 2 && started === 2;
      },
      { message: 'victim claimed and started two, its handler concurrency' },
    );

    victim.child.kill('SIGKILL');
    await victim.exited;
    await db.query(`UPDATE ${db.schema}.jobs SET payload = '{"holdMs": 0}' WHERE id = ANY($1::bigint[])`, [ids]);

    const rescuer = await startWorkerProcess({ ...env, HANDLER_CONCURRENCY: '6' });
    processes.push(rescuer);
    // Bound: the lease, plus the rescuer's interval (half a lease), plus a poll and some slack.
    await waitFor(async () => (await jobRows(db, ['status'], ids)).every((r) => r.status === 'completed'), {
      timeoutMs: LEASE_MS * 2 + 3000,
      message: 'all six recovered and completed by the second worker',
    });

    const final = await db.query<{ id: string; attempts: number; result: { pid: number } }>(
      `SELECT id::text, attempts, result FROM ${db.schema}.jobs WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    final.forEach((job) => expect(job.result.pid).toBe(rescuer.child.pid));
    // A recovery counts as an attempt: the two the victim ran are on their second; the rest ran once.
    const victimRan = new Set(
      (await db.query<{ job_id: string }>(`SELECT job_id::text FROM ${db.schema}.ledger WHERE pid = $1`, [victim.child.pid])).map(
        (l) => l.job_id,
      ),
    );
    expect(victimRan.size).toBe(2);
    expect(final.map((j) => j.attempts)).toEqual(final.map((j) => (victimRan.has(j.id) ? 2 : 1)));
    const ledger = await db.query<{ job_id: string; pid: number }>(`SELECT job_id::text, pid FROM ${db.schema}.ledger`);
    expect(ledger.filter((l) => l.pid === victim.child.pid)).toHaveLength(2);
    expect(ledger.filter((l) => l.pid === rescuer.child.pid)).toHaveLength(6);

    // Nest's shutdown hooks drain and then re-raise the signal.
    rescuer.child.kill('SIGTERM');
    expect(await rescuer.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
