/**
 * Connections that stop answering without closing (a hung pooler, a load balancer that silently dropped its flows,
 * a half-open socket), through a TCP proxy that stalls them: the worker must not wedge, and shutdown stays bounded.
 */
import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { jobRow } from '../support/jobs';
import { LogCapture } from '../support/log-capture';
import { gate, startQueueApp, type QueueApp } from '../support/queue-app';
import { TcpProxy } from '../support/tcp-proxy';

let release = gate();
const started: string[] = [];

@Injectable()
class StallHandlers {
  @JobHandler('stall.gated')
  async gated(_: unknown, ctx: JobContext) {
    started.push(ctx.job.id);
    await release.opened;
    return { done: ctx.job.id };
  }

  @JobHandler('stall.quick')
  async quick(_: unknown, ctx: JobContext) {
    started.push(ctx.job.id);
    return { done: ctx.job.id };
  }
}

describe('stalled connections', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: QueueApp | undefined;
  let logs: LogCapture;

  beforeEach(async () => {
    db = await createTestDatabase();
    const proxied = await TcpProxy.start(db.url);
    proxy = proxied.proxy;
    logs = new LogCapture();
    release = gate();
    app = await startQueueApp(
      { ...db, url: proxied.url },
      {
        providers: [StallHandlers],
        logger: logs,
        module: { queryTimeoutMs: 1000 },
        // A long lease: shutdown must be bounded by its own deadline, not by retrying writes until the lease runs out.
        worker: { concurrency: 4, leaseMs: 20_000, pollIntervalMs: 100, shutdownTimeoutMs: 1000 },
      },
    );
  });
  afterEach(async () => {
    release.open();
    await app?.close();
    logs.restore();
    await proxy.close();
    await db.close();
  });

  const status = (id: string) => jobRow(db, ['status', 'attempts'], id);
  /** Enqueued on the test's own connection: it never goes through the stalled proxy. */
  const enqueueDirect = async (type: string) =>
    (await db.query<{ id: string }>(`INSERT INTO "${db.schema}".jobs (type, payload) VALUES ($1, '{}') RETURNING id::text`, [type]))[0].id;

  it('an outcome write and the claims on stalled connections recover on new ones; the job completes once', async () => {
    const { id } = await app!.queue.enqueue('stall.gated', {});
    await waitFor(() => started.includes(id), { message: 'the job started' });
    expect(proxy.stall()).toBeGreaterThan(0); // every connection the module holds now goes silent

    release.open(); // its completion is written on a silent connection first
    await waitFor(async () => (await status(id)).status === 'completed', { timeoutMs: 15_000, message: 'the completion was written' });
    expect(await status(id)).toEqual({ status: 'completed', attempts: 1 });
    expect(started.filter((s) => s === id)).toHaveLength(1);

    // The claim loop is not wedged: a job enqueued now (found by the poll; the listener is silent too) runs.
    const later = await enqueueDirect('stall.quick');
    await waitFor(async () => (await status(later)).status === 'completed', { timeoutMs: 15_000, message: 'a later job ran' });
    expect(proxy.liveConnections).toBeGreaterThan(0); // on new connections
  });

  it('shutdown with every connection silent is bounded by the shutdown deadline, and the log says what was left', async () => {
    const { id } = await app!.queue.enqueue('stall.gated', {});
    await waitFor(() => started.includes(id), { message: 'the job started' });
    proxy.stall();
    // New connections stall too from now on: the database is gone for this process.
    const stallNew = setInterval(() => proxy.stall(), 5);
    try {
      release.open();
      const closing = Date.now();
      await app!.close();
      app = undefined;
      const tookMs = Date.now() - closing;
      // shutdownTimeoutMs 1000 + the last writes' 2 s + closing the listener and pool (2 s each) at most.
      expect(tookMs).toBeLessThan(7000);
      // The log names the job whose outcome was not recorded and says the lease will bring it back.
      expect(logs.matching(new RegExp(`#${id}\\b.*lease`)).length).toBeGreaterThan(0);
    } finally {
      clearInterval(stallNew);
    }
    // Left to its lease: still running in the database, recovered by any worker once the lease expires.
    expect((await status(id)).status).toBe('running');
  });

  it('an outage is logged once with its cause, counted, and closed by a line when PostgreSQL answers again', async () => {
    const warningsBefore = logs.matching(/./, 'warn').length;
    proxy.cut();
    // Claims every 100 ms, heartbeats, the listener: wait until plenty of connection attempts were turned away.
    await waitFor(() => proxy.refused >= 20, { timeoutMs: 15_000, message: 'the worker kept retrying' });
    proxy.resume();
    await waitFor(() => logs.matching('PostgreSQL answers again', 'log').length === 1, {
      timeoutMs: 15_000,
      message: 'a line when it is back',
    });
    const warnings = logs.matching(/./, 'warn').slice(warningsBefore);
    const worker = warnings.filter((line) => line.context === 'PgQueueWorker');
    expect(worker).toHaveLength(1);
    expect(worker[0].message).toMatch(/failed: .+\. Retrying; further failures are counted/);
    expect(warnings.length).toBeLessThanOrEqual(3); // the worker's line, and the listener's "lost" and "reconnect failed"
    const [back] = logs.matching('PostgreSQL answers again', 'log');
    expect(Number(/\((\d+) failed call/.exec(back.message)?.[1])).toBeGreaterThan(5);
    // And it works again.
    const id = await enqueueDirect('stall.quick');
    await waitFor(async () => (await status(id)).status === 'completed', { timeoutMs: 15_000, message: 'a job ran after the outage' });
  });
});
