import { loadMigrations, migrate } from '../db/migrator';
import { withPool, type SchemaTarget } from './database';
import type { Output } from './output';

/** `migrate`: the module's own migration at bootstrap (migrate: true), run from the command line. */
export async function runMigrate({ schema, quotedSchema, databaseUrl }: SchemaTarget, out: Output): Promise<number> {
  const known = loadMigrations();
  const applied = await withPool(databaseUrl, (pool) => migrate(pool, schema, quotedSchema));
  if (applied.length === 0) {
    out.stdout.write(`Schema "${schema}" is up to date: nothing to apply (its last migration is ${known[known.length - 1].name}).\n`);
  } else {
    const names = known.filter((m) => applied.includes(m.version)).map((m) => `  ${m.name}\n`);
    out.stdout.write(`Applied ${applied.length} migration(s) to schema "${schema}":\n${names.join('')}`);
  }
  return 0;
}
