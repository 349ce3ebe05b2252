import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SchemaNotMigratedError, SchemaTooNewError } from '../errors';
import { messages } from '../errors/messages';
import { inTransaction } from './in-transaction';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** One row of a schema's `migrations` table. */
export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}

/** Where a schema stands against the migrations this package ships. */
export interface MigrationState {
  /** Every row of the schema's `migrations` table, by version; none when the table does not exist. */
  applied: AppliedMigration[];
  /** The migrations this package ships that the schema lacks, by version. */
  pending: Migration[];
  /** Applied versions past the last this package ships: a newer version of nestjs-pgqueue migrated the schema. */
  newer: number[];
}

const MIGRATIONS_DIR = join(__dirname, 'migrations');

/**
 * The statements around the migrations: the lock, the schema, its search path, the bookkeeping table and its rows.
 * migrate() runs them; the CLI's `sql` command prints them with their values written in, so that a script leaves a
 * schema exactly as migrate() does.
 */
export const migrationStatements = {
  /** $1: the schema's name. Processes migrating one schema queue up behind each other. */
  lock: "SELECT pg_advisory_xact_lock(hashtext('nestjs-pgqueue'), hashtext($1))",
  createSchema: (quotedSchema: string) => `CREATE SCHEMA IF NOT EXISTS ${quotedSchema}`,
  /** The migration files name nothing with its schema: they run with the search path set to it. */
  searchPath: (quotedSchema: string) => `SET LOCAL search_path TO ${quotedSchema}`,
  createTable:
    'CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
  /** $1: the version, $2: the name. */
  record: 'INSERT INTO migrations (version, name) VALUES ($1, $2)',
};

/** The numbered SQL files shipped with the package, in order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .map((file) => ({ version: Number.parseInt(file, 10), name: file.replace(/\.sql$/, ''), sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies pending migrations in one transaction under a transaction-scoped advisory lock, so processes
 * booting at once queue up behind the first and then find nothing left to do (also behind PgBouncer).
 * Refuses a schema that a newer version of the package migrated (SchemaTooNewError), changing nothing.
 */
export async function migrate(pool: Pool, schema: string, quotedSchema: string): Promise<number[]> {
  return inTransaction(pool, undefined, async (query) => {
    await query(migrationStatements.lock, [schema]);
    await query(migrationStatements.createSchema(quotedSchema));
    await query(migrationStatements.searchPath(quotedSchema));
    await query(migrationStatements.createTable);
    const { rows } = await query<{ version: number }>('SELECT version FROM migrations');
    const known = loadMigrations();
    assertNotNewer(schema, newerVersions(rows, known), known);
    const applied = new Set(rows.map((row) => row.version));
    const pending = known.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await query(migration.sql);
      await query(migrationStatements.record, [migration.version, migration.name]);
    }
    return pending.map((m) => m.version);
  });
}

/**
 * With `migrate: false`: fails the bootstrap clearly when the schema lacks migrations this version needs, or has
 * migrations it does not know (a newer version migrated it). Every version is checked, not only the latest: numbers
 * written on parallel branches can be applied out of order.
 */
export async function assertMigrated(pool: Pool, schema: string, quotedSchema: string): Promise<void> {
  const known = loadMigrations();
  const { pending, newer } = await readMigrationState(pool, quotedSchema, known);
  assertNotNewer(schema, newer, known);
  const missing = pending.map((m) => m.version);
  if (missing.length > 0) throw new SchemaNotMigratedError(messages.schemaNotMigrated(schema, missing));
}

/** Reads the schema's `migrations` table, if it has one, against the migrations this package ships. Changes nothing. */
export async function readMigrationState(pool: Pool, quotedSchema: string, known = loadMigrations()): Promise<MigrationState> {
  const { rows } = await pool.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${quotedSchema}.migrations`]);
  let applied: AppliedMigration[] = [];
  if (rows[0]?.exists) {
    const result = await pool.query<AppliedMigration>(
      `SELECT version, name, applied_at AS "appliedAt" FROM ${quotedSchema}.migrations ORDER BY version`,
    );
    applied = result.rows;
  }
  const versions = new Set(applied.map((row) => row.version));
  return { applied, pending: known.filter((m) => !versions.has(m.version)), newer: newerVersions(applied, known) };
}

/** The applied versions past the last of `known`, in order. */
function newerVersions(applied: ReadonlyArray<{ version: number }>, known: readonly Migration[]): number[] {
  const last = lastVersion(known);
  return applied
    .map((row) => row.version)
    .filter((version) => version > last)
    .sort((a, b) => a - b);
}

/** Refuses a schema with versions this package does not know: it may hold tables or rules this version would break. */
function assertNotNewer(schema: string, newer: number[], known: readonly Migration[]): void {
  if (newer.length > 0) throw new SchemaTooNewError(messages.schemaTooNew(schema, newer.join(', '), lastVersion(known)));
}

/** The version of the last of `known` (0 for none). */
export function lastVersion(known: readonly Migration[]): number {
  return known.at(-1)?.version ?? 0;
}
