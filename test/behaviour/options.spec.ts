/**
 * Module options are checked strictly at bootstrap, on every path (forRoot and forRootAsync alike): an unknown key
 * at any level, a value of the wrong type, or a connection string that can never work fails the bootstrap with
 * PgQueueConfigError before any connection is tried, instead of being ignored or waited for as if it were an outage.
 */
import type { DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DatabaseUnreachableError, PgQueueConfigError, PgQueueModule, QueueService, type PgQueueModuleOptions } from '../../lib';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort } from '../support/embedded-postgres';
import { LogCapture } from '../support/log-capture';
import { useQueueApps } from '../support/queue-app';

/** The options as forRoot() takes them, and as a forRootAsync() factory returns them. */
const bothPaths = (options: Record<string, unknown>): Array<[string, DynamicModule]> => [
  ['forRoot', PgQueueModule.forRoot(options)],
  ['forRootAsync', PgQueueModule.forRootAsync({ useFactory: () => options })],
];

/** Boots the module (its log lines to `logger`) and returns the bootstrap's error; a module that comes up is closed and fails the test. */
async function bootError(module: DynamicModule, logger?: LogCapture): Promise<Error> {
  let app;
  try {
    const builder = Test.createTestingModule({ imports: [module] });
    if (logger) builder.setLogger(logger);
    app = await builder.compile();
    await app.init();
  } catch (error) {
    return error as Error;
  }
  await app.close();
  throw new Error('the module booted');
}

