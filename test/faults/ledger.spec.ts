/**
 * The ledger analysis itself, on hand-written histories: each detector fires on the anomaly it is for and stays
 * quiet on legitimate histories (a recovery by another worker, a retry, a clean run). Without this, a fault test
 * that finds "stale writes 0" could be finding nothing because nothing is looked for.
 */
import { randomUUID } from 'node:crypto';
import { analyzeLedger, expectHealthy, pidOfWorker } from './support/ledger';
import { openScene, type Scene } from './support/scene';

describe('fault ledger analysis', () => {
  let scene: Scene;

  beforeAll(async () => {
    scene = await openScene();
  });
  afterAll(async () => {
    await scene?.close();
  });

  const s = () => `"${scene.schema}"`;
  const worker = (pid: number) => `host:${pid}:0123abcd`;

  /** A job row in any state. */
  async function job(
    status: string,
    extra: { attempts?: number; token?: string; lockedBy?: string; leaseMs?: number } = {},
  ): Promise<string> {
    const [{ id }] = await scene.db.query<{ id: string }>(
      `INSERT INTO ${s()}.jobs (type, payload, status, attempts, max_attempts, claim_token, locked_by, lease_expires_at)
       VALUES ('synthetic', '{}', $1, $2, 5, $3, $4, now() + $5 * interval '1 millisecond') RETURNING id::text`,
      [status, extra.attempts ?? 1, extra.token ?? null, extra.lockedBy ?? null, extra.leaseMs ?? 60_000],
    );
    return id;
  }

  async function run(jobId: string, pid: number, attempt: number, token: string | null, events: Array<'start' | 'end'>, at: string) {
    const runId = randomUUID();
    for (const [i, event] of events.entries()) {
      await scene.db.query(
        `INSERT INTO ${s()}.fault_ledger (run_id, job_id, attempt, token, pid, event, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + ($8::interval) + $9 * interval '1 second')`,
        [runId, jobId, attempt, token, pid, event, event === 'end' ? { outcome: 'ok' } : null, at, i],
      );
    }
    return runId;
  }

  /** An UPDATE made by worker process `pid` (as the fixture's connections identify themselves). */
  async function writeAs(pid: number, sql: string, params: unknown[]) {
    const client = await scene.db.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('faults.pid', $1, true)", [String(pid)]);
      await client.query(sql, params);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  it('finds lost jobs, duplicates, overlaps and each kind of stale write, and nothing in legitimate histories', async () => {
    const lost = await job('pending', { attempts: 0 });

    const twice = await job('completed', { attempts: 2 });
    await run(twice, 111, 1, null, ['start', 'end'], '-10 s');
    await run(twice, 222, 2, null, ['start', 'end'], '-5 s');

    const overlapping = await job('completed', { attempts: 2 });
    await run(overlapping, 111, 1, null, ['start'], '-10 s'); // never ended, process not known dead
    await run(overlapping, 222, 2, null, ['start', 'end'], '-5 s');

    // (b) pid 222 completes a job whose lease pid 111 holds.
    const t1 = randomUUID();
    const foreign = await job('running', { token: t1, lockedBy: worker(111) });
    await writeAs(222, `UPDATE ${s()}.jobs SET status = 'completed', claim_token = NULL WHERE id = $1`, [foreign]);

    // (a) a finished job goes back to pending.
    const reopened = await job('completed');
    await scene.db.query(`UPDATE ${s()}.jobs SET status = 'pending' WHERE id = $1`, [reopened]);

    // (c) the stored result names a run whose token is not the one the write replaced.
    const t2 = randomUUID();
    const wrongToken = await job('running', { token: t2, lockedBy: worker(333) });
    const oldRun = await run(wrongToken, 333, 1, randomUUID(), ['start', 'end'], '-3 s');
    await writeAs(333, `UPDATE ${s()}.jobs SET status = 'completed', claim_token = NULL, result = $2 WHERE id = $1`, [
      wrongToken,
      { runId: oldRun },
    ]);

    // (d) the stored outcome comes from attempt 1 although attempt 2 had started before the write.
    const t3 = randomUUID();
    const superseded = await job('running', { attempts: 2, token: t3, lockedBy: worker(555) });
    const first = await run(superseded, 444, 1, null, ['start'], '-8 s');
    await run(superseded, 555, 2, t3, ['start'], '-4 s');
    await writeAs(444, `UPDATE ${s()}.jobs SET status = 'failed', claim_token = NULL, last_error = $2 WHERE id = $1`, [
      superseded,
      `Error: late run=${first}`,
    ]);

    // Legitimate: pid 222 recovers an expired lease of pid 111; a clean run completes with its own token.
    const rescued = await job('running', { token: randomUUID(), lockedBy: worker(111), leaseMs: -1000 });
    await writeAs(222, `UPDATE ${s()}.jobs SET status = 'pending', claim_token = NULL, last_error = 'Lease expired: gone' WHERE id = $1`, [
      rescued,
    ]);
    const t4 = randomUUID();
    const clean = await job('running', { token: t4, lockedBy: worker(666) });
    const cleanRun = await run(clean, 666, 1, t4, ['start', 'end'], '-1 s');
    await writeAs(666, `UPDATE ${s()}.jobs SET status = 'completed', claim_token = NULL, result = $2 WHERE id = $1`, [
      clean,
      { runId: cleanRun },
    ]);

    const report = await analyzeLedger(scene.db.admin, scene.schema, { ignore: (j) => j.id === rescued });
    expect(report.lost).toEqual([lost, reopened]);
    expect(report.duplicates.sort()).toEqual([twice, overlapping, superseded].sort());
    expect(report.overlaps.map((o) => o.jobId).sort()).toEqual([overlapping, superseded].sort());
    const staleJobs = [...new Set(report.staleWrites.map((w) => w.jobId))].sort();
    expect(staleJobs).toEqual([foreign, reopened, wrongToken, superseded].sort());
    expect(report.staleWrites.find((w) => w.jobId === foreign)?.why).toContain('while the lease was held by pid 111');
    expect(report.staleWrites.find((w) => w.jobId === reopened)?.why).toContain('left a final state');
    expect(report.staleWrites.find((w) => w.jobId === wrongToken)?.why).toContain('accepted while the lease token was');
    expect(
      report.staleWrites
        .filter((w) => w.jobId === superseded)
        .map((w) => w.why)
        .join('\n'),
    ).toContain('superseded by run');
    expect(() => expectHealthy(report)).toThrow(/ledger invariants violated/);

    // The same runs, but the first process of `overlapping` is known to have died before the second run started.
    const dead = await analyzeLedger(scene.db.admin, scene.schema, { deaths: new Map([[111, new Date(Date.now() - 7000)]]) });
    expect(dead.overlaps.map((o) => o.jobId)).not.toContain(overlapping);
  });

  it('reads the pid out of locked_by', () => {
    expect(pidOfWorker('my-host.example:12345:9f8e7d6c')).toBe(12345);
    expect(pidOfWorker(null)).toBeNull();
    expect(pidOfWorker('garbage')).toBeNull();
  });
});
