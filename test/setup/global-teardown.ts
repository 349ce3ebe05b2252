/**
 * Jest global teardown: stops the PostgreSQL started by test/setup/global-setup.ts
 * (container or embedded server; nothing for DATABASE_URL) and removes its temp files.
 */
import type { Config } from '@jest/types';
import { SERVER_HANDLE, type TestDatabaseServer } from './global-setup';

/** How long jest may stay alive after this teardown before the watchdog fails the run. */
const EXIT_WATCHDOG_MS = 15_000;

export default async function globalTeardown(globalConfig?: Config.GlobalConfig): Promise<void> {
  const holder = globalThis as typeof globalThis & { [SERVER_HANDLE]?: TestDatabaseServer };
  const server = holder[SERVER_HANDLE];
  delete holder[SERVER_HANDLE];

  if (server) {
    // With --runInBand (also the default on a 2-CPU machine: maxWorkers 1) the test files
    // ran in this process: a connection some test leaked gets "terminating connection due
    // to administrator command" when the server stops, and a pg client without an 'error'
    // listener would crash jest before the temp files are removed. Report it in one line
    // and fail the run instead.
    const onUncaught = (error: unknown): void => {
      const cause = (error as { context?: unknown } | null)?.context ?? error;
      const message = cause instanceof Object && 'message' in cause ? String(cause.message) : String(cause);
      console.error(`[pgqueue tests] a leaked connection failed while PostgreSQL stopped: ${message}`);
      process.exitCode = 1;
    };
    process.on('uncaughtException', onUncaught);
    try {
      await server.stop();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  }

  // Watchdog, not forceExit: a clean run exits by itself long before this fires (the
  // timer is unref'd and keeps nothing alive). When code under test leaked a timer,
  // socket or reconnect loop in this process (runInBand), jest would otherwise hang
  // forever — in CI until the job times out. Fail loudly instead.
  if (!globalConfig?.watch && !globalConfig?.watchAll) {
    setTimeout(() => {
      console.error(
        `[pgqueue tests] jest is still running ${EXIT_WATCHDOG_MS / 1000} s after the test run ended: ` +
          'something leaked (a pool, client, timer or LISTEN reconnect loop). Failing the run instead of hanging; ' +
          'the leak check may already have named the test file, else run `npx jest --detectOpenHandles`.',
      );
      // jest sets process.exitCode from the test results in its own 'exit' listener;
      // this listener is added later, so it runs last.
      process.on('exit', () => {
        process.exitCode = 1;
      });
      process.exit(1);
    }, EXIT_WATCHDOG_MS).unref();
  }
}
