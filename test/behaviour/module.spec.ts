import { Injectable, Module, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import {
  DuplicateJobHandlerError,
  JobHandler,
  PgQueueConfigError,
  PgQueueModule,
  QueueService,
  SchemaNotMigratedError,
  type JobContext,
  type PgQueueModuleOptions,
} from '../../lib';
import { loadMigrations } from '../../lib/db/migrator';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { statusOf } from '../support/jobs';
import { FAST_WORKER, Recorder, startQueueApp, useQueueApps } from '../support/queue-app';

const calls = new Recorder<{ handler: string; id: string; instance?: number }>();

@Injectable()
class Greeter {
  greet(name: string) {
    return `hello ${name}`;
  }
}

@Injectable()
class GreetingHandlers {
  constructor(private readonly greeter: Greeter) {}

  @JobHandler('greet')
  async greet(payload: { name: string }, ctx: JobContext) {
    calls.push({ handler: 'greet', id: ctx.job.id });
    return this.greeter.greet(payload.name);
  }
}

@Injectable()
class OtherGreetingHandlers {
  @JobHandler('greet')
  async greetAgain() {}
}

let requestScopedInstances = 0;
@Injectable({ scope: Scope.REQUEST })
class RequestScopedHandlers {
  private readonly instance = ++requestScopedInstances;
  constructor(private readonly greeter: Greeter) {}

  @JobHandler('scoped')
  async scoped(payload: { name: string }, ctx: JobContext) {
    calls.push({ handler: 'scoped', id: ctx.job.id, instance: this.instance });
    return this.greeter.greet(payload.name);
  }
}

describe('PgQueueModule', () => {
  let db: TestDatabase;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('discovers handlers on ordinary providers with full DI and stores their result', async () => {
    const app = await apps.start(db, { providers: [Greeter, GreetingHandlers] });
    const job = await app.queue.enqueue('greet', { name: 'Ada' });
    await waitFor(async () => (await statusOf(app.queue, job.id)) === 'completed');
    expect((await app.queue.getJob(job.id))?.result).toBe('hello Ada');
  });

  it('fails the bootstrap when two handlers claim one type, naming both Class#method', async () => {
    const attempt = startQueueApp(db, { providers: [Greeter, GreetingHandlers, OtherGreetingHandlers] });
    await expect(attempt).rejects.toBeInstanceOf(DuplicateJobHandlerError);
    await expect(attempt).rejects.toThrow(/GreetingHandlers#greet and OtherGreetingHandlers#greetAgain/);
  });

  it('runs a handler of a request-scoped provider on a fresh instance per job', async () => {
    const app = await apps.start(db, { providers: [Greeter, RequestScopedHandlers] });
    const [a, b] = await app.queue.enqueueMany([
      { type: 'scoped', payload: { name: 'a' } },
      { type: 'scoped', payload: { name: 'b' } },
    ]);
    await waitFor(async () => (await statusOf(app.queue, b.id)) === 'completed' && (await statusOf(app.queue, a.id)) === 'completed');
    const instances = calls.events.filter((c) => c.handler === 'scoped').map((c) => c.instance);
    expect(new Set(instances).size).toBe(2);
    expect((await app.queue.getJob(b.id))?.result).toBe('hello b');
  });

  it('never claims in a producer-only process (worker.enabled: false)', async () => {
    const app = await apps.start(db, { providers: [Greeter, GreetingHandlers], worker: { enabled: false, pollIntervalMs: 20 } });
    const job = await app.queue.enqueue('greet', { name: 'nobody' });
    // The poll floor is 20 ms: a worker would have claimed it many times over by the time a second job is written and read.
    const second = await app.queue.enqueue('greet', { name: 'again' });
    await new Promise((resolve) => setTimeout(resolve, 200)); // proving an absence: give a (wrongly started) worker ten polls
    expect(await statusOf(app.queue, job.id)).toBe('pending');
    expect(await statusOf(app.queue, second.id)).toBe('pending');
    await app.queue.cancel(job.id);
    await app.queue.cancel(second.id);
    await app.close();
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it('supports forRootAsync with useFactory, inject and imports, and isGlobal', async () => {
    const CONFIG = Symbol('CONFIG');
    @Module({ providers: [{ provide: CONFIG, useValue: { url: db.url, schema: db.schema } }], exports: [CONFIG] })
    class ConfigModule {}

    @Injectable()
    class UsesQueueElsewhere {
      constructor(readonly queue: QueueService) {}
    }
    @Module({ providers: [UsesQueueElsewhere], exports: [UsesQueueElsewhere] })
    class FeatureModule {}

    const module = await Test.createTestingModule({
      imports: [
        PgQueueModule.forRootAsync({
          isGlobal: true,
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { url: string; schema: string }) => ({
            connectionString: config.url,
            schema: config.schema,
            worker: FAST_WORKER,
          }),
        }),
        FeatureModule,
      ],
      providers: [Greeter, GreetingHandlers],
    }).compile();
    await module.init();
    apps.track(module);
    const { queue } = module.get(UsesQueueElsewhere);
    const job = await queue.enqueue('greet', { name: 'async' });
    await waitFor(async () => (await statusOf(queue, job.id)) === 'completed');
  });

  it('supports forRootAsync with useClass and useExisting', async () => {
    @Injectable()
    class QueueConfig {
      createPgQueueOptions(): PgQueueModuleOptions {
        return { connectionString: db.url, schema: db.schema, worker: { enabled: false } };
      }
    }
    @Module({ providers: [QueueConfig], exports: [QueueConfig] })
    class QueueConfigModule {}

    for (const asyncOptions of [{ useClass: QueueConfig }, { imports: [QueueConfigModule], useExisting: QueueConfig }]) {
      const module = await Test.createTestingModule({ imports: [PgQueueModule.forRootAsync(asyncOptions)] }).compile();
      await module.init();
      const app = apps.track(module);
      const job = await app.queue.enqueue('greet', { name: 'class' });
      expect(job.status).toBe('pending');
      await app.queue.cancel(job.id);
      await app.close();
    }
  });

  it('uses a pool it is given and never ends it', async () => {
    const pool = new Pool({ connectionString: db.url, max: 5 });
    apps.defer(() => pool.end());
    const module = await Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ pool, schema: db.schema, worker: FAST_WORKER })],
      providers: [Greeter, GreetingHandlers],
    }).compile();
    await module.init();
    const app = apps.track(module);
    const job = await app.queue.enqueue('greet', { name: 'pool' });
    await waitFor(async () => (await statusOf(app.queue, job.id)) === 'completed');
    await app.close();
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    expect(pool.listenerCount('error')).toBe(0);
  });

  it('refuses a second worker-enabled import in one application, and allows producer-only ones', async () => {
    @Module({ imports: [PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: { enabled: false } })] })
    class ProducerFeature {}
    const ok = await Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER }), ProducerFeature],
    }).compile();
    await ok.init();
    await ok.close();

    @Module({ imports: [PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER })] })
    class WorkerFeature {}
    const twice = await Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER }), WorkerFeature],
    }).compile();
    // A failed init cannot be closed in Nest: the module releases its connections itself (the leak check proves it).
    await expect(twice.init()).rejects.toThrow(/imported more than once with its worker enabled/);
  });

  it.each<[string, PgQueueModuleOptions]>([
    ['no connection', {}],
    ['both connectionString and pool', { connectionString: 'postgres://x', pool: new Pool() }],
    ['concurrency 0', { connectionString: 'postgres://x', worker: { concurrency: 0 } }],
    ['leaseMs 10', { connectionString: 'postgres://x', worker: { leaseMs: 10 } }],
    ['prefetch -1', { connectionString: 'postgres://x', worker: { prefetch: -1 } }],
    ["prefetch 'fast'", { connectionString: 'postgres://x', worker: { prefetch: 'fast' as 'auto' } }],
    ['maxPayloadBytes over 64 MiB', { connectionString: 'postgres://x', maxPayloadBytes: 64 * 1024 * 1024 + 1 }],
    ['preparedStatements not a boolean', { connectionString: 'postgres://x', preparedStatements: 'no' as unknown as boolean }],
  ])('rejects module options with %s at bootstrap', async (_, options) => {
    await expect(Test.createTestingModule({ imports: [PgQueueModule.forRoot(options)] }).compile()).rejects.toBeInstanceOf(
      PgQueueConfigError,
    );
    await options.pool?.end();
  });

  it('rejects invalid handler options at bootstrap', async () => {
    @Injectable()
    class BadHandlers {
      @JobHandler('bad', { concurrency: 0 })
      async bad() {}
    }
    const attempt = startQueueApp(db, { providers: [BadHandlers] });
    await expect(attempt).rejects.toBeInstanceOf(PgQueueConfigError);
    await expect(attempt).rejects.toThrow("@JobHandler('bad') on BadHandlers#bad: concurrency");
  });
});

