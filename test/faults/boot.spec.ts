/**
 * Eight worker processes booting at the same moment on a schema that does not exist yet: the migrations run once
 * (under the advisory lock), and every process comes up and claims work. And booting against a server that cannot
 * take the connection yet (waited for, logged once), that is not there (connectTimeoutMs), or that turns the
 * connection away for good (fails at once).
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import * as migrator from '../../lib/db/migrator';
import { DatabaseAccessError, DatabaseUnreachableError, PgQueueModule, type PgQueueModuleOptions } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { freePort } from '../support/embedded-postgres';
import { jobRows } from '../support/jobs';
import { LogCapture } from '../support/log-capture';
import { useQueueApps } from '../support/queue-app';
import { analyzeLedger, expectHealthy, installAudit } from './support/ledger';
import { openScene, type Scene } from './support/scene';
import { rejectionOf } from '../support/jobs';

describe('faults: a fleet booting at once', () => {
  let scene: Scene;
  let fresh: TestDatabase;
  const apps = useQueueApps();

  beforeAll(async () => {
    scene = await openScene(); // holds the ledger; the queue gets a schema of its own that nobody created yet
    fresh = await createTestDatabase();
  });
  afterAll(async () => {
    await scene?.fleet.killAll();
    await fresh?.close();
    await scene?.close();
  });

  it('eight processes on an empty schema: one migration run, all eight healthy', async () => {
    const [{ exists }] = await fresh.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists', [
      fresh.schema,
    ]);
    expect(exists).toBe(false);

    const workers = Array.from({ length: 8 }, () =>
      scene.fleet.spawn({ SCHEMA: fresh.schema, LEDGER_SCHEMA: scene.schema, CONCURRENCY: 2, HANDLER_CONCURRENCY: 2 }),
    );
    await Promise.all(workers.map((w) => w.ready));

    // One run: every migration recorded once, all by the same transaction (one now() for all of them).
    const migrations = await fresh.query<{ version: number; applied_at: Date }>(
      `SELECT version, applied_at FROM "${fresh.schema}".migrations ORDER BY version`,
    );
    expect(migrations.length).toBeGreaterThanOrEqual(1);
    expect(new Set(migrations.map((m) => m.version)).size).toBe(migrations.length);
    expect(new Set(migrations.map((m) => m.applied_at.getTime())).size).toBe(1);
    for (const w of workers) expect(w.output()).not.toMatch(/error/i);

    // All healthy: sixteen held jobs fill exactly two slots in each of the eight processes.
    await installAudit(fresh.admin, fresh.schema);
    const producer = await apps.start(fresh, { worker: { enabled: false } });
    const jobs = await producer.queue.enqueueMany(Array.from({ length: 16 }, () => ({ type: 'fault.work', payload: { gate: 'go' } })));
    await waitFor(async () => (await scene.ledger("event = 'start'")).length === 16, { timeoutMs: 15_000, message: 'sixteen started' });
    const perProcess = new Map<number, number>();
    for (const r of await scene.ledger("event = 'start'")) perProcess.set(r.pid, (perProcess.get(r.pid) ?? 0) + 1);
    expect([...perProcess.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());
    expect([...perProcess.values()]).toEqual(Array(8).fill(2));

    scene.gates.open('go');
    const ids = jobs.map((j) => j.id);
    await waitFor(async () => (await jobRows(fresh, ['status'], ids)).every((r) => r.status === 'completed'), {
      message: 'sixteen completed',
    });
    const report = await analyzeLedger(fresh.admin, fresh.schema, { ledgerSchema: scene.schema });
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });
});

describe('faults: booting while PostgreSQL cannot take the connection', () => {
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

  /** Boots the module, its log lines going to `logs`. */
  const boot = (options: PgQueueModuleOptions): Promise<TestingModule> =>
    Test.createTestingModule({ imports: [PgQueueModule.forRoot({ worker: { enabled: false }, ...options })] })
      .setLogger(logs)
      .compile()
      .then(async (app) => (await app.init(), app));
  const lines = (level: 'warn' | 'log') => logs.lines.filter((line) => line.level === level).map((line) => line.message);
  const waits = () => lines('warn').filter((line) => /not reachable/.test(line));

  /**
   * `url` as another user, keeping the file's application_name (for the leak check). With a password: the server
   * may ask for one (CI's embedded PostgreSQL does), and an empty one is refused before the role is even looked at.
   */
  const ROLE_PASSWORD = `pw_${randomBytes(6).toString('hex')}`;
  const asUser = (user: string, url = db.url) => Object.assign(new URL(url), { username: user, password: ROLE_PASSWORD }).toString();

  it('every connection slot of its role taken (53300): waits, logs it once, and comes up when a slot frees', async () => {
    const role = `pgq_boot_${process.pid}_${randomBytes(4).toString('hex')}`;
    const [{ database }] = await db.query<{ database: string }>('SELECT current_database() AS database');
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${ROLE_PASSWORD}' CONNECTION LIMIT 1`);
    await db.query(`GRANT CREATE ON DATABASE ${quoteIdent(database)} TO ${role}`);
    // Undone last, once the app below is closed and the holder has let go.
    apps.defer(async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(db.schema)} CASCADE`);
      await db.query(`DROP OWNED BY ${role}`);
      await db.query(`DROP ROLE ${role}`);
    });
    const holder = new Client({ connectionString: asUser(role) });
    apps.defer(() => holder.end().catch(() => undefined));
    await holder.connect(); // the role's one connection
    const booting = boot({ connectionString: asUser(role), schema: db.schema });
    booting.catch(() => undefined); // asserted below
    await waitFor(() => waits().length > 0, { message: 'the wait is logged' });
    expect(waits()).toEqual([expect.stringMatching(/too many connections for role .* \(SQLSTATE 53300\).*retrying with backoff/)]);
    const attempts = jest.spyOn(migrator, 'migrate');
    await waitFor(() => attempts.mock.calls.length >= 2, { message: 'two more attempts' });
    attempts.mockRestore();
    expect(waits()).toHaveLength(1);

    await holder.end();
    const app = apps.track(await booting);
    expect(waits()).toHaveLength(1);
    expect(lines('log')).toEqual(expect.arrayContaining([expect.stringMatching(/^PostgreSQL is reachable again after \d+\.\d s\.$/)]));
    const job = await app.queue.enqueue('boot.check', {});
    expect((await app.queue.getJob(job.id))?.status).toBe('pending');
  });

  it('nothing listening: with connectTimeoutMs, fails with DatabaseUnreachableError and the last cause, having logged the wait once', async () => {
    const port = await freePort();
    const attempts = jest.spyOn(migrator, 'migrate');
    const started = Date.now();
    const error = await rejectionOf(boot({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, connectTimeoutMs: 1500 }));
    const tries = attempts.mock.calls.length;
    attempts.mockRestore();
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect(error.message).toMatch(new RegExp(`within connectTimeoutMs \\(1500 ms\\).*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    // Tried at once, then after 250, 500 and 750 (the rest of the 1500) ms: one line for them all.
    expect(tries).toBeGreaterThanOrEqual(3);
    expect(waits()).toEqual([expect.stringMatching(/ECONNREFUSED.*for up to 1500 ms \(connectTimeoutMs\)/)]);
  });

  it.each([
    [
      'a database that does not exist (3D000)',
      () => Object.assign(new URL(db.url), { pathname: `/pgq_missing_${randomBytes(4).toString('hex')}` }).toString(),
      /database "pgq_missing_\w+" does not exist \(SQLSTATE 3D000\)/,
    ],
    [
      'a role that does not exist (28000, or 28P01 where the server asks for a password and keeps the reason to itself)',
      () => asUser(`pgq_nobody_${randomBytes(4).toString('hex')}`),
      /role "pgq_nobody_\w+" does not exist \(SQLSTATE 28000\)|password authentication failed for user "pgq_nobody_\w+" \(SQLSTATE 28P01\)/,
    ],
    [
      'TLS asked of a server without it',
      () => {
        const url = new URL(db.url);
        url.searchParams.set('ssl', 'true');
        return url.toString();
      },
      /does not support SSL/,
    ],
  ])('%s: fails at once with DatabaseAccessError and the cause, without waiting', async (_, url, cause) => {
    const [{ ssl }] = await db.query<{ ssl: string }>('SHOW ssl');
    if (String(cause).includes('SSL') && ssl === 'on') return; // this test server speaks TLS: nothing to refuse
    const error = await rejectionOf(boot({ connectionString: url(), schema: db.schema }));
    expect(error).toBeInstanceOf(DatabaseAccessError);
    expect(error.message).toMatch(cause);
    expect(error.message).toContain('Waiting would not change that');
    expect(error.cause).toBeInstanceOf(Error);
    expect(waits()).toEqual([]);
  });
});
