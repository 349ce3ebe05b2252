import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { quoteSchema } from '../db/identifiers';
import { PgQueueModule } from '../pg-queue.module';
import type { PgQueueForRootOptions } from '../pg-queue.module-definition';

/** Drops the schema the testing module made up, once the app has shut down its worker. */
class TestSchemaDropper implements OnApplicationShutdown {
  constructor(private readonly options: PgQueueForRootOptions) {}

  async onApplicationShutdown(): Promise<void> {
    // SET LOCAL: no setting may stay behind on a connection of the user's pool.
    const sql = `BEGIN; SET LOCAL lock_timeout = '5s'; DROP SCHEMA IF EXISTS ${quoteSchema(this.options.schema)} CASCADE; COMMIT`;
    if (this.options.pool) return void (await this.options.pool.query(sql));
    const client = new Client({ connectionString: this.options.connectionString });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/**
 * `PgQueueModule` for tests: `PgQueueTestingModule.forRoot({ connectionString })` in `Test.createTestingModule`.
 * Without a `schema`, each instance works in a schema of its own (`pgqueue_test_<random>`), created at bootstrap and
 * dropped at shutdown, so test files never see one another's jobs. Schedules are not fired
 * (`worker.schedules: false`), and the worker polls every 50 ms. Every option can be given as for `forRoot()`.
 */
@Module({})
export class PgQueueTestingModule {
  static forRoot(options: PgQueueForRootOptions): DynamicModule {
    const ownSchema = options.schema === undefined;
    const resolved: PgQueueForRootOptions = {
      ...options,
      schema: options.schema ?? `pgqueue_test_${randomBytes(6).toString('hex')}`,
      worker: { pollIntervalMs: 50, shutdownTimeoutMs: 2000, schedules: false, ...options.worker },
    };
    return {
      module: PgQueueTestingModule,
      global: options.isGlobal,
      imports: [PgQueueModule.forRoot(resolved)],
      providers: ownSchema ? [{ provide: TestSchemaDropper, useValue: new TestSchemaDropper(resolved) }] : [],
      exports: [PgQueueModule],
    };
  }
}