describe('migrations', () => {
  let db: TestDatabase;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('with migrate: false, fails the bootstrap clearly on an unmigrated schema', async () => {
    await expect(startQueueApp(db, { module: { migrate: false } })).rejects.toBeInstanceOf(SchemaNotMigratedError);
  });

  it('brings several processes booting at once on an empty schema all up, applying each migration once', async () => {
    const booted = await Promise.all(Array.from({ length: 6 }, () => apps.start(db, { worker: { enabled: false } })));
    const rows = await db.query<{ version: number }>(`SELECT version FROM ${db.schema}.migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const job = await booted[5].queue.enqueue('x', {});
    expect(await booted[0].queue.getJob(job.id)).toMatchObject({ id: job.id });
  });

  it('with migrate: false, starts on a migrated schema', async () => {
    const app = await startQueueApp(db, { module: { migrate: false }, worker: { enabled: false } });
    await app.close();
  });

  it('with migrate: false, names a missing migration even when a later one is applied', async () => {
    // Numbers written on parallel branches can be applied out of order: the latest alone proves nothing.
    const [first] = loadMigrations();
    await db.query(`DELETE FROM ${db.schema}.migrations WHERE version = $1`, [first.version]);
    const attempt = startQueueApp(db, { module: { migrate: false }, worker: { enabled: false } });
    await expect(attempt).rejects.toBeInstanceOf(SchemaNotMigratedError);
    await expect(attempt).rejects.toThrow(`lacks migration(s) ${first.version}`);
  });
});
