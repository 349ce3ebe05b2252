/**
 * Job ids past 2^31, past 2^53 and up to the int8 maximum stay exact from enqueue through the worker to the
 * stored result, getJob and cancel: ids travel as strings, never JavaScript numbers.
 */
import { InvalidJobIdError } from '../../lib';
import { expectHealthy } from './support/ledger';
import { openScene, type Scene } from './support/scene';

describe('faults: job ids beyond 32 and 53 bits', () => {
  let scene: Scene;

  beforeAll(async () => {
    scene = await openScene();
  });
  afterAll(async () => {
    await scene?.close();
  });

  /** The next `n` ids the jobs table will hand out after `last`, as exact strings. */
  async function idsAfter(last: bigint, n: number): Promise<string[]> {
    await scene.db.query(`SELECT setval(pg_get_serial_sequence('"${scene.schema}".jobs', 'id'), $1::bigint)`, [last.toString()]);
    return Array.from({ length: n }, (_, i) => (last + BigInt(i + 1)).toString());
  }

  it('keeps ids past 2^31, past 2^53 and up to 2^63-1 exact end to end', async () => {
    const expected31 = await idsAfter(2n ** 31n - 2n, 3); // 2147483647, 2147483648, 2147483649
    const got31 = await scene.queue.enqueueMany(expected31.map((id) => ({ type: 'fault.echo', payload: { id } })));
    const expected53 = await idsAfter(2n ** 53n - 2n, 3); // 2^53 - 1, 2^53, 2^53 + 1 (the last two are one double)
    const got53 = await scene.queue.enqueueMany(expected53.map((id) => ({ type: 'fault.echo', payload: { id } })));
    // The last three ids an int8 can hold; delayed, so they stay pending for getJob and cancel.
    const expected63 = await idsAfter(2n ** 63n - 4n, 3);
    const got63 = await scene.queue.enqueueMany(expected63.map((id) => ({ type: 'fault.echo', payload: { id }, delayMs: 3_600_000 })));
    expect(got31.map((j) => j.id)).toEqual(expected31);
    expect(got53.map((j) => j.id)).toEqual(expected53);
    expect(got63.map((j) => j.id)).toEqual(expected63);
    expect(expected63.at(-1)).toBe('9223372036854775807');

    const worker = await scene.fleet.start({ CONCURRENCY: 4 });
    const ran = [...expected31, ...expected53];
    await scene.settled(ran);
    for (const id of ran) {
      const job = await scene.queue.getJob<{ id: string }, { jobId: string; echo: { id: string } }>(id);
      expect(job).toMatchObject({ id, status: 'completed', payload: { id } });
      expect(job!.result!.jobId).toBe(id); // ctx.job.id in the worker
      expect(job!.result!.echo).toEqual({ id });
    }
    const ledger = await scene.ledger("event = 'start'");
    expect(ledger.map((r) => r.job_id).sort()).toEqual([...ran].sort());
    expect(ledger.every((r) => r.pid === worker.pid && r.token !== null)).toBe(true);

    for (const id of expected63) expect(await scene.queue.getJob(id)).toMatchObject({ id, status: 'pending', payload: { id } });
    const [a, b, c] = expected63;
    expect(await scene.queue.cancel(b)).toMatchObject({ id: b, status: 'cancelled' });
    expect((await scene.jobs(expected63)).map((j) => [j.id, j.status])).toEqual([
      [a, 'pending'],
      [b, 'cancelled'],
      [c, 'pending'],
    ]);
    await expect(scene.queue.getJob('9223372036854775808')).rejects.toBeInstanceOf(InvalidJobIdError);

    const report = await scene.analyze({ ignore: (job) => expected63.includes(job.id) });
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });
});
