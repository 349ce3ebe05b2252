import { Controller, Get, Injectable } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { JobHandler, PgQueueModule, type PgQueueModuleOptions } from '../../lib';
import { PgQueueHealthIndicator } from '../../lib/terminus';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, gate, useQueueApps } from '../support/queue-app';
import { TcpProxy } from '../support/tcp-proxy';

let hold = gate();

@Injectable()
class HealthHandlers {
  /** One at a time, and held: the jobs behind it wait, and lag. */
  @JobHandler('health.work', { concurrency: 1 })
  async work() {
    await hold.opened;
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly queue: PgQueueHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.queue.isHealthy('pgqueue', { maxLagMs: 5_000, timeoutMs: 1_000 })]);
  }
}

describe('PgQueueHealthIndicator (nestjs-pgqueue/terminus)', () => {
  const apps = useQueueApps({ beforeClose: () => hold.open() });
  let db: TestDatabase;

  beforeEach(async () => {
    hold = gate();
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  async function start(module: Partial<PgQueueModuleOptions> = {}) {
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule, PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER, ...module })],
      controllers: [HealthController],
      providers: [HealthHandlers, PgQueueHealthIndicator],
    }).compile();
    const app = moduleRef.createNestApplication();
    apps.defer(() => app.close());
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return { app, indicator: app.get(PgQueueHealthIndicator), health: () => fetch(`${url}/health`) };
  }

  it('is up when PostgreSQL answers, the schema is migrated, the listener and the worker run', async () => {
    const { indicator, health } = await start();
    await expect(indicator.isHealthy()).resolves.toEqual({
      pgqueue: { status: 'up', database: 'up', listener: 'listening', worker: 'running', lagMs: {} },
    });
    expect((await health()).status).toBe(200);
  });

  it('is down with the reason when a type this process handles lags behind maxLagMs', async () => {
    const { app, indicator, health } = await start();
    const { QueueService } = await import('../../lib');
    const queue = app.get(QueueService);
    const first = await queue.enqueue('health.work', {});
    await waitFor(async () => (await queue.getJob(first.id))?.status === 'running');
    await queue.enqueue('health.work', {}, { runAt: new Date(Date.now() - 60_000) }); // waits behind the held one
    const result = await indicator.isHealthy('pgqueue', { maxLagMs: 5_000 });
    expect(result.pgqueue.status).toBe('down');
    expect(result.pgqueue.reasons).toEqual([expect.stringMatching(/^health\.work has a due job waiting for \d+ ms \(maxLagMs 5000\)$/)]);
    expect((await health()).status).toBe(503);
    await expect(indicator.isHealthy('pgqueue', { maxLagMs: 600_000 })).resolves.toMatchObject({ pgqueue: { status: 'up' } });
    // A paused type is not the workers falling behind.
    await queue.pause('health.work');
    await expect(indicator.isHealthy('pgqueue', { maxLagMs: 5_000 })).resolves.toMatchObject({ pgqueue: { status: 'up', lagMs: {} } });
    await expect(indicator.isHealthy('pgqueue', { maxLagMs: -1 })).rejects.toThrow(/maxLagMs/);
  });

  it('answers down within its timeout when the network to PostgreSQL goes silent', async () => {
    const { proxy, url } = await TcpProxy.start(db.url);
    apps.defer(() => proxy.close());
    const { indicator } = await start({ connectionString: url });
    await expect(indicator.isHealthy()).resolves.toMatchObject({ pgqueue: { status: 'up' } });
    proxy.stall();
    const stallNew = setInterval(() => proxy.stall(), 5); // connections opened from now on go silent too
    apps.defer(() => clearInterval(stallNew));
    const started = Date.now();
    const result = await indicator.isHealthy('pgqueue', { timeoutMs: 1_000 });
    const tookMs = Date.now() - started;
    expect(result.pgqueue).toMatchObject({ status: 'down', database: 'down' });
    expect((result.pgqueue.reasons as string[])[0]).toMatch(/^PostgreSQL did not answer within 1000 ms/);
    // The bound is the point of this check (a health check that hangs is worse than none), not a speed figure.
    expect(tookMs).toBeLessThan(5_000);
  });
});
