/**
 * The `nestjs-pgqueue` command (lib/cli), run as a child process from its TypeScript sources (through
 * test/fixtures/register-ts.js, so no build is needed) against the test database: `migrate` and `status`, the script
 * of `sql` applied as a migration tool would (and by psql where it is installed), and the refusal of a schema that
 * a newer version migrated, by the command and by the module's bootstrap.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { SchemaTooNewError } from '../../lib';
import { loadMigrations, migrationStatements } from '../../lib/db/migrator';
import { createTestDatabase, quoteIdent, type TestDatabase } from '../support/database';
import { startQueueApp, useQueueApps } from '../support/queue-app';

const ROOT = path.resolve(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'test/fixtures/register-ts.js');
const MAIN = path.join(ROOT, 'lib/cli/main.ts');
const HAS_PSQL = spawnSync('psql', ['--version']).status === 0;

const known = loadMigrations();
const last = known[known.length - 1];
const TOO_NEW = /has migration\(s\) 999, which this version of nestjs-pgqueue does not know \(its last is \d+\)/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end, in this process's environment without DATABASE_URL, plus `env`. */
function run(command: string, args: string[], { env = {}, input }: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  const { DATABASE_URL: _, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `nestjs-pgqueue ...args`, without DATABASE_URL unless `env` sets it. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, ['-r', REGISTER, MAIN, ...args], { env });

/** The script of `sql` for the schema (with more arguments, if any). */
async function sqlScript(schema: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await cli(['sql', '--schema', schema, ...args]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return stdout;
}

/** Sends a script as one string on one connection, as migration tools do; rolls back what an error leaves open. */
async function applyScript(db: TestDatabase, script: string, around?: { before: string; after: string }): Promise<void> {
  const client = await db.admin.connect();
  try {
    if (around) await client.query(around.before);
    await client.query(script);
    if (around) await client.query(around.after);
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** What a schema holds, with its name written as <schema>: tables, columns, indexes, constraints, triggers, functions. */
async function catalog(db: TestDatabase, schema: string) {
  const list = (sql: string) => db.query(sql, [schema]);
  const listing = {
    columns: await list(
      `SELECT table_name, column_name, ordinal_position, data_type, column_default, is_nullable, is_identity, identity_generation
       FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    ),
    indexes: await list('SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY tablename, indexname'),
    constraints: await list(
      `SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid WHERE t.relnamespace = $1::regnamespace ORDER BY 1, 2`,
    ),
    triggers: await list(
      `SELECT event_object_table, trigger_name, action_timing, event_manipulation, action_statement
       FROM information_schema.triggers WHERE trigger_schema = $1 ORDER BY 1, 2, 4`,
    ),
    functions: await list(
      'SELECT pg_get_functiondef(oid) AS definition FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY proname',
    ),
    storage: await list(
      `SELECT c.relname, c.relkind, c.reloptions, t.reloptions AS toast_options
       FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relnamespace = $1::regnamespace ORDER BY 1`,
    ),
    migrations: await db.query(`SELECT version, name FROM ${quoteIdent(schema)}.migrations ORDER BY version`),
  };
  return JSON.parse(JSON.stringify(listing).replaceAll(schema, '<schema>')) as typeof listing;
}

async function migrationRows(db: TestDatabase): Promise<Array<{ version: number; name: string; applied_at: Date }>> {
  return db.query(`SELECT version, name, applied_at FROM ${quoteIdent(db.schema)}.migrations ORDER BY version`);
}

async function schemaExists(db: TestDatabase): Promise<boolean> {
  const [{ exists }] = await db.query<{ exists: boolean }>('SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS exists', [
    db.schema,
  ]);
  return exists;
}

describe('nestjs-pgqueue command', () => {
  const databases: TestDatabase[] = [];
  const apps = useQueueApps();
  /** A schema of its own (not created yet), dropped after the file. */
  const fresh = async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };
  /** A schema as `migrate` leaves it: what every other way must match. */
  let reference: TestDatabase;
  let expected: Awaited<ReturnType<typeof catalog>>;

  beforeAll(async () => {
    reference = await fresh();
    const { code, stderr } = await cli(['migrate', '--schema', reference.schema, '--database-url', reference.url]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expected = await catalog(reference, reference.schema);
    // The listings see what there is to compare: empty ones would match anything.
    for (const [what, rows] of Object.entries(expected)) expect([what, rows.length]).not.toEqual([what, 0]);
    expect(expected.storage.find((row) => row.relname === 'jobs')?.reloptions).toEqual(expect.arrayContaining(['fillfactor=80']));
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.close()));
  });

  describe('usage', () => {
    it.each([
      ['no command', [], /Give a command: migrate, status or sql/],
      ['an unknown command', ['frobnicate'], /Unknown command "frobnicate"/],
      ['an unknown option', ['migrate', '--frob'], /Unknown option '--frob'/],
      ['an option without its value', ['sql', '--from'], /--from <value>' argument missing/],
      ["another command's option", ['migrate', '--from', '3'], /migrate takes no option --from/],
      ['a database for sql', ['sql', '--database-url', 'postgres://localhost/db'], /sql takes no option --database-url/],
      ['an invalid schema name', ['status', '--schema', 'Bad-Name'], /Invalid schema name "Bad-Name"/],
      ['a --from past the last migration', ['sql', '--from', String(last.version + 1)], /Invalid --from "\d+".*from 1 to \d+/],
      ['a --from that is no number', ['sql', '--from', 'latest'], /Invalid --from "latest"/],
      ['no database', ['migrate'], /migrate needs a database: pass --database-url, or set DATABASE_URL/],
      ['a connection string node-postgres cannot use', ['status', '--database-url', 'host=localhost'], /key=value/],
      ['an argument too many', ['sql', 'now'], /Unexpected argument "now"/],
    ])('%s: exits 2 with the reason and the usage', async (_, args, reason) => {
      const { code, stdout, stderr } = await cli(args);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(reason);
      expect(stderr).toMatch(/^Usage: nestjs-pgqueue /m);
    });

    it.each([
      [['--help'], 'Usage: nestjs-pgqueue <command> [options]'],
      [['help'], 'Usage: nestjs-pgqueue <command> [options]'],
      [['migrate', '--help'], 'Usage: nestjs-pgqueue migrate '],
      [['status', '-h'], 'Usage: nestjs-pgqueue status '],
      [['help', 'sql'], 'Usage: nestjs-pgqueue sql '],
    ])('%j prints the help and exits 0', async (args, title) => {
      const { code, stdout, stderr } = await cli(args);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout.startsWith(title)).toBe(true);
      expect(stdout).toContain('--schema <name>');
    });
  });

  describe('migrate and status', () => {
    it('status lists every migration as pending and exits 1, creating nothing; migrate applies them; status then exits 0', async () => {
      const db = await fresh();
      const env = { DATABASE_URL: db.url };
      const before = await cli(['status', '--schema', db.schema], env);
      expect(before.code).toBe(1);
      expect(before.stdout).toContain(`Schema "${db.schema}": 0 of ${known.length} migrations applied, ${known.length} pending.`);
      for (const m of known) expect(before.stdout).toMatch(new RegExp(`^  pending  ${m.name}$`, 'm'));
      expect(before.stdout).toContain(`nestjs-pgqueue migrate --schema ${db.schema}`);
      expect(before.stdout).toContain(`nestjs-pgqueue sql --schema ${db.schema}\n`);
      expect(await schemaExists(db)).toBe(false);

      const migrated = await cli(['migrate', '--schema', db.schema], env);
      expect({ code: migrated.code, stderr: migrated.stderr }).toEqual({ code: 0, stderr: '' });
      expect(migrated.stdout).toBe(
        `Applied ${known.length} migration(s) to schema "${db.schema}":\n${known.map((m) => `  ${m.name}\n`).join('')}`,
      );
      expect(await catalog(db, db.schema)).toEqual(expected);

      const after = await cli(['status', '--schema', db.schema], env);
      expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: '' });
      expect(after.stdout).toContain(`Schema "${db.schema}" is up to date: all ${known.length} migrations applied.`);
      for (const m of known) expect(after.stdout).toMatch(new RegExp(`^  applied  ${m.name} +\\d{4}-\\d\\d-\\d\\dT`, 'm'));
    });

    it('migrate again applies nothing and changes nothing', async () => {
      const rows = await migrationRows(reference);
      const again = await cli(['migrate', '--schema', reference.schema, '--database-url', reference.url]);
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
      expect(again.stdout).toBe(`Schema "${reference.schema}" is up to date: nothing to apply (its last migration is ${last.name}).\n`);
      expect(await migrationRows(reference)).toEqual(rows);
      expect(await catalog(reference, reference.schema)).toEqual(expected);
    });

    it('a server that is not there: exits 1 and says why', async () => {
      const { code, stderr } = await cli(['status', '--database-url', 'postgres://postgres@127.0.0.1:1/test']);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^nestjs-pgqueue: status failed: .*ECONNREFUSED/);
    });
  });

  describe('sql', () => {
    it('applied as one script, leaves the schema as migrate does, and the module starts on it with migrate: false', async () => {
      const db = await fresh();
      const script = await sqlScript(db.schema);
      expect(script).toMatch(/^BEGIN;$/m);
      expect(script).toMatch(/^COMMIT;$/m);
      await applyScript(db, script);

      expect(await catalog(db, db.schema)).toEqual(expected);
      const rows = await migrationRows(db);
      expect(new Set(rows.map((row) => row.applied_at.getTime())).size).toBe(1); // one transaction, as migrate's
      expect((await cli(['status', '--schema', db.schema, '--database-url', db.url])).code).toBe(0);

      const app = await apps.start(db, { module: { migrate: false }, worker: { enabled: false } });
      const job = await app.queue.enqueue('cli.check', { ok: true });
      expect(await app.queue.getJob(job.id)).toMatchObject({ id: job.id, status: 'pending', payload: { ok: true } });
    });

    it('--from <version> carries a schema of the release before to the last migration, as migrate would', async () => {
      const db = await fresh();
      await migrateAllButLast(db);
      const status = await cli(['status', '--schema', db.schema, '--database-url', db.url]);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain(`${known.length - 1} of ${known.length} migrations applied, 1 pending.`);
      expect(status.stdout).toMatch(new RegExp(`^  pending  ${last.name}$`, 'm'));
      expect(status.stdout).toContain(`nestjs-pgqueue sql --schema ${db.schema} --from ${last.version}\n`);

      const script = await sqlScript(db.schema, '--from', String(last.version));
      expect(script).toContain(`-- ${last.name}\n`);
      expect(script).not.toContain(`-- ${known[known.length - 2].name}\n`);
      await applyScript(db, script);
      expect(await catalog(db, db.schema)).toEqual(expected);
      expect((await cli(['status', '--schema', db.schema, '--database-url', db.url])).code).toBe(0);
    });

    it('refuses a schema that has its migrations already, or lacks earlier ones, changing nothing', async () => {
      const rows = await migrationRows(reference);
      await expect(applyScript(reference, await sqlScript(reference.schema))).rejects.toThrow(
        `Schema "${reference.schema}" already has migration(s) ${known.map((m) => m.version).join(', ')} of this script. Nothing was changed`,
      );
      expect(await migrationRows(reference)).toEqual(rows);

      const db = await fresh();
      await expect(applyScript(db, await sqlScript(db.schema, '--from', String(last.version)))).rejects.toThrow(
        `Schema "${db.schema}" lacks migration(s) ${known
          .slice(0, -1)
          .map((m) => m.version)
          .join(', ')}, which come before this script's first (${last.version})`,
      );
      expect(await schemaExists(db)).toBe(false);
    });

    it('--no-transaction runs inside the transaction of a migration tool and gives it its search path back', async () => {
      const db = await fresh();
      const script = await sqlScript(db.schema, '--no-transaction');
      expect(script).not.toMatch(/^(BEGIN|COMMIT);$/m);
      const client = await db.admin.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL search_path TO pg_catalog, public');
        await client.query(script);
        const { rows } = await client.query<{ search_path: string }>('SHOW search_path');
        expect(rows[0].search_path).toBe('pg_catalog, public');
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect(await catalog(db, db.schema)).toEqual(expected);
    });

    it('TypeORM runs the --no-transaction script as a migration, and the migrations after it keep their search path', async () => {
      const db = await fresh();
      const tool = await fresh(); // where TypeORM keeps its own table of migrations
      await tool.query(`CREATE SCHEMA ${quoteIdent(tool.schema)}`);
      const script = await sqlScript(db.schema, '--no-transaction');
      const searchPaths: string[] = [];
      const showSearchPath = async (queryRunner: QueryRunner) =>
        searchPaths.push(((await queryRunner.query('SHOW search_path')) as Array<{ search_path: string }>)[0].search_path);
      class Before1748855642000 implements MigrationInterface {
        up = showSearchPath;
        down = async () => undefined;
      }
      class PgQueue1748855643000 implements MigrationInterface {
        up = async (queryRunner: QueryRunner) => void (await queryRunner.query(script));
        down = async () => undefined;
      }
      class After1748855644000 implements MigrationInterface {
        up = showSearchPath;
        down = async () => undefined;
      }
      const dataSource = await new DataSource({
        type: 'postgres',
        url: db.url,
        schema: tool.schema,
        migrations: [Before1748855642000, PgQueue1748855643000, After1748855644000],
      }).initialize();
      try {
        await dataSource.runMigrations({ transaction: 'all' });
      } finally {
        await dataSource.destroy();
      }
      expect(await catalog(db, db.schema)).toEqual(expected);
      expect(searchPaths).toHaveLength(2);
      expect(searchPaths[1]).toBe(searchPaths[0]);
    });

    (HAS_PSQL ? it : it.skip)('runs as it is with psql; without its transaction, psql is refused before any table is made', async () => {
      const db = await fresh();
      const psql = (input: string) => run('psql', [db.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { input });
      const outside = await psql(await sqlScript(db.schema, '--no-transaction'));
      expect(outside.code).not.toBe(0);
      expect(outside.stderr).toContain(`sets the search path to schema "${db.schema}" for its transaction, and it did not hold`);
      expect(await db.query(`SELECT FROM pg_tables WHERE tablename = 'migrations' AND schemaname IN ('public', $1)`, [db.schema])).toEqual(
        [],
      );

      const applied = await psql(await sqlScript(db.schema));
      expect(applied.stderr).not.toMatch(/ERROR/);
      expect(applied.code).toBe(0);
      expect(await catalog(db, db.schema)).toEqual(expected);
    });
  });

  describe('a schema that a newer version migrated', () => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await fresh();
      expect((await cli(['migrate', '--schema', db.schema, '--database-url', db.url])).code).toBe(0);
      await db.query(`INSERT INTO ${quoteIdent(db.schema)}.migrations (version, name) VALUES (999, '999_from_the_future')`);
    });

    it('migrate refuses it with a clear message, exit 1, changing nothing', async () => {
      const rows = await migrationRows(db);
      const { code, stdout, stderr } = await cli(['migrate', '--schema', db.schema, '--database-url', db.url]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(TOO_NEW);
      expect(stderr).toContain(`Schema "${db.schema}"`);
      expect(await migrationRows(db)).toEqual(rows);
    });

    it('status lists the unknown version and exits 1 with the message', async () => {
      const { code, stdout, stderr } = await cli(['status', '--schema', db.schema, '--database-url', db.url]);
      expect(code).toBe(1);
      expect(stdout).toMatch(/^ {2}applied {2}999_from_the_future +\S+ {2}\(unknown to this version of nestjs-pgqueue\)$/m);
      expect(stderr).toMatch(TOO_NEW);
    });

    it.each([true, false])("the module's bootstrap refuses it with SchemaTooNewError (migrate: %s)", async (migrate) => {
      const attempt = startQueueApp(db, { module: { migrate }, worker: { enabled: false } });
      await expect(attempt).rejects.toBeInstanceOf(SchemaTooNewError);
      await expect(attempt).rejects.toThrow(TOO_NEW);
    });

    it('the script of sql refuses it too', async () => {
      const rows = await migrationRows(db);
      const script = await sqlScript(db.schema, '--from', String(last.version));
      await expect(applyScript(db, script)).rejects.toThrow(TOO_NEW);
      expect(await migrationRows(db)).toEqual(rows);
    });
  });
});

/** The schema of the release before the last migration: every other migration, recorded as migrate records them. */
async function migrateAllButLast(db: TestDatabase): Promise<void> {
  const client = await db.admin.connect();
  const quoted = quoteIdent(db.schema);
  try {
    await client.query('BEGIN');
    await client.query(migrationStatements.createSchema(quoted));
    await client.query(migrationStatements.searchPath(quoted));
    await client.query(migrationStatements.createTable);
    for (const m of known.slice(0, -1)) {
      await client.query(m.sql);
      await client.query(migrationStatements.record, [m.version, m.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
