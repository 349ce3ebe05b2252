/**
 * SIGTERM to a real worker process (a Nest app with enableShutdownHooks): the graceful drain, and the second stage
 * when handlers ignore the shutdown deadline. Checked against the ledger and the jobs table's audit trail.
 */
import { waitFor } from '../support/database';
import { expectHealthy } from './support/ledger';
import { openScene, type Scene } from './support/scene';

describe('faults: SIGTERM', () => {
  let scene: Scene;

  beforeEach(async () => {
    scene = await openScene();
  });
  afterEach(async () => {
    await scene?.close();
  });

  it('drains: no claim after the signal, unstarted jobs handed back, heartbeats until the last job settles, exits in time', async () => {
    const LEASE_MS = 1200;
    const env = { LEASE_MS, CONCURRENCY: 6, HANDLER_CONCURRENCY: 2, SHUTDOWN_MS: 30_000 };
    const draining = await scene.fleet.start(env);
    // Running jobs enqueue a follow-up through QueueService once released: the producer must outlive the drain.
    const held = await scene.enqueueN(6, 'fault.work', { gate: 'finish', followUp: true });
    // Two start (handler concurrency 2); a claim bounded by free slots across types also takes four that wait.
    await waitFor(
      async () => {
        const claimed = (await scene.jobs(held)).filter((j) => j.status === 'running').length;
        return (await scene.ledger("event = 'start'")).length === 2 && (claimed === 6 || claimed === 2);
      },
      { message: 'two started, the claim complete' },
    );
    const running = (await scene.ledger("event = 'start'")).map((r) => r.job_id as string);
    const unstarted = held.filter((id) => !running.includes(id)); // claimed but unstarted, or never claimed

    draining.kill('SIGTERM');
    await waitFor(async () => (await scene.ledger("event = 'sigterm'")).length === 1, { message: 'the signal was received' });
    const [{ at: signalAt }] = await scene.ledger("event = 'sigterm'");
    await waitFor(async () => (await scene.jobs(unstarted)).every((j) => j.status === 'pending' && j.attempts === 0), {
      message: 'unstarted jobs handed back without using an attempt',
    });
    // Claimable work appears after the signal: a draining worker must not take it.
    const late = await scene.enqueueN(4, 'fault.other', {});

    // Heartbeats keep the running jobs' leases alive past a whole lease after the signal (else they would expire).
    await waitFor(
      async () =>
        (await scene.jobs(running)).every(
          (j) => j.status === 'running' && j.lease_expires_at!.getTime() > signalAt.getTime() + 2 * LEASE_MS,
        ),
      { timeoutMs: 3 * LEASE_MS + 3000, message: 'leases extended by heartbeats more than a lease after the signal' },
    );
    expect(draining.alive).toBe(true);
    const claimsAfterSignal = (await scene.analyze({ ignore: () => true })).audit.filter(
      (a) => a.new_status === 'running' && a.writer_pid === draining.pid && a.at.getTime() >= signalAt.getTime(),
    );
    expect(claimsAfterSignal).toEqual([]);
    expect((await scene.jobs([...unstarted, ...late])).map((j) => [j.status, j.attempts])).toEqual(
      [...unstarted, ...late].map(() => ['pending', 0]),
    );

    const releasedAt = Date.now();
    scene.gates.open('finish');
    expect(await draining.exited).toEqual({ code: null, signal: 'SIGTERM' }); // Nest re-raises the signal after its hooks
    expect(Date.now() - releasedAt).toBeLessThan(3000);
    for (const job of await scene.jobs(running)) {
      expect(job).toMatchObject({ status: 'completed', attempts: 1 });
      expect(job.result?.pid).toBe(draining.pid);
    }
    const followUps = await scene.db.query(`SELECT id FROM "${scene.schema}".jobs WHERE type = 'fault.other' AND payload ? 'after'`);
    expect(followUps).toHaveLength(2);

    // A fresh worker runs everything that was handed back or enqueued meanwhile, each exactly once.
    await scene.fleet.start(env);
    await scene.settled(undefined, 15_000);
    for (const job of await scene.jobs(unstarted)) expect(job).toMatchObject({ status: 'completed', attempts: 1 });
    const report = await scene.analyze();
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });

  it('second stage: handlers that ignore the deadline have their signals aborted at shutdownTimeoutMs, are handed back, and the process exits', async () => {
    const SHUTDOWN_MS = 500;
    const stubborn = await scene.fleet.start({ LEASE_MS: 1500, CONCURRENCY: 4, SHUTDOWN_MS });
    const held = await scene.enqueueN(3, 'fault.work', { gate: 'later', ignoreAbort: true });
    await waitFor(async () => (await scene.ledger("event = 'start'")).length === 3, { message: 'three running' });

    const signalledAt = Date.now();
    stubborn.kill('SIGTERM');
    expect(await stubborn.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const elapsed = Date.now() - signalledAt;
    expect(elapsed).toBeGreaterThanOrEqual(SHUTDOWN_MS - 50);
    expect(elapsed).toBeLessThan(SHUTDOWN_MS + 2500);

    const events = await scene.ledger('job_id IS NOT NULL');
    for (const id of held) {
      expect(events.filter((e) => e.job_id === id).map((e) => [e.event, e.detail?.reason])).toEqual([
        ['start', undefined],
        ['abort', 'WorkerShutdownError'],
      ]);
    }
    // Handed back: pending again (not failed), no lease left behind, at most the interrupted attempt counted.
    const handedBack = await scene.jobs(held);
    for (const job of handedBack) {
      expect(job).toMatchObject({ status: 'pending', locked_by: null });
      expect(job.attempts).toBeLessThanOrEqual(1);
    }

    scene.gates.open('later');
    const next = await scene.fleet.start({ LEASE_MS: 1500, CONCURRENCY: 4 });
    await scene.settled(held, 10_000);
    for (const [i, job] of (await scene.jobs(held)).entries()) {
      expect(job).toMatchObject({ status: 'completed', attempts: handedBack[i].attempts + 1 });
      expect(job.result?.pid).toBe(next.pid);
    }
    const report = await scene.analyze();
    expectHealthy(report, { duplicatesAllowed: held });
    expect([...report.duplicates].sort()).toEqual([...held].sort());
  });
});
