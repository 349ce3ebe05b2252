/** The help texts of the `nestjs-pgqueue` command. */

export const COMMANDS = ['migrate', 'status', 'sql'] as const;
export type CommandName = (typeof COMMANDS)[number];

const SCHEMA = "  --schema <name>        The queue's schema, as the module's `schema` option (default: pgqueue).";
const DATABASE_URL = '  --database-url <url>   The PostgreSQL to connect to (default: the DATABASE_URL environment variable).';
const HELP = '  -h, --help             Show this help.';

const GENERAL = `Usage: nestjs-pgqueue <command> [options]

The migrations of nestjs-pgqueue's schema, for deployments that apply them apart from the application
(the module's option migrate: false).

Commands:
  migrate   Apply the pending migrations to a schema, as the module's bootstrap does.
  status    List the applied and pending migrations of a schema; exits 1 while some are pending.
  sql       Print the migrations' SQL, for a migration tool of your own (TypeORM, Prisma, Flyway...).

Options:
${SCHEMA}
${DATABASE_URL}
                         migrate and status only; sql needs no database.
${HELP} \`nestjs-pgqueue <command> --help\` shows a command's own.

Exit codes: 0 done (status: up to date), 1 failed (status: migrations pending), 2 bad usage.
`;

const PER_COMMAND: Record<CommandName, string> = {
  migrate: `Usage: nestjs-pgqueue migrate [--schema <name>] [--database-url <url>]

Applies the pending migrations to the schema (creating it if need be), in one transaction, under the advisory lock
that the module's bootstrap takes too. Running it again applies nothing. A schema that a newer nestjs-pgqueue
migrated is refused, and nothing is changed.

Options:
${SCHEMA}
${DATABASE_URL}
${HELP}

Exit codes: 0 applied (or nothing to apply), 1 failed, 2 bad usage.
`,
  status: `Usage: nestjs-pgqueue status [--schema <name>] [--database-url <url>]

Lists the migrations applied to the schema and those pending. Changes nothing. Exits 1 while some are pending (or
the schema comes from a newer nestjs-pgqueue), so a CI step or a deployment can wait for them.

Options:
${SCHEMA}
${DATABASE_URL}
${HELP}

Exit codes: 0 up to date, 1 migrations pending (or failed), 2 bad usage.
`,
  sql: `Usage: nestjs-pgqueue sql [--schema <name>] [--from <version>] [--no-transaction]

Prints the SQL of the migrations for the schema, for a migration tool of your own to apply. It leaves the schema
exactly as migrate does, the rows of its migrations table included, so the module starts on it with
migrate: false. It refuses a schema that already has one of its migrations, lacks an earlier one, or comes from a
newer nestjs-pgqueue. Needs no database.

Options:
${SCHEMA}
  --from <version>       Only the migrations from this version on (default: all), e.g. those a new release adds.
  --no-transaction       Leave out BEGIN and COMMIT, for tools that run each migration in a transaction of their
                         own (TypeORM, Flyway); the script must still run inside one.
${HELP}

Example: nestjs-pgqueue sql > pgqueue.sql && psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f pgqueue.sql

Exit codes: 0 printed, 2 bad usage.
`,
};

/** The help of one command, or of the whole tool. */
export function usage(command?: CommandName): string {
  return command ? PER_COMMAND[command] : GENERAL;
}

export function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name ?? '');
}
