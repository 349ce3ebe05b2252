/**
 * Faults that take a worker away while it holds jobs: SIGKILL, a job that kills its process every time, a handler
 * that blocks the event loop past its lease, and one that never settles. Real processes, real PostgreSQL; every
 * test checks the ledger (test/faults/support/ledger.ts): lost 0, stale writes 0, duplicates only where the fault hit.
 */
import { waitFor } from '../support/database';
import { expectHealthy } from './support/ledger';
import { note, openScene, type Scene } from './support/scene';

describe('faults: crashes and hung workers', () => {
  let scene: Scene;

  beforeEach(async () => {
    scene = await openScene();
  });
  afterEach(async () => {
    await scene?.close();
  });

  const lockedBy = async (ids: string[], pid: number) =>
    (await scene.jobs(ids)).filter((j) => j.locked_by?.includes(`:${pid}:`)).map((j) => j.id);

  it('SIGKILL with jobs running and claimed-but-unstarted: the other worker finishes them within the lease bound', async () => {
    const LEASE_MS = 1500;
    const env = { LEASE_MS, CONCURRENCY: 6, HANDLER_CONCURRENCY: 2 };
    const [victim, survivor] = [scene.fleet.spawn(env), scene.fleet.spawn(env)];
    await Promise.all([victim.ready, survivor.ready]);

    // Each process starts 2 (handler concurrency). A claim bounded by the process's free slots (6, across types)
    // takes 4 more that wait, claimed but unstarted; a claim bounded per type takes just the 2. Either way the
    // victim's claims must all come back.
    const held = await scene.enqueueN(12, 'fault.work', { gate: 'release' });
    await waitFor(
      async () => {
        const [mine, theirs, starts] = await Promise.all([
          lockedBy(held, victim.pid),
          lockedBy(held, survivor.pid),
          scene.ledger("event = 'start'"),
        ]);
        return starts.length === 4 && mine.length === theirs.length && (mine.length === 6 || mine.length === 2);
      },
      { message: 'each worker claimed its share and started 2' },
    );
    const victimJobs = await lockedBy(held, victim.pid);
    const victimStarted = (await scene.ledger("event = 'start' AND pid = $1", [victim.pid])).map((r) => r.job_id as string);
    const unstarted = victimJobs.filter((id) => !victimStarted.includes(id));
    expect(victimStarted).toHaveLength(2);
    note('SIGKILL victim', { claimed: victimJobs.length, started: victimStarted.length, unstarted: unstarted.length });

    victim.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = await victim.diedAt;
    scene.gates.open('release');
    const more = await scene.enqueueN(30, 'fault.other', {});

    await scene.settled([...held, ...more], LEASE_MS * 2 + 10_000);
    const recovered = await scene.jobs(victimJobs);
    // The lease, then the survivor's recovery interval (half a lease), then a claim and a short run.
    const bound = LEASE_MS + LEASE_MS / 2 + 1500;
    for (const job of recovered) {
      expect(job.status).toBe('completed');
      expect(job.result?.pid).toBe(survivor.pid);
      expect(job.attempts).toBe(2); // the recovery counted as an attempt
      expect(job.finished_at!.getTime() - killedAt.getTime()).toBeLessThan(bound);
    }

    const report = await scene.analyze();
    expectHealthy(report, { duplicatesAllowed: victimStarted });
    // Exactly the two the victim had started ran twice; its claimed-but-unstarted ones ran once, in the survivor.
    expect([...report.duplicates].sort()).toEqual([...victimStarted].sort());
    for (const id of unstarted) expect((report.runsByJob.get(id) ?? []).map((r) => r.pid)).toEqual([survivor.pid]);
    expect((await scene.jobs()).every((j) => j.status === 'completed')).toBe(true);
  });

  it('a job that kills its process every time (process.exit) is failed after a bounded number of recoveries', async () => {
    const env = { LEASE_MS: 1000, CONCURRENCY: 4 };
    await Promise.all([scene.fleet.spawn(env).ready, scene.fleet.spawn(env).ready]);
    const [poison] = await scene.enqueueN(1, 'fault.exit', {});
    const innocent = await scene.enqueueN(20, 'fault.work', {});

    // The test is the supervisor: it keeps two workers up, as an orchestrator restarts crashed containers.
    let restarts = 0;
    await waitFor(
      async () => {
        const alive = scene.fleet.workers.filter((w) => w.alive).length;
        for (let i = alive; i < 2 && restarts < 10; i++, restarts++) scene.fleet.spawn(env);
        const [row] = await scene.jobs([poison]);
        return row.status === 'failed';
      },
      { timeoutMs: 40_000, intervalMs: 50, message: `poison job failed for good\n${scene.fleet.outputs()}` },
    );
    await scene.settled(innocent);

    const [row] = await scene.jobs([poison]);
    expect(row.attempts).toBe(3); // fault.exit has maxAttempts 3
    expect(row.last_error).toMatch(/^Lease expired/);
    const poisonRuns = await scene.ledger("event = 'start' AND job_id = $1", [poison]);
    expect(poisonRuns).toHaveLength(3);
    expect(new Set(poisonRuns.map((r) => r.pid)).size).toBe(3); // each run took its process down
    const crashed = [];
    for (const w of scene.fleet.workers) if (!w.alive) crashed.push(await w.exited);
    expect(crashed).toEqual([
      { code: 1, signal: null },
      { code: 1, signal: null },
      { code: 1, signal: null },
    ]);
    expect((await scene.jobs(innocent)).every((j) => j.status === 'completed')).toBe(true);

    // Innocent jobs in flight in a process when it crashed may run again (even a handler that had returned, if its
    // completion was not written yet); nothing else may.
    const deadPids = new Set(poisonRuns.map((r) => r.pid));
    const report = await scene.analyze();
    const inFlightAtCrash = report.runs.filter((r) => deadPids.has(r.pid)).map((r) => r.jobId);
    expectHealthy(report, { duplicatesAllowed: inFlightAtCrash });
    note('poison', { restarts, duplicates: report.duplicates.length, inFlightAtCrash: inFlightAtCrash.length });
  });

  it('a handler that blocks the event loop longer than the lease: the job runs again elsewhere, the late completion is rejected', async () => {
    const env = { LEASE_MS: 1000, CONCURRENCY: 2 };
    await Promise.all([scene.fleet.spawn(env).ready, scene.fleet.spawn(env).ready]);
    // Attempt 1 blocks its process's event loop (no heartbeat can run) until the test opens `unblock`;
    // attempt 2, in the other process, holds until `rerun`, so it is running when attempt 1 comes back.
    const [id] = await scene.enqueueN(1, 'fault.work', { blockUntil: 'unblock', holdRetryUntil: 'rerun' });
    await waitFor(async () => (await scene.ledger("event = 'start' AND job_id = $1", [id])).length === 2, {
      timeoutMs: 10_000,
      message: 'the lease expired and the job runs again in the other process',
    });
    const [blocked, rerun] = await scene.ledger("event = 'start' AND job_id = $1", [id]);
    expect([blocked.attempt, rerun.attempt]).toEqual([1, 2]);
    expect(rerun.pid).not.toBe(blocked.pid);
    expect(rerun.token).not.toBeNull();
    const stale = scene.fleet.workers.find((w) => w.pid === blocked.pid)!;

    // The blocked run returns at once when let go: its worker tries to record a completion with its old token.
    scene.gates.open('unblock');
    await waitFor(
      async () =>
        stale.output().includes(`Completion of job #${id} was not recorded`) ||
        stale.output().includes(`Lost the lease on job #${id}`) ||
        (await scene.jobs([id]))[0].status !== 'running', // (a write the fence should have stopped)
      { message: `the blocked worker found it no longer holds the lease:\n${stale.output()}` },
    );
    note(
      'blocked worker',
      stale.output().includes(`Completion of job #${id} was not recorded`) ? 'completion fenced' : 'lease loss seen first',
    );
    expect((await scene.analyze()).staleWrites).toEqual([]);
    const [meanwhile] = await scene.jobs([id]);
    expect(meanwhile).toMatchObject({ status: 'running', attempts: 2, result: null });
    expect(meanwhile.locked_by).toContain(`:${rerun.pid}:`);

    scene.gates.open('rerun');
    await scene.settled([id]);
    const [done] = await scene.jobs([id]);
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });
    expect(done.result).toMatchObject({ runId: rerun.run_id, pid: rerun.pid, token: rerun.token });
    // The blocked process still works: it completes another job afterwards.
    const [marker] = await scene.enqueueN(1, 'fault.other', {});
    await scene.settled([marker]);

    const report = await scene.analyze();
    expectHealthy(report, { duplicatesAllowed: [id], overlapsAllowed: [id] });
    expect(report.overlaps.map((o) => o.jobId)).toEqual([id]); // the blocked run was alive while the rerun ran
    expect(report.audit.filter((a) => a.job_id === id && a.new_status === 'completed')).toHaveLength(1);
  });

  it('a handler that ignores its timeout: the attempt fails at once, the slot stays taken until the handler returns', async () => {
    const worker = await scene.fleet.start({ HANG_TIMEOUT_MS: 300, CONCURRENCY: 4 });
    const [hung] = await scene.enqueueN(1, 'fault.hang', { hang: true, gate: 'hung-returns' });
    await waitFor(async () => (await scene.ledger("event = 'start' AND job_id = $1", [hung])).length === 1);
    const after = await scene.enqueueN(3, 'fault.hang', { hang: false }); // same type, concurrency 1

    await scene.settled([hung]);
    const [row] = await scene.jobs([hung]);
    expect(row.status).toBe('failed');
    expect(row.last_error).toContain('JobTimeoutError');
    await waitFor(() => worker.output().includes(`Job #${hung} was aborted`), { message: 'the overstay warning' });
    // The type's one slot is still taken by the body that ignores its signal: the others wait, unclaimed; other types run.
    const other = await scene.enqueueN(2, 'fault.other', {});
    await scene.settled(other);
    expect((await scene.jobs(after)).map((j) => [j.status, j.attempts, j.locked_by])).toEqual([
      ['pending', 0, null],
      ['pending', 0, null],
      ['pending', 0, null],
    ]);

    scene.gates.open('hung-returns'); // the body returns: the slot frees, the waiting jobs run one at a time
    await scene.settled(after);
    expect((await scene.jobs(after)).map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
    const hungEvents = await scene.ledger('job_id = $1', [hung]);
    expect(hungEvents.map((e) => e.event)).toEqual(['start', 'abort', 'end']);
    expect(hungEvents[1].detail?.reason).toBe('JobTimeoutError');
    const starts = await scene.ledger("event = 'start' AND job_id = ANY($1::bigint[])", [after]);
    for (const start of starts) expect(start.at.getTime()).toBeGreaterThanOrEqual(hungEvents[2].at.getTime());

    const report = await scene.analyze();
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });
});
