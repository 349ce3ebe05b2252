import { Inject, Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { startQueueApp, type QueueApp } from '../support/queue-app';

const APP_NAME = 'APP_NAME';
const runs: Array<{ id: string; app: string }> = [];

@Injectable()
class CountingHandlers {
  constructor(@Inject(APP_NAME) private readonly app: string) {}

  @JobHandler('count.me')
  async count(_: unknown, ctx: JobContext) {
    runs.push({ id: ctx.job.id, app: this.app });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('two applications on one database', () => {
  let db: TestDatabase;
  let apps: QueueApp[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    apps = await Promise.all(
      ['a', 'b'].map((name) =>
        startQueueApp(db, { providers: [CountingHandlers, { provide: APP_NAME, useValue: name }], worker: { concurrency: 8 } }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await db?.close();
  });

  it('never run one job twice, and share the work', async () => {
    const total = 600;
    const jobs = await apps[0].queue.enqueueMany(Array.from({ length: total }, (_, i) => ({ type: 'count.me', payload: { i } })));
    await waitFor(async () => (await countJobs(db, "status = 'completed'")) === total, {
      timeoutMs: 30_000,
      message: `all ${total} jobs completed`,
    });

    const perJob = new Map<string, number>();
    runs.forEach((run) => perJob.set(run.id, (perJob.get(run.id) ?? 0) + 1));
    expect(perJob.size).toBe(total);
    expect([...perJob.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(perJob.keys()));
    expect(runs.filter((r) => r.app === 'a').length).toBeGreaterThan(0);
    expect(runs.filter((r) => r.app === 'b').length).toBeGreaterThan(0);
    const [{ attempts }] = await db.query<{ attempts: number }>(`SELECT max(attempts) AS attempts FROM ${db.schema}.jobs`);
    expect(attempts).toBe(1);
  });
});
