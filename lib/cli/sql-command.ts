import { lastVersion, loadMigrations } from '../db/migrator';
import { messages } from '../errors/messages';
import { UsageError } from './arguments';
import type { Output } from './output';
import { migrationScript } from './sql-script';

export interface SqlInvocation {
  schema: string;
  quotedSchema: string;
  from: string | undefined;
  transaction: boolean;
}

/** `sql`: prints the script of the migrations (from `--from` on), for a migration tool to apply. Needs no database. */
export function runSql({ schema, quotedSchema, from, transaction }: SqlInvocation, out: Output): number {
  const known = loadMigrations();
  const first = from === undefined ? 1 : fromVersion(from, lastVersion(known));
  const migrations = known.filter((m) => m.version >= first);
  out.stdout.write(migrationScript(migrations, known, { schema, quotedSchema, transaction }));
  return 0;
}

function fromVersion(value: string, last: number): number {
  const version = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(version >= 1 && version <= last)) throw new UsageError(messages.cli.invalidFrom(value, last), 'sql');
  return version;
}
