import type { LoggerService, ModuleMetadata, Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PgQueueModule, QueueService, type PgQueueModuleOptions, type WorkerOptions } from '../../lib';
import type { TestDatabase } from './database';

export interface QueueApp {
  module: TestingModule;
  queue: QueueService;
  close(): Promise<void>;
}

export interface QueueAppOptions {
  providers?: Provider[];
  imports?: ModuleMetadata['imports'];
  worker?: WorkerOptions;
  module?: Partial<PgQueueModuleOptions>;
  /** Every Nest log line of the app goes here (e.g. a LogCapture); by default Nest's testing logger prints errors only. */
  logger?: LoggerService;
}

/** Tests run fast: short polls and leases unless a test asks otherwise. */
export const FAST_WORKER: WorkerOptions = { concurrency: 4, pollIntervalMs: 100, leaseMs: 2000, shutdownTimeoutMs: 2000 };

/** Boots a real Nest application context with PgQueueModule.forRoot on the test schema. Always close it. */
export async function startQueueApp(db: TestDatabase, options: QueueAppOptions = {}): Promise<QueueApp> {
  const builder = Test.createTestingModule({
    imports: [
      PgQueueModule.forRoot({
        connectionString: db.url,
        schema: db.schema,
        ...options.module,
        worker: { ...FAST_WORKER, ...options.worker },
      }),
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  });
  if (options.logger) builder.setLogger(options.logger);
  const module = await builder.compile();
  await module.init();
  let closed: Promise<void> | undefined;
  return { module, queue: module.get(QueueService), close: () => (closed ??= module.close()) };
}

/** Records what handlers did, for assertions. */
export class Recorder<T = unknown> {
  readonly events: T[] = [];
  push(event: T): void {
    this.events.push(event);
  }
}

/** A promise with its resolve function outside, to hold a handler until the test lets it go. */
export function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}
