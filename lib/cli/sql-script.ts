import { lastVersion, migrationStatements, type Migration } from '../db/migrator';
import { messages } from '../errors/messages';

export interface ScriptOptions {
  schema: string;
  quotedSchema: string;
  /** BEGIN and COMMIT around the script; without them it must run inside a transaction of the caller's. */
  transaction: boolean;
}

/** Where the script's checks write the versions they found into a message. */
const VERSIONS = '{versions}';

/**
 * The SQL that applies `migrations` (the last of `known`, from some version on) to a schema the way migrate() does:
 * the same statements around the same files under the same lock, each migration's row recorded in the schema's
 * `migrations` table. A migration tool runs it as it is. It refuses, before it changes anything, a schema that has
 * one of its migrations already, lacks an earlier one, or comes from a newer version of the package.
 */
export function migrationScript(migrations: readonly Migration[], known: readonly Migration[], options: ScriptOptions): string {
  const { schema, quotedSchema, transaction } = options;
  const statements = [
    inline(migrationStatements.lock, [schema]),
    migrationStatements.createSchema(quotedSchema),
    // A tool that runs other migrations after this one in its transaction gets its search path back at the end.
    ...(transaction ? [] : ["SELECT set_config('nestjs_pgqueue.search_path', current_setting('search_path'), true)"]),
    migrationStatements.searchPath(quotedSchema),
    check(migrations, known, options),
    migrationStatements.createTable,
  ];
  const body = [
    statements.map((statement) => `${statement};\n`).join(''),
    ...migrations.map((m) => `-- ${m.name}\n${m.sql.trim()}\n${inline(migrationStatements.record, [m.version, m.name])};\n`),
    ...(transaction ? [] : ["SELECT set_config('search_path', current_setting('nestjs_pgqueue.search_path'), true);\n"]),
  ];
  const script = transaction ? ['BEGIN;\n', ...body, 'COMMIT;\n'] : body;
  return `${header(migrations, options)}\n${script.join('\n')}`;
}

function header(migrations: readonly Migration[], { schema, transaction }: ScriptOptions): string {
  const first = migrations[0];
  const last = migrations[migrations.length - 1];
  const command = ['nestjs-pgqueue sql', `--schema ${schema}`, `--from ${first.version}`, transaction ? '' : '--no-transaction'];
  const what = first === last ? `migration ${first.name}` : `migrations ${first.name} to ${last.name}`;
  return [
    `-- nestjs-pgqueue ${what} for schema "${schema}". This script leaves the schema as`,
    '-- `nestjs-pgqueue migrate` does, the rows of its migrations table included.',
    `-- Made by: ${command.filter(Boolean).join(' ')}`,
    transaction
      ? '-- Run it once, as it is: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f <this file>'
      : '-- Without BEGIN and COMMIT: run it once, as it is, inside one transaction (as TypeORM and Flyway run a migration).',
    '',
  ].join('\n');
}

/** A DO block that refuses the schema, raising an exception, when the script does not fit it. */
function check(migrations: readonly Migration[], known: readonly Migration[], { schema, quotedSchema }: ScriptOptions): string {
  const last = lastVersion(known);
  const from = migrations[0].version;
  const own = migrations.map((m) => m.version);
  const earlier = known.filter((m) => m.version < from).map((m) => m.version);
  const refuse = (found: string, message: string) =>
    [
      `  found := (SELECT string_agg(v::text, ', ' ORDER BY v) FROM ${found});`,
      `  IF found IS NOT NULL THEN`,
      `    RAISE EXCEPTION USING MESSAGE = replace(${literal(message)}, ${literal(VERSIONS)}, found);`,
      '  END IF;',
    ].join('\n');
  return [
    'DO $check$',
    'DECLARE',
    "  applied integer[] := '{}';",
    '  found text;',
    'BEGIN',
    `  IF current_schema() IS DISTINCT FROM ${literal(schema)} THEN`,
    `    RAISE EXCEPTION USING MESSAGE = ${literal(messages.migrationScript.outsideTransaction(schema))};`,
    '  END IF;',
    `  IF to_regclass(${literal(`${quotedSchema}.migrations`)}) IS NOT NULL THEN`,
    `    applied := ARRAY(SELECT version FROM ${quotedSchema}.migrations);`,
    '  END IF;',
    refuse(`unnest(applied) AS v WHERE v > ${last}`, messages.schemaTooNew(schema, VERSIONS, last)),
    refuse(`unnest(applied) AS v WHERE v = ANY (${integers(own)})`, messages.migrationScript.alreadyApplied(schema, VERSIONS)),
    refuse(`unnest(${integers(earlier)}) AS v WHERE v <> ALL (applied)`, messages.migrationScript.lacksEarlier(schema, VERSIONS, from)),
    'END',
    '$check$',
  ].join('\n');
}

/** `text` with its `$n` parameters written in as literals. */
function inline(text: string, values: ReadonlyArray<string | number>): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1]));
}

function literal(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

function integers(values: readonly number[]): string {
  return `'{${values.join(',')}}'::integer[]`;
}
