import { Injectable, type LoggerService } from '@nestjs/common';
import { JobHandler, PgQueueConfigError, type JobContext } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { LogCapture } from '../support/log-capture';
import { FAST_WORKER, useQueueApps } from '../support/queue-app';

@Injectable()
class LoggingHandlers {
  @JobHandler('lg.work')
  work(_: unknown, ctx: JobContext) {
    ctx.log('rendering page 1');
    return 'done';
  }

  @JobHandler('lg.fails', { maxAttempts: 1 })
  fails() {
    throw new Error('printer on fire');
  }
}

/** A logger as nestjs-pino's is: whatever message it is given, object or text, with the context last. */
class RecordingLogger implements LoggerService {
  readonly calls: Array<{ level: string; message: unknown; context: unknown }> = [];
  log = (message: unknown, ...rest: unknown[]) => this.record('log', message, rest);
  warn = (message: unknown, ...rest: unknown[]) => this.record('warn', message, rest);
  error = (message: unknown, ...rest: unknown[]) => this.record('error', message, rest);
  debug = (message: unknown, ...rest: unknown[]) => this.record('debug', message, rest);
  private record(level: string, message: unknown, rest: unknown[]) {
    this.calls.push({ level, message, context: rest[rest.length - 1] });
  }
  about(jobId: string) {
    return this.calls.filter((call) => typeof call.context === 'string' && call.context.endsWith(`#${jobId}`));
  }
}

describe('logger options', () => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let appLogs: LogCapture;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    appLogs = new LogCapture();
    apps.defer(() => appLogs.restore());
  });

  it("sends the module's lines to a logger of the user's, job lines as objects with their fields when structured", async () => {
    const logger = new RecordingLogger();
    const app = await apps.start(db, {
      providers: [LoggingHandlers],
      worker: FAST_WORKER,
      module: { logger, structuredLogs: true },
      logger: appLogs,
    });
    const done = await app.queue.enqueue('lg.work', {});
    const failed = await app.queue.enqueue('lg.fails', {});
    await waitFor(() => logger.about(failed.id).some((call) => call.level === 'error'));
    await waitFor(() => logger.about(done.id).length > 0);

    expect(logger.about(done.id)).toEqual([
      {
        level: 'log',
        message: { msg: 'rendering page 1', jobId: done.id, jobType: 'lg.work', attempt: 1 },
        context: `PgQueue:lg.work #${done.id}`,
      },
    ]);
    const [failure] = logger.about(failed.id);
    expect(failure.message).toEqual({
      msg: 'Failed for good after 1 attempt(s): Error: printer on fire',
      jobId: failed.id,
      jobType: 'lg.fails',
      attempt: 1,
    });
    // The boot line goes there too, and none of it to the application's own logger.
    expect(logger.calls.some((call) => call.context === 'PgQueueWorker')).toBe(true);
    expect(appLogs.lines.filter((line) => line.context?.startsWith('PgQueue'))).toEqual([]);
  });

  it('writes no line at all with logger: false', async () => {
    const app = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER, module: { logger: false }, logger: appLogs });
    const failed = await app.queue.enqueue('lg.fails', {});
    await waitFor(async () => (await app.queue.getJob(failed.id))?.status === 'failed');
    const done = await app.queue.enqueue('lg.work', {});
    await waitFor(async () => (await app.queue.getJob(done.id))?.status === 'completed');
    expect(appLogs.lines.filter((line) => line.context?.startsWith('PgQueue'))).toEqual([]);
  });

  it("writes a line per attempt at 'debug' when asked, and none by default", async () => {
    const quiet = await apps.start(db, { providers: [LoggingHandlers], worker: FAST_WORKER, logger: appLogs });
    const first = await quiet.queue.enqueue('lg.work', {});
    await waitFor(async () => (await quiet.queue.getJob(first.id))?.status === 'completed');
    await waitFor(() => appLogs.matching('rendering page 1').length === 1);
    expect(appLogs.lines.filter((line) => line.level === 'debug' && line.context?.startsWith('PgQueue'))).toEqual([]);
    await quiet.close();

    const logger = new RecordingLogger();
    const app = await apps.start(db, {
      providers: [LoggingHandlers],
      worker: FAST_WORKER,
      module: { logger, logLevels: ['error', 'warn', 'log', 'debug'] },
    });
    const job = await app.queue.enqueue('lg.work', {});
    await waitFor(() => logger.about(job.id).filter((call) => call.level === 'debug').length === 2);
    const debug = logger.about(job.id).filter((call) => call.level === 'debug');
    expect(debug[0].message).toBe('Attempt 1 of 3 started.');
    expect(debug[1].message).toMatch(/^Attempt 1 completed after \d+ ms\.$/);
  });

  it.each([
    [{ logger: {} }, 'logger'],
    [{ logLevels: ['loud'] }, 'logLevels'],
    [{ structuredLogs: 'yes' }, 'structuredLogs'],
  ])('refuses %p at bootstrap', async (options, name) => {
    await expect(apps.start(db, { module: options as never })).rejects.toThrow(PgQueueConfigError);
    await expect(apps.start(db, { module: options as never })).rejects.toThrow(name);
  });
});
