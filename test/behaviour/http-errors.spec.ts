import { Controller, Get, Injectable, Module, Param, Post, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { JobHandler, JobNotFoundError, PgQueueExceptionFilter, PgQueueModule, QueueService } from '../../lib';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FAST_WORKER, useQueueApps } from '../support/queue-app';

@Injectable()
class Handlers {
  @JobHandler('http.report')
  report() {}
}

/** A feature module's controller: QueueService is injected without the feature module importing PgQueueModule. */
@Controller('jobs')
class JobsController {
  constructor(private readonly queue: QueueService) {}

  @Post('bad-type')
  badType() {
    return this.queue.enqueue('', {});
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.queue.getJob(id);
  }

  @Post(':id/retry')
  retry(@Param('id') id: string) {
    return this.queue.retry(id);
  }

  @Get('slow/count')
  slowCount() {
    // What countJobs(filter, { timeoutMs }) rejects with when PostgreSQL cuts it short: pg's error, code 57014.
    throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
  }

  @Get('plain/error')
  plain() {
    throw new Error('not the queue');
  }

  @Get(':id/required')
  async required(@Param('id') id: string) {
    const job = await this.queue.getJob(id);
    if (!job) throw new JobNotFoundError(`No job ${id}.`);
    return job;
  }
}

@Module({ controllers: [JobsController] })
class JobsModule {}

describe.each(['express', 'fastify'] as const)('the package errors as HTTP statuses (%s)', (platform) => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let url: string;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      // forRoot without isGlobal: the module is global by default, so JobsModule gets QueueService.
      imports: [PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER }), JobsModule],
      providers: [Handlers, { provide: APP_FILTER, useClass: PgQueueExceptionFilter }],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    apps.defer(() => app.close());
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  async function call(method: string, path: string): Promise<{ status: number; body: { statusCode: number; message: string } }> {
    const response = await fetch(`${url}/jobs/${path}`, { method });
    return { status: response.status, body: (await response.json()) as { statusCode: number; message: string } };
  }

  it('answers bad input 400, a job in the wrong state 409 and no such job 404, with the error message', async () => {
    const badType = await call('POST', 'bad-type');
    expect(badType.status).toBe(400);
    expect(badType.body.message).toContain('job type');
    expect((await call('GET', 'not-a-number')).status).toBe(400);

    const pending = await app.get(QueueService).enqueue('http.waiting', {}, { delayMs: 60_000 });
    const retry = await call('POST', `${pending.id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.message).toContain('Nothing was changed');

    expect((await call('GET', 'slow/count')).status).toBe(503);
    expect((await call('GET', 'plain/error')).status).toBe(500);

    const missing = await call('GET', '999999/required');
    expect(missing).toEqual({ status: 404, body: expect.objectContaining({ statusCode: 404, message: 'No job 999999.' }) as unknown });
  });
});
