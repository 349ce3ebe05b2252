/**
 * Jest's node environment plus a connection-leak check per test file.
 *
 * When a test file has finished (all tests and ALL its afterAll hooks), this checks
 * pg_stat_activity for server connections still carrying the file's application_name
 * (see fileTag() in test/support/database.ts) and fails the file when any remain
 * after a grace period: a pool that was never ended, a forgotten client, a LISTEN
 * connection that outlives the module, or a TestDatabase that was never closed.
 *
 * Why not an afterAll in setupFilesAfterEnv: jest-circus runs root afterAll hooks in
 * registration order, so a hook from setupFilesAfterEnv runs BEFORE the test file's
 * own afterAll (which is where the file closes its app/pools) and would always see
 * open connections. The `run_finish` event comes after every hook of the file.
 *
 * Caveat: only connections whose application_name is the file's tag are seen. Code
 * under test that overrides application_name escapes the check.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment as NodeEnvironment } from 'jest-environment-node';
import * as path from 'node:path';
import { Client } from 'pg';
import { adminTag, fileTag, LEAK_CHECK_MARKER, redactUrl, TEST_DATABASE_URL_ENV, waitFor } from '../support/database';

/** How long open connections may take to go away after the file's last hook. */
const LEAK_GRACE_MS = 5_000;

interface LeakedConnection {
  pid: number;
  application_name: string;
  state: string | null;
  backend_start: Date;
  query: string | null;
}

export default class PgQueueTestEnvironment extends NodeEnvironment {
  private readonly tag: string;
  private readonly testPath: string;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.testPath = path.relative(config.projectConfig.rootDir, context.testPath);
    this.tag = fileTag(context.testPath);
    (this.global as Record<string, unknown>)[LEAK_CHECK_MARKER] = { tag: this.tag };
  }

  async handleTestEvent(event: Circus.Event, state: Circus.State): Promise<void> {
    if (event.name !== 'run_finish') return;
    const error = await this.checkForLeaks();
    // Errors pushed here are reported by jest as a failure of the whole test file
    // ("Test suite failed to run") while the individual test results are kept.
    if (error) state.unhandledErrors.push(error);
  }

  private async checkForLeaks(): Promise<Error | undefined> {
    const url = process.env[TEST_DATABASE_URL_ENV];
    if (!url) return new Error(`${TEST_DATABASE_URL_ENV} is not set; cannot check for leaked connections`);

    const names = [this.tag, adminTag(this.tag)];
    const client = new Client({ connectionString: url, application_name: 'pgqt_leak_check', connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      return new Error(`leak check: cannot connect to ${redactUrl(url)}: ${String(error)}`, { cause: error });
    }
    let leaked: LeakedConnection[] = [];
    try {
      await waitFor(
        async () => {
          const { rows } = await client.query<LeakedConnection>(
            `SELECT pid, application_name, state, backend_start, left(query, 200) AS query
               FROM pg_stat_activity
              WHERE application_name = ANY($1::text[]) AND pid <> pg_backend_pid()
              ORDER BY backend_start`,
            [names],
          );
          leaked = rows;
          return rows.length === 0;
        },
        { timeoutMs: LEAK_GRACE_MS, intervalMs: 50, message: 'leaked connections to close' },
      );
      return undefined;
    } catch (error) {
      if (leaked.length === 0) {
        return new Error(`leak check failed: ${String(error)}`, { cause: error });
      }
      const lines = leaked.map(
        (c) =>
          `  pid ${c.pid} application_name=${c.application_name} state=${c.state ?? '?'} ` +
          `opened ${c.backend_start.toISOString()} last query: ${JSON.stringify(c.query ?? '')}`,
      );
      const leakError = new Error(
        `${leaked.length} PostgreSQL connection(s) opened by ${this.testPath} are still open ` +
          `${LEAK_GRACE_MS} ms after the file finished (a pool/client/LISTEN connection was not closed, ` +
          `or a TestDatabase was not close()d):\n${lines.join('\n')}`,
      );
      // No frames: those of this environment are noise (and not source-mapped). jest
      // reports an error of run_finish by its stack alone, so the stack is the message
      // (an empty one would be printed as 'Expected an Error, but "" was thrown').
      leakError.stack = leakError.message;
      return leakError;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
