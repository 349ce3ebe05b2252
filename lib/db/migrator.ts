import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SchemaNotMigratedError } from '../errors';
import { messages } from '../errors/messages';
import { inTransaction } from './in-transaction';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = join(__dirname, 'migrations');

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
 */
export async function migrate(pool: Pool, schema: string, quotedSchema: string): Promise<number[]> {
  return inTransaction(pool, undefined, async (query) => {
    await query("SELECT pg_advisory_xact_lock(hashtext('nestjs-pgqueue'), hashtext($1))", [schema]);
    await query(`CREATE SCHEMA IF NOT EXISTS ${quotedSchema}`);
    await query(`SET LOCAL search_path TO ${quotedSchema}`);
    await query(
      'CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await query<{ version: number }>('SELECT version FROM migrations');
    const applied = new Set(rows.map((row) => row.version));
    const pending = loadMigrations().filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await query(migration.sql);
      await query('INSERT INTO migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    return pending.map((m) => m.version);
  });
}

/**
 * With `migrate: false`: fails the bootstrap clearly when the schema lacks migrations this version needs. Every
 * version is checked, not only the latest: numbers written on parallel branches can be applied out of order.
 */
export async function assertMigrated(pool: Pool, schema: string, quotedSchema: string): Promise<void> {
  const needed = loadMigrations().map((m) => m.version);
  const { rows } = await pool.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${quotedSchema}.migrations`]);
  const applied = new Set<number>();
  if (rows[0]?.exists) {
    const result = await pool.query<{ version: number }>(`SELECT version FROM ${quotedSchema}.migrations`);
    result.rows.forEach((row) => applied.add(row.version));
  }
  const missing = needed.filter((version) => !applied.has(version));
  if (missing.length > 0) throw new SchemaNotMigratedError(messages.schemaNotMigrated(schema, missing));
}