describe('module options', () => {
  let db: TestDatabase;
  let logs: LogCapture;
  const apps = useQueueApps();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  beforeEach(() => {
    logs = new LogCapture();
  });
  afterEach(() => {
    logs.restore();
  });
  afterAll(async () => {
    await db?.close();
  });

  const valid = () => ({ connectionString: db.url, schema: db.schema, worker: { enabled: false } });

  it('names every misspelt key of a forRootAsync factory, with the option it resembles', async () => {
    const error = await bootError(
      PgQueueModule.forRootAsync({
        useFactory: () => ({ ...valid(), worker: { concurency: 5 }, migrat: false }) as PgQueueModuleOptions,
      }),
    );
    expect(error).toBeInstanceOf(PgQueueConfigError);
    expect(error.message).toContain('Unknown option migrat: did you mean migrate?');
    expect(error.message).toContain('Unknown option worker.concurency: did you mean worker.concurrency?');
  });

  it.each([
    ['at the top level', { migrat: false }, 'migrat: did you mean migrate?'],
    ['at the top level, from the wrong level', { concurrency: 4 }, 'concurrency: did you mean worker.concurrency?'],
    ['in worker', { worker: { pollInterval: 50 } }, 'worker.pollInterval: did you mean worker.pollIntervalMs?'],
    ['in retention', { retention: { completed: 0 } }, 'retention.completed: did you mean retention.completedMs?'],
    ['with nothing like it', { worker: { colour: 'red' } }, 'worker.colour: worker takes enabled, concurrency'],
  ])('rejects an unknown key %s, through forRoot and forRootAsync', async (_, extra, expected) => {
    for (const [path, module] of bothPaths({
      ...valid(),
      ...extra,
      worker: { enabled: false, ...(extra as { worker?: object }).worker },
    })) {
      const error = await bootError(module);
      expect([path, error]).toEqual([path, expect.any(PgQueueConfigError)]);
      expect(error.message).toContain(`Unknown option ${expected}`);
    }
  });

  it.each([
    ['migrate', { migrate: 'false' }, 'migrate: "false"; expected true or false'],
    ['worker.enabled', { worker: { enabled: 'no' } }, 'worker.enabled: "no"; expected true or false'],
    ['worker', { worker: 4 }, 'worker: 4; expected an object'],
    ['retention', { retention: 'forever' }, 'retention: "forever"; expected an object'],
    ['schema', { schema: 42 }, 'Invalid schema name "42"'],
    ['connectionString', { connectionString: 42 }, 'connectionString: 42; expected a string'],
    ['pool', { connectionString: undefined, pool: { query: 'SELECT 1' } }, 'pool: object; expected a pg Pool'],
    ['connectTimeoutMs', { connectTimeoutMs: -1 }, 'connectTimeoutMs: -1; expected an integer from 0'],
  ])('type-checks %s, through forRoot and forRootAsync', async (_, wrong, expected) => {
    for (const [path, module] of bothPaths({ ...valid(), ...wrong })) {
      const error = await bootError(module);
      expect([path, error]).toEqual([path, expect.any(PgQueueConfigError)]);
      expect(error.message).toContain(expected);
    }
  });

  it('takes isGlobal beside the options of forRoot, and points a forRootAsync factory that returns it to the right place', async () => {
    const app = await Test.createTestingModule({ imports: [PgQueueModule.forRoot({ ...valid(), isGlobal: true })] }).compile();
    await app.init();
    expect(app.get(QueueService)).toBeInstanceOf(QueueService);
    await app.close();

    const error = await bootError(
      PgQueueModule.forRootAsync({ isGlobal: true, useFactory: () => ({ ...valid(), isGlobal: true }) as PgQueueModuleOptions }),
    );
    expect(error).toBeInstanceOf(PgQueueConfigError);
    expect(error.message).toContain('give it to forRootAsync() itself');
  });

  it('accepts the known keys of every level, pooler and listenConnectionString included', async () => {
    const options = {
      ...valid(),
      migrate: true,
      maxPayloadBytes: 1024,
      preparedStatements: true,
      connectTimeoutMs: 5000,
      pooler: undefined,
      listenConnectionString: db.url,
      worker: { enabled: false, concurrency: 2, prefetch: 0, leaseMs: 2000, pollIntervalMs: 100, shutdownTimeoutMs: 1000 },
      retention: { completedMs: 1000, failedMs: 1000, cancelledMs: 1000, pruneIntervalMs: 1000 },
    };
    const app = await Test.createTestingModule({
      imports: [PgQueueModule.forRootAsync({ useFactory: () => options })],
    }).compile();
    await app.init();
    const job = await app.get(QueueService).enqueue('options.check', {});
    expect(job.status).toBe('pending');
    await app.close();
  });

  describe('connectionString', () => {
    it.each([
      ['a missing colon', 'postgress//oops', 'it lacks a scheme such as postgres://'],
      ['a missing scheme', '127.0.0.1:5432/test', 'it lacks a scheme such as postgres://'],
      ['an out-of-range port', 'postgres://:99999/x', 'node-postgres cannot use it (Invalid URL)'],
      ['port 0', 'postgres://127.0.0.1:0/test', 'its port 0 is not from 1 to 65535'],
      ['an empty string', '', 'it is empty'],
      ['key=value pairs (node-postgres reads none)', 'host=127.0.0.1 dbname=test', 'node-postgres does not read key=value'],
      [
        'a certificate file that does not exist',
        'postgres://u:secret@127.0.0.1/test?sslcert=/nonexistent/client.crt',
        'node-postgres cannot use it (ENOENT',
      ],
    ])('refuses %s at once, without waiting, and without repeating the string', async (_, connectionString, why) => {
      for (const [path, module] of bothPaths({ connectionString, worker: { enabled: false } })) {
        const error = await bootError(module, logs);
        expect([path, error]).toEqual([path, expect.any(PgQueueConfigError)]);
        expect(error.message).toContain(`Invalid option connectionString: ${why}`);
        expect(error.message).not.toContain('secret');
      }
      expect(logs.lines.filter((line) => line.level === 'warn')).toEqual([]);
    });

    // Nothing listens at these addresses, so each is tried and fails; what matters is that it got that far.
    it.each([
      ['a postgres:// URL', async () => `postgres://postgres@127.0.0.1:${await freePort()}/test`],
      ['a postgresql:// URL', async () => `postgresql://postgres@127.0.0.1:${await freePort()}/test?sslmode=disable`],
      ['a socket directory and database', async () => `${missingSocketDir()} test`],
      ['a socket: URL', async () => `socket://postgres@${missingSocketDir()}?db=test`],
      ['a URL with the socket directory in ?host=', async () => `postgres://postgres@/test?host=${missingSocketDir()}`],
    ])('accepts %s, and tries to connect', async (_, connectionString) => {
      const error = await bootError(PgQueueModule.forRoot({ connectionString: await connectionString(), connectTimeoutMs: 0 }));
      expect(error).toBeInstanceOf(DatabaseUnreachableError);
    });

    it('a pool given instead is type-checked, not parsed', async () => {
      const pool = new Pool({ connectionString: db.url, max: 1 });
      apps.defer(() => pool.end());
      const app = await Test.createTestingModule({
        imports: [PgQueueModule.forRoot({ pool, schema: db.schema, worker: { enabled: false } })],
      }).compile();
      await app.init();
      await apps.track(app).close();
    });
  });
});

const missingSocketDir = () => join(tmpdir(), `pgqueue-no-server-${randomBytes(4).toString('hex')}`);
