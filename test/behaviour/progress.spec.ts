import { Injectable } from '@nestjs/common';
import { JobHandler, InvalidJobError, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { startQueueApp, type QueueApp } from '../support/queue-app';

const CALLS = 2000;
const progressErrors: unknown[] = [];

@Injectable()
class ChattyHandlers {
  @JobHandler('chatty')
  async chatty(_: unknown, ctx: JobContext) {
    for (let i = 1; i <= CALLS; i++) await ctx.progress((i * 100) / CALLS, `step ${i}`);
    await ctx.progress(37, 'last word');
    for (const bad of [-1, 101, Number.NaN, '50' as unknown as number]) {
      await ctx.progress(bad).catch((error) => progressErrors.push(error));
    }
    throw new Error('fail so that the last progress value, not 100, is what must be kept');
  }
}

describe('progress', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [ChattyHandlers] });
    // Count every row update the queue makes, from inside the database.
    await db.query(`CREATE TABLE ${db.schema}.update_count (n int NOT NULL)`);
    await db.query(`INSERT INTO ${db.schema}.update_count VALUES (0)`);
    await db.query(`CREATE FUNCTION ${db.schema}.count_update() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN UPDATE ${db.schema}.update_count SET n = n + 1; RETURN NULL; END $$`);
    await db.query(
      `CREATE TRIGGER count_updates AFTER UPDATE ON ${db.schema}.jobs FOR EACH ROW EXECUTE FUNCTION ${db.schema}.count_update()`,
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('coalesces fast progress calls into a few writes and never loses the last value', async () => {
    const { id } = await app.queue.enqueue('chatty', {}, { maxAttempts: 1 });
    await waitFor(async () => (await app.queue.getJob(id))?.status === 'failed');
    const job = await app.queue.getJob(id);
    expect(job).toMatchObject({ progress: 37, stage: 'last word' });
    const [{ n }] = await db.query<{ n: number }>(`SELECT n FROM ${db.schema}.update_count`);
    // claim + final failure + at most a handful of timed flushes, for 2001 progress calls
    expect(n).toBeLessThan(10);
  });

  it('rejects invalid progress values with a typed error', () => {
    expect(progressErrors).toHaveLength(4);
    progressErrors.forEach((error) => expect(error).toBeInstanceOf(InvalidJobError));
  });
});
