import { Injectable } from '@nestjs/common';
import { JobHandler, JobTimeoutError, LeaseLostError, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRow } from '../support/jobs';
import { LogCapture } from '../support/log-capture';
import { gate, Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const LEASE_MS = 1000;
const seen = new Recorder<{ id: string; event: string; reason?: unknown }>();
let finishLongJob = gate();

@Injectable()
class LeaseHandlers {
  @JobHandler('long')
  async long(_: unknown, ctx: JobContext) {
    seen.push({ id: ctx.job.id, event: 'started' });
    ctx.signal.addEventListener('abort', () => seen.push({ id: ctx.job.id, event: 'aborted', reason: ctx.signal.reason }));
    await finishLongJob.opened;
    return 'done';
  }

  @JobHandler('hangs', { timeoutMs: 200, maxAttempts: 2, backoff: { baseMs: 0 }, concurrency: 1 })
  async hangs(_: unknown, ctx: JobContext) {
    seen.push({ id: ctx.job.id, event: `started attempt ${ctx.job.attempt}` });
    ctx.signal.addEventListener('abort', () => seen.push({ id: ctx.job.id, event: 'aborted', reason: ctx.signal.reason }));
    await releaseHung.opened; // ignores its signal until the test lets it go
    seen.push({ id: ctx.job.id, event: `returned attempt ${ctx.job.attempt}` });
  }

  @JobHandler('reads-signal-late', { timeoutMs: 100, maxAttempts: 1 })
  async readsSignalLate(_: unknown, ctx: JobContext) {
    await readSignal.opened; // opened by the test once the job has timed out
    seen.push({ id: ctx.job.id, event: `signal read: aborted ${ctx.signal.aborted}`, reason: ctx.signal.reason });
  }
}
let readSignal = gate();
let releaseHung = gate();

describe('leases, fencing and timeouts', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [LeaseHandlers], worker: { leaseMs: LEASE_MS, shutdownTimeoutMs: 100 } });
  });
  afterAll(async () => {
    finishLongJob.open();
    releaseHung.open();
    await app?.close();
    await db?.close();
  });

  const job = (id: string) => jobRow(db, ['status', 'attempts', 'lease_expires_at', 'claim_token', 'last_error', 'result'], id);

  it('keeps the lease of a job running longer than leaseMs alive with heartbeats', async () => {
    finishLongJob = gate();
    const { id } = await app.queue.enqueue('long', {});
    await waitFor(() => seen.events.some((e) => e.id === id && e.event === 'started'));
    const first = (await job(id)).lease_expires_at.getTime();
    await waitFor(async () => (await job(id)).lease_expires_at.getTime() > first + LEASE_MS, {
      message: 'lease extended past its first expiry',
    });
    finishLongJob.open();
    await waitFor(async () => (await job(id)).status === 'completed');
    expect(await job(id)).toMatchObject({ attempts: 1, result: 'done' });
  });

  it('aborts a handler whose lease was taken over, and fences off its late completion', async () => {
    finishLongJob = gate();
    const { id } = await app.queue.enqueue('long', {});
    await waitFor(() => seen.events.some((e) => e.id === id && e.event === 'started'));
    // Another worker recovered and re-claimed the job: it now holds a different token.
    const [{ claim_token: otherToken }] = await db.query<{ claim_token: string }>(
      `UPDATE ${db.schema}.jobs SET claim_token = gen_random_uuid(), attempts = attempts + 1 WHERE id = $1 RETURNING claim_token`,
      [id],
    );
    await waitFor(() => seen.events.some((e) => e.id === id && e.event === 'aborted'), { message: 'signal aborted by the heartbeat' });
    expect(seen.events.find((e) => e.id === id && e.event === 'aborted')?.reason).toBeInstanceOf(LeaseLostError);
    finishLongJob.open();
    // Give the stale run every chance to write: a job on the same worker completes after it.
    const marker = await app.queue.enqueue('long', {});
    await waitFor(async () => (await job(marker.id)).status === 'completed');
    expect(await job(id)).toMatchObject({ status: 'running', claim_token: otherToken, attempts: 2, result: null });
    await db.query(`UPDATE ${db.schema}.jobs SET status = 'cancelled', claim_token = NULL WHERE id = $1`, [id]);
  });

  it('times out a hanging handler: aborts its signal and records the failure; its slot stays taken until the handler returns', async () => {
    releaseHung = gate();
    const logs = new LogCapture();
    try {
      const { id } = await app.queue.enqueue('hangs', {});
      await waitFor(async () => (await job(id)).status === 'pending' && (await job(id)).attempts === 1, {
        message: 'first attempt timed out',
      });
      expect((await job(id)).last_error).toContain('JobTimeoutError: Job timed out after 200 ms');
      // The retry is due at once, but concurrency 1 and the first body still runs: the log says so, the retry waits.
      await waitFor(() => logs.matching(`Job #${id} was aborted`, 'warn').length === 1, { message: 'overstay warning' });
      expect(seen.events.filter((e) => e.id === id && e.event.startsWith('started')).map((e) => e.event)).toEqual(['started attempt 1']);
      expect(await job(id)).toMatchObject({ status: 'pending', attempts: 1 });

      releaseHung.open(); // the first body returns: its slot frees, the second attempt runs (and returns at once)
      await waitFor(async () => (await job(id)).status === 'completed', { message: 'second attempt ran once the slot was free' });
      expect(seen.events.filter((e) => e.id === id && /^(started|returned)/.test(e.event)).map((e) => e.event)).toEqual([
        'started attempt 1',
        'returned attempt 1',
        'started attempt 2',
        'returned attempt 2',
      ]);
      const aborts = seen.events.filter((e) => e.id === id && e.event === 'aborted');
      expect(aborts).toHaveLength(1);
      expect(aborts[0].reason).toBeInstanceOf(JobTimeoutError);
      expect(logs.matching(`The handler of job #${id} returned`)).toHaveLength(1);
    } finally {
      releaseHung.open();
      logs.restore();
    }
  });

  it('gives a handler that first reads its signal after the timeout a signal already aborted with the reason', async () => {
    readSignal = gate();
    const { id } = await app.queue.enqueue('reads-signal-late', {});
    await waitFor(async () => (await job(id)).status === 'failed', { message: 'timed out' });
    readSignal.open();
    await waitFor(() => seen.events.some((e) => e.id === id && e.event.startsWith('signal read')));
    const read = seen.events.find((e) => e.id === id && e.event.startsWith('signal read'));
    expect(read?.event).toBe('signal read: aborted true');
    expect(read?.reason).toBeInstanceOf(JobTimeoutError);
  });

  it('recovers a running job whose lease expired, counting the attempt, and fails it once attempts run out', async () => {
    const [{ id }] = await db.query<{ id: string }>(
      `INSERT INTO ${db.schema}.jobs (type, payload, status, attempts, max_attempts, claim_token, lease_expires_at)
       VALUES ('nobody.handles', '{}', 'running', 1, 2, gen_random_uuid(), now() - interval '1 second'),
              ('nobody.handles', '{}', 'running', 2, 2, gen_random_uuid(), now() - interval '1 second')
       RETURNING id::text`,
    );
    await waitFor(async () => (await job(id)).status === 'pending', { timeoutMs: LEASE_MS * 2, message: 'expired lease recovered' });
    expect(await job(id)).toMatchObject({ attempts: 1, claim_token: null });
    expect((await job(id)).last_error).toContain('Lease expired');
    const exhausted = String(Number(id) + 1);
    await waitFor(async () => (await job(exhausted)).status === 'failed', { timeoutMs: LEASE_MS * 2 });
  });
});
