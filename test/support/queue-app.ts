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

/**
 * Boots a real Nest application context with PgQueueModule.forRoot on the test schema. Always close it: inside a test,
 * start it through useQueueApps() instead, which closes it after the test.
 */
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
  return queueApp(module);
}

/** A QueueApp around an initialised module; its close() closes the module once, however often it is called. */
function queueApp(module: TestingModule): QueueApp {
  let closed: Promise<void> | undefined;
  return { module, queue: module.get(QueueService), close: () => (closed ??= module.close()) };
}

export interface QueueApps {
  /** startQueueApp(db, options); the app is closed after the test. */
  start(db: TestDatabase, options?: QueueAppOptions): Promise<QueueApp>;
  /**
   * An app the test composed itself (forRootAsync, a pool of its own, ...), once its init() has succeeded (Nest
   * cannot close a module whose init failed); it is closed after the test.
   */
  track(module: TestingModule): QueueApp;
  /**
   * Runs `cleanup` after the test. Cleanups run last first, so defer what an app uses (its pool, a client holding a
   * lock, a schema) before starting the app: the app is then closed before it.
   */
  defer(cleanup: () => unknown): void;
}

/**
 * Queue apps that close themselves. Call it in a describe body, then start the apps of a test (or of a beforeEach
 * registered after this call) with `apps.start(db, options)`: after each test, whatever its outcome, everything it
 * started, tracked or deferred is undone, last first. An app the test closes itself on purpose stays closed (close()
 * is idempotent). A database made for one test is deferred before the test's apps start, so it is dropped after them.
 *
 * `beforeClose` runs after each test before anything is undone: open there a gate that held handlers wait on, or
 * their apps' shutdown would wait for them. An app of a beforeAll is not for this helper: close it in the afterAll,
 * or use withQueueApp().
 */
export interface QueueAppsOptions {
  beforeClose?: () => unknown;
}

export function useQueueApps(options: QueueAppsOptions = {}): QueueApps {
  let cleanups: Array<() => unknown> = [];
  let inTest = false;
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    const undo = cleanups.reverse();
    cleanups = [];
    const errors: unknown[] = [];
    for (const cleanup of options.beforeClose ? [options.beforeClose, ...undo] : undo) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups after the test failed`);
  });
  const duringTest = (): void => {
    if (!inTest) {
      throw new Error('useQueueApps(): start(), track() and defer() are for a test or its beforeEach; in a beforeAll, use withQueueApp()');
    }
  };
  const defer = (cleanup: () => unknown): void => {
    duringTest();
    cleanups.push(cleanup);
  };
  return {
    async start(db, options) {
      duringTest(); // before booting anything
      const app = await startQueueApp(db, options);
      if (!inTest) {
        // The test ended (timed out) while the app booted: its cleanups have run already.
        await app.close();
        throw new Error('useQueueApps(): the test ended while its app was booting');
      }
      defer(() => app.close());
      return app;
    },
    track(module) {
      const app = queueApp(module);
      defer(() => app.close());
      return app;
    },
    defer,
  };
}

/** Starts an app, hands it to `use`, and closes it whatever `use` does: a short-lived app outside a test (a producer in a beforeAll). */
export async function withQueueApp<T>(db: TestDatabase, options: QueueAppOptions, use: (app: QueueApp) => Promise<T>): Promise<T> {
  const app = await startQueueApp(db, options);
  try {
    return await use(app);
  } finally {
    await app.close();
  }
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
