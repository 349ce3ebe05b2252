import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { z } from 'zod';
import { InvalidJobError, InvalidPayloadError, JobHandler, QueueService, type JobContext } from '../../lib';
import { JobsFailedError, PgQueueTestingModule, QueueTester, TestJobContext } from '../../lib/testing';
import { createTestDatabase, type TestDatabase } from '../support/database';

@Injectable()
class Mailer {
  readonly sent: string[] = [];
  send(to: string) {
    this.sent.push(to);
  }
}

@Injectable()
class OrderHandlers {
  constructor(
    private readonly queue: QueueService,
    private readonly mailer: Mailer,
  ) {}

  /** Places an order and enqueues its confirmation mail: a follow-up job the drain must wait for. */
  @JobHandler('tt.order', { schema: z.object({ orderId: z.string(), email: z.string().default('buyer@example.com') }) })
  async order(payload: { orderId: string; email: string }, ctx: JobContext) {
    await ctx.progress(50, 'charging');
    ctx.log(`charged order ${payload.orderId}`);
    await this.queue.enqueue('tt.mail', { to: payload.email });
    return { charged: payload.orderId };
  }

  @JobHandler('tt.mail')
  mail(payload: { to: string }) {
    this.mailer.send(payload.to);
  }

  @JobHandler('tt.fails', { maxAttempts: 1 })
  fails() {
    throw new Error('card declined');
  }

  @JobHandler('tt.nightly', { cron: '0 3 * * *' })
  nightly() {}
}

describe('nestjs-pgqueue/testing', () => {
  let db: TestDatabase;
  let module: TestingModule;
  let tester: QueueTester;
  let schema: string;

  beforeAll(async () => {
    db = await createTestDatabase(); // only for its connection string: the testing module makes its own schema
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    module = await Test.createTestingModule({
      imports: [PgQueueTestingModule.forRoot({ connectionString: db.url })],
      providers: [OrderHandlers, Mailer],
    }).compile();
    await module.init();
    tester = QueueTester.from(module);
    const [row] = await db.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pgqueue_test_%' ORDER BY oid DESC LIMIT 1`,
    );
    schema = row.nspname;
  });
  afterEach(async () => {
    await module?.close();
  });

  it('drains until no job the app runs is due, follow-up jobs included, and says what finished', async () => {
    const order = await tester.queue.enqueue('tt.order', { orderId: 'o-1' });
    const { completed, failed } = await tester.drain();
    expect(failed).toEqual([]);
    expect(completed.map((job) => job.type).sort()).toEqual(['tt.mail', 'tt.order']);
    expect(completed.find((job) => job.id === order.id)?.result).toEqual({ charged: 'o-1' });
    expect(module.get(Mailer).sent).toEqual(['buyer@example.com']);
  });

  it('rejects a drain in which jobs failed for good, naming them, unless failures are allowed', async () => {
    const failing = await tester.queue.enqueue('tt.fails', {});
    const error = (await tester.drain().catch((e: unknown) => e)) as JobsFailedError;
    expect(error).toBeInstanceOf(JobsFailedError);
    expect(error.failed.map((job) => job.id)).toEqual([failing.id]);
    expect(error.message).toContain('card declined');

    await tester.queue.enqueue('tt.fails', {});
    const { failed } = await tester.drain({ allowFailures: true });
    expect(failed).toHaveLength(1);
  });

  it('runs a handler through DI with a recording context, its schema applied, writing nothing', async () => {
    const ctx = new TestJobContext({ type: 'tt.order' });
    const result = await tester.run('tt.order', { orderId: 'o-2' }, ctx);
    expect(result).toEqual({ charged: 'o-2' });
    expect(ctx.progressUpdates).toEqual([{ percent: 50, stage: 'charging' }]);
    expect(ctx.logs).toEqual(['charged order o-2']);
    // The handler's own enqueue is real (it is the app's code); run() itself wrote no job for tt.order.
    expect((await tester.jobs({ type: 'tt.order' })).length).toBe(0);
    expect((await tester.jobs({ type: 'tt.mail' })).map((job) => job.payload)).toEqual([{ to: 'buyer@example.com' }]);
    await expect(tester.run('tt.order', { orderId: 7 } as never)).rejects.toThrow(InvalidPayloadError);
    // The worker's own checks: what it would refuse, the test context refuses too.
    expect(() => new TestJobContext().snooze(-1)).toThrow(InvalidJobError);
    await expect(new TestJobContext().progress(101)).rejects.toThrow(InvalidJobError);
    await expect(tester.run('tt.unknown', {})).rejects.toThrow(/No handler for job type tt.unknown/);
  });

  it('lists what was enqueued, oldest first', async () => {
    await tester.queue.enqueue('tt.mail', { to: 'a@example.com' }, { delayMs: 60_000 });
    await tester.queue.enqueue('tt.mail', { to: 'b@example.com' }, { delayMs: 60_000 });
    expect((await tester.jobs({ type: 'tt.mail' })).map((job) => job.payload)).toEqual([{ to: 'a@example.com' }, { to: 'b@example.com' }]);
  });

  it('fires no schedule, works in a schema of its own, and drops it at shutdown', async () => {
    expect(schema).toMatch(/^pgqueue_test_[0-9a-f]{12}$/);
    expect(await tester.queue.listSchedules()).toEqual([]);
    await module.close();
    expect(await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).toEqual([]);
  });
});
