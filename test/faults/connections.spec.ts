/**
 * Faults around connections: the LISTEN connection killed by the server, a pool far smaller than the worker's
 * concurrency shared with the handlers, and a long transaction elsewhere holding back vacuum.
 */
import type { PoolClient } from 'pg';
import { waitFor } from '../support/database';
import { expectHealthy } from './support/ledger';
import { TcpProxy } from '../support/tcp-proxy';
import { note, openScene, type Scene } from './support/scene';

describe('faults: connections', () => {
  let scene: Scene;

  beforeEach(async () => {
    scene = await openScene();
  });
  afterEach(async () => {
    await scene?.close();
  });

  /** Milliseconds from enqueue to the handler's start (database clock on both ends). */
  async function wakeLatency(timeoutMs: number): Promise<number> {
    const [id] = await scene.enqueueN(1, 'fault.other', {});
    await waitFor(async () => (await scene.ledger("event = 'start' AND job_id = $1", [id])).length === 1, {
      timeoutMs,
      intervalMs: 10,
      message: `job ${id} started`,
    });
    const [start] = await scene.ledger("event = 'start' AND job_id = $1", [id]);
    const [job] = await scene.jobs([id]);
    return start.at.getTime() - job.created_at.getTime();
  }

  it('LISTEN connection terminated by the server: polling keeps jobs moving, the listener comes back, wake-ups are fast again', async () => {
    const POLL_MS = 2500; // the poll floor is slow: a fast start means a notification woke the worker
    const worker = await scene.fleet.start({ POLL_MS, CONCURRENCY: 4 });
    const listeners = () =>
      scene.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query LIKE $1`, [`LISTEN "${scene.schema}:%`]);
    await waitFor(async () => (await listeners()).length === 1, { message: 'one LISTEN connection' });
    const before = [await wakeLatency(5000), await wakeLatency(5000), await wakeLatency(5000)];
    expect(Math.max(...before)).toBeLessThan(700);

    // The outage: every LISTEN connection is terminated as soon as it shows up.
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop) {
        const [{ n }] = await scene.db.query<{ n: number }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE $1`,
          [`LISTEN "${scene.schema}:%`],
        );
        kills += n;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    try {
      await waitFor(() => kills >= 1, { message: 'the LISTEN connection was terminated' });
      const during = await scene.enqueueN(6, 'fault.work', {});
      await scene.settled(during, 2 * POLL_MS + 3000);
      expect(kills).toBeGreaterThanOrEqual(2); // it kept reconnecting, and kept being killed
    } finally {
      stop = true;
      await killer;
    }

    await waitFor(async () => (await listeners()).length === 1, { timeoutMs: 8000, message: 'the listener reconnected' });
    const after = [await wakeLatency(5000), await wakeLatency(5000), await wakeLatency(5000)];
    expect(Math.max(...after)).toBeLessThan(700);
    expect(worker.alive).toBe(true); // recovered without a process restart
    expect(worker.output()).toContain('LISTEN connection lost');

    await scene.settled();
    const report = await scene.analyze();
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });

  // Regression: the scheduler and the migrator hold a pooled client for a transaction, and pg-pool drops its 'error'
  // listener while a client is checked out; a server ending that connection crashed the worker (lib/db/in-transaction.ts).
  it('a connection the server terminates while the worker holds it in a transaction does not crash the worker', async () => {
    const worker = await scene.fleet.start({ CONCURRENCY: 2, POLL_MS: 100 });
    // Hold the scheduler's table: its next transaction waits inside a checked-out client.
    const blocker = await scene.db.admin.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${scene.schema}".schedules IN ACCESS EXCLUSIVE MODE`);
      let victim: number | undefined;
      await waitFor(
        async () => {
          const rows = await scene.db.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE SKIP LOCKED%' AND query LIKE $1`,
            [`%"${scene.schema}".schedules%`],
          );
          victim = rows[0]?.pid;
          return victim !== undefined;
        },
        { message: 'the worker waits in a transaction on a pooled connection' },
      );
      await scene.db.query('SELECT pg_terminate_backend($1)', [victim]);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    // The worker goes on: it still takes work. (A crashed one never completes this job.)
    const [id] = await scene.enqueueN(1, 'fault.other', {});
    await waitFor(async () => !worker.alive || (await scene.jobs([id]))[0].status === 'completed', { message: 'the job ran' });
    expect(worker.output()).not.toContain("Unhandled 'error' event");
    expect(worker.alive).toBe(true);
  });

  it('pool max 3 shared by the queue and 16 concurrent handlers using it: no deadlock, no leaked connection, no lost lease', async () => {
    const POOL_MAX = 3;
    const worker = await scene.fleet.start({ POOL_MAX, CONCURRENCY: 16, LEASE_MS: 2000, STATS_MS: 100 });
    const ids = await scene.enqueueN(64, 'fault.work', { poolWork: { ms: 20 }, followUp: true });
    await scene.settled(ids, 40_000);
    await scene.settled(undefined, 10_000); // and their follow-ups

    type Stats = { total: number; idle: number; waiting: number; maxTotal: number; maxWaiting: number };
    let stats: Stats | undefined;
    await waitFor(
      async () => {
        const rows = await scene.ledger("event = 'stats' AND pid = $1", [worker.pid]);
        stats = rows.at(-1)?.detail as Stats | undefined;
        return stats !== undefined && stats.waiting === 0 && stats.idle === stats.total;
      },
      { message: 'every pooled connection back in the pool, nobody waiting' },
    );
    expect(stats!.maxTotal).toBeLessThanOrEqual(POOL_MAX);
    expect(stats!.maxWaiting).toBeGreaterThan(0); // the pool really was contended

    // Server side: of the connections the pool ever opened, at most POOL_MAX are open; plus one LISTEN connection.
    const backends = (await scene.ledger("event = 'conn' AND pid = $1", [worker.pid])).map((r) => r.detail?.backend as number);
    const open = await scene.db.query(`SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])`, [backends]);
    expect(open.length).toBeLessThanOrEqual(POOL_MAX);
    const listeners = await scene.db.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE $1`, [`LISTEN "${scene.schema}:%`]);
    expect(listeners).toHaveLength(1);

    const report = await scene.analyze();
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
    expect((await scene.jobs(ids)).every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);
  });

  // Was a defect (fix: /tmp/fault-fixes/control-plane-pool.patch, applied in the working tree): heartbeats and lease
  // recovery ran on the application's pool, the one handlers use. Handlers holding every pooled connection for
  // longer than a lease starved the heartbeat; the leases expired and another worker ran all 8 jobs a second time
  // while the first runs were still going (8 duplicates, 8 overlaps). Heartbeats keep a pool of their own for that reason.
  it('handlers holding every pooled connection longer than a lease: heartbeats still get through, nothing runs twice', async () => {
    const LEASE_MS = 1000;
    await scene.fleet.start({ POOL_MAX: 3, CONCURRENCY: 8, LEASE_MS });
    const ids = await scene.enqueueN(8, 'fault.work', { poolWork: { ms: 1500 } }); // 8 x 1.5 s on 3 connections
    await waitFor(async () => (await scene.ledger("event = 'start'")).length === 8, { message: 'all eight running' });
    await scene.fleet.start({ LEASE_MS, CONCURRENCY: 8 }); // a healthy worker, ready to recover any expired lease
    await scene.settled(ids, 30_000);

    const report = await scene.analyze();
    note('starved pool', report.summary());
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });

  it('a long transaction holding back vacuum: the queue keeps working', async () => {
    await scene.fleet.start({ CONCURRENCY: 8 });
    const holder: PoolClient = await scene.db.admin.connect();
    const vacuum: PoolClient = await scene.db.admin.connect();
    const info: string[] = [];
    vacuum.on('notice', (notice) => info.push(String(notice.message)));
    const deadButNotRemovable = async () => {
      info.length = 0;
      await vacuum.query(`VACUUM (VERBOSE) "${scene.schema}".jobs`);
      const line = info.find((m) => /are dead but not yet removable/.test(m)) ?? '';
      return Number(/(\d+) are dead but not yet removable/.exec(line)?.[1] ?? NaN);
    };
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query(`SELECT count(*) FROM "${scene.schema}".jobs`); // takes the snapshot: its xmin holds vacuum back
      const {
        rows: [{ pid: holderPid }],
      } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const [{ backend_xmin }] = await scene.db.query<{ backend_xmin: string | null }>(
        'SELECT backend_xmin::text FROM pg_stat_activity WHERE pid = $1',
        [holderPid],
      );
      expect(backend_xmin).not.toBeNull();

      const timings: number[] = [];
      for (let round = 0; round < 3; round++) {
        const started = Date.now();
        const ids = await scene.enqueueN(100, 'fault.other', {});
        await scene.settled(ids, 20_000);
        timings.push(Date.now() - started);
      }
      // The fault was real: vacuum found the queue's dead rows and could not remove them.
      expect(await deadButNotRemovable()).toBeGreaterThan(100);
      // Each round of 100 jobs still finished promptly while the snapshot was held.
      expect(Math.max(...timings)).toBeLessThan(15_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
    try {
      expect(await deadButNotRemovable()).toBe(0); // released: the same rows are removable now
    } finally {
      vacuum.release();
    }
    const report = await scene.analyze();
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });

  // Issue 12: claims and outcome writes on connections that went silent waited forever, and SIGTERM did not end the process.
  it('SIGTERM ends a worker whose connections all went silent, within the shutdown deadline rather than the lease', async () => {
    const { proxy, url } = await TcpProxy.start(scene.db.url);
    let stallNew: NodeJS.Timeout | undefined;
    try {
      const worker = await scene.fleet.start({ DATABASE_URL: url, LEASE_MS: 20_000, SHUTDOWN_MS: 1000, CONCURRENCY: 2 });
      const [id] = await scene.enqueueN(1, 'fault.work', { gate: 'silent' });
      await waitFor(async () => (await scene.ledger("event = 'start' AND job_id = $1", [id])).length === 1, { message: 'the job started' });
      proxy.stall();
      stallNew = setInterval(() => proxy.stall(), 5); // connections opened from now on go silent too
      scene.gates.open('silent'); // its completion goes to a silent connection
      const signalled = Date.now();
      worker.kill('SIGTERM');
      await waitFor(() => !worker.alive, { timeoutMs: 20_000, intervalMs: 20, message: 'the worker exited' });
      note('exit after SIGTERM (ms)', Date.now() - signalled);
      // shutdownTimeoutMs 1000, 2 s for the last writes, closing the listener and the heartbeat pool (2 s each).
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(worker.output()).toMatch(new RegExp(`#${id}\\b.*lease`)); // the log names the job left to its lease
    } finally {
      clearInterval(stallNew);
      await proxy.close();
    }
  });
});
