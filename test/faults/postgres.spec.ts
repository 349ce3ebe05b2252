/**
 * Faults of PostgreSQL itself, on a server this file owns (test/faults/support/owned-postgres.ts), never the
 * shared one: a restart under load, a server that is not there yet when the app boots, and one that refuses the
 * password.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { Pool } from 'pg';
import { DatabaseAccessError, PgQueueModule, QueueService } from '../../lib';
import { waitFor } from '../support/database';
import { Fleet, Gates } from './support/fleet';
import { analyzeLedger, expectHealthy, installAudit, installLedger } from './support/ledger';
import { OwnedPostgres } from './support/owned-postgres';
import { note } from './support/scene';
import { rejectionOf } from '../support/jobs';

describe('faults: PostgreSQL restarts and absences', () => {
  let pg: OwnedPostgres;
  let admin: Pool;
  const gates = new Gates();
  const fleets: Fleet[] = [];
  const producers: TestingModule[] = [];

  beforeAll(async () => {
    pg = await OwnedPostgres.create();
    await pg.start();
    admin = new Pool({ connectionString: pg.url, max: 3 });
    admin.on('error', () => undefined); // its idle connections die with every stop
  });
  afterAll(async () => {
    for (const fleet of fleets) await fleet.killAll();
    for (const producer of producers) await producer.close();
    await admin?.end();
    await pg?.quit();
    gates.remove();
  });

  async function producerFor(schema: string): Promise<QueueService> {
    const module = await Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ connectionString: pg.url, schema, worker: { enabled: false } })],
    }).compile();
    await module.init();
    producers.push(module);
    return module.get(QueueService);
  }

  function fleetFor(schema: string): Fleet {
    const fleet = new Fleet(admin, { DATABASE_URL: pg.url, LEDGER_URL: pg.url, SCHEMA: schema, GATE_DIR: gates.dir });
    fleets.push(fleet);
    return fleet;
  }

  const openJobs = async (schema: string) =>
    Number(
      (await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs WHERE status IN ('pending', 'running')`)).rows[0].n,
    );

  it('a wrong password (28P01): the bootstrap fails at once with DatabaseAccessError, instead of waiting', async () => {
    const url = Object.assign(new URL(pg.url), { password: 'not-the-password' }).toString();
    const attempt = Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ connectionString: url, schema: 'wrong_password', worker: { enabled: false } })],
    }).compile();
    const error = await rejectionOf(attempt);
    expect(error).toBeInstanceOf(DatabaseAccessError);
    expect(error.message).toMatch(/password authentication failed for user "postgres" \(SQLSTATE 28P01\)/);
    expect(error.message).not.toContain('not-the-password');
    expect(error.cause).toMatchObject({ code: '28P01' });
  });

  // Regression: the restart used to end the scheduler's in-transaction connection and crash the worker (fixed by lib/db/in-transaction.ts).
  it('restarted under load: workers recover without a process restart, nothing is lost, nothing is written stale', async () => {
    const schema = 'restart_under_load';
    await installLedger(admin, schema);
    const queue = await producerFor(schema);
    await installAudit(admin, schema);
    const fleet = fleetFor(schema);
    const env = { CONCURRENCY: 8, LEASE_MS: 2000 };
    const workers = [fleet.spawn(env), fleet.spawn(env)];
    await Promise.all(workers.map((w) => w.ready));

    const before = await queue.enqueueMany(Array.from({ length: 200 }, () => ({ type: 'fault.work', payload: { sleepMs: 100 } })));
    await waitFor(async () => (await admin.query(`SELECT 1 FROM "${schema}".jobs WHERE status = 'completed'`)).rowCount! >= 40, {
      message: 'the load is under way',
    });
    const downAt = Date.now();
    await pg.stop(); // fast shutdown: every connection of the workers, the listener and the producer is cut
    await pg.start();
    const backAt = Date.now();
    note('PostgreSQL down for', `${backAt - downAt} ms`);

    // The producer's pool reconnects on its own; new work is taken by the same worker processes.
    let after: string[] = [];
    await waitFor(
      async () => {
        after = (await queue.enqueueMany(Array.from({ length: 50 }, () => ({ type: 'fault.work', payload: {} })))).map((j) => j.id);
        return true;
      },
      { timeoutMs: 10_000, message: 'enqueue works again' },
    );
    await waitFor(async () => (await openJobs(schema)) === 0, { timeoutMs: 30_000, message: 'every job settled' });
    // Recovered without a process restart (a dead worker's output says why it died).
    expect(workers.filter((w) => !w.alive).map((w) => w.output().slice(-3000))).toEqual([]);

    const report = await analyzeLedger(admin, schema);
    // Only a job whose run was in flight while the server was away may have run twice.
    const inFlight = report.runs
      .filter((r) => r.startedAt.getTime() < backAt && (r.endedAt === null || r.endedAt.getTime() >= downAt - 100))
      .map((r) => r.jobId);
    note('restart under load', `${report.summary()}; runs in flight at the outage: ${inFlight.length}`);
    expectHealthy(report, { duplicatesAllowed: inFlight });
    const ids = [...before.map((j) => j.id), ...after];
    const { rows } = await admin.query<{ status: string }>(`SELECT status FROM "${schema}".jobs WHERE id = ANY($1::bigint[])`, [ids]);
    expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
  });

  // Was a defect (fix: /tmp/fault-fixes/boot-retry.patch, applied in the working tree): openQueueDatabase ran the
  // migration once; a refused connection failed the Nest bootstrap and the process exited, so a fleet started
  // before its database crash-looped instead of waiting.
  it('not reachable when the app boots: the app retries with backoff and starts working once it is up', async () => {
    const schema = 'unreachable_at_boot';
    await installLedger(admin, schema);
    await pg.stop();
    const fleet = fleetFor(schema);
    const worker = fleet.spawn({ CONCURRENCY: 2 });
    try {
      // It must stay up and keep trying while PostgreSQL is away, instead of exiting.
      await waitFor(() => !worker.alive || /ECONNREFUSED|not reachable/i.test(worker.output()), {
        timeoutMs: 20_000,
        message: 'the worker tried to connect',
      });
      expect(worker.alive).toBe(true);
    } finally {
      await pg.start();
    }
    await worker.ready;
    // The wait is logged once, when it begins, not once per retry. (Its end is logged at the `log` level, which this
    // worker does not print; test/faults/boot.spec.ts sees it.)
    expect(worker.output().match(/not reachable/g)).toHaveLength(1);
    await installAudit(admin, schema);
    const queue = await producerFor(schema);
    const jobs = await queue.enqueueMany(Array.from({ length: 5 }, () => ({ type: 'fault.work', payload: {} })));
    await waitFor(async () => (await openJobs(schema)) === 0, { timeoutMs: 15_000, message: 'the jobs ran' });
    const report = await analyzeLedger(admin, schema);
    expectHealthy(report);
    expect(report.runs.map((r) => r.pid)).toEqual(jobs.map(() => worker.pid));
  });
});
