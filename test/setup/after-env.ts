/**
 * Runs in every test file before its tests.
 *
 * The per-file connection-leak check lives in test/setup/environment.ts (a jest
 * environment event that runs after ALL afterAll hooks of the file; an afterAll
 * registered here would run before the file's own afterAll hooks, see there).
 * This file only makes sure that machinery is in place, so the check cannot be
 * lost silently by a config change.
 */
import { LEAK_CHECK_MARKER, TEST_DATABASE_URL_ENV } from '../support/database';

if (!(LEAK_CHECK_MARKER in globalThis)) {
  throw new Error(
    'test/setup/environment.ts is not the jest testEnvironment: connection-leak checks would be skipped. ' +
      'Run the tests with the repository jest.config.js.',
  );
}

if (!process.env[TEST_DATABASE_URL_ENV]) {
  throw new Error(
    `${TEST_DATABASE_URL_ENV} is not set: test/setup/global-setup.ts did not run. ` + 'Run the tests with the repository jest.config.js.',
  );
}
