import { lastVersion, loadMigrations, readMigrationState, type Migration, type MigrationState } from '../db/migrator';
import { messages } from '../errors/messages';
import { withPool, type SchemaTarget } from './database';
import { schemaFlag, type Output } from './output';

/** `status`: lists applied and pending migrations; 1 while some are pending or the schema is from a newer version. */
export async function runStatus({ schema, quotedSchema, databaseUrl }: SchemaTarget, out: Output): Promise<number> {
  const known = loadMigrations();
  const state = await withPool(databaseUrl, (pool) => readMigrationState(pool, quotedSchema, known));
  out.stdout.write(report(schema, state, known));
  if (state.newer.length > 0) {
    out.stderr.write(`nestjs-pgqueue: ${messages.schemaTooNew(schema, state.newer.join(', '), lastVersion(known))}\n`);
    return 1;
  }
  return state.pending.length > 0 ? 1 : 0;
}

function report(schema: string, { applied, pending, newer }: MigrationState, known: readonly Migration[]): string {
  const versions = new Set(known.map((m) => m.version));
  const rows = [
    ...applied.map((row) => ({
      version: row.version,
      line: [
        'applied',
        row.name,
        row.appliedAt.toISOString(),
        versions.has(row.version) ? '' : '(unknown to this version of nestjs-pgqueue)',
      ],
    })),
    ...pending.map((m) => ({ version: m.version, line: ['pending', m.name] })),
  ].sort((a, b) => a.version - b.version);
  const width = Math.max(0, ...rows.map((row) => row.line[1].length));
  const table = rows.map(({ line: [state, name, ...rest] }) => `  ${state}  ${[name.padEnd(width), ...rest].join('  ').trimEnd()}\n`);
  const done = known.length - pending.length;
  const summary =
    pending.length === 0 && newer.length === 0
      ? `Schema "${schema}" is up to date: all ${known.length} migrations applied.\n`
      : `Schema "${schema}": ${done} of ${known.length} migrations applied, ${pending.length} pending.\n`;
  return summary + table.join('') + hint(schema, applied, pending);
}

/** How to apply what is pending: `migrate`, or the script of what follows the applied migrations. */
function hint(schema: string, applied: MigrationState['applied'], pending: Migration[]): string {
  if (pending.length === 0) return '';
  const flag = schemaFlag(schema);
  const from = pending[0].version;
  const tail = applied.every((row) => row.version < from);
  return (
    `Apply them with: nestjs-pgqueue migrate${flag}\n` +
    (tail ? `or with your migration tool, from the SQL of: nestjs-pgqueue sql${flag}${from === 1 ? '' : ` --from ${from}`}\n` : '')
  );
}
