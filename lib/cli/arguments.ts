import { parseArgs } from 'node:util';
import { PgQueueError } from '../errors';
import { messages } from '../errors/messages';
import { quoteSchema } from '../db/identifiers';
import { checkConnectionString } from '../validation/connection-string';
import { isCommand, type CommandName } from './usage';

/** What the command line asks for, checked. */
export type Invocation =
  | { command: 'help'; topic?: CommandName }
  | { command: 'migrate' | 'status'; schema: string; quotedSchema: string; databaseUrl: string }
  | { command: 'sql'; schema: string; quotedSchema: string; from: string | undefined; transaction: boolean };

/** Bad usage: exit code 2, with the usage of `command` (of the whole tool when undefined). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTIONS = {
  schema: { type: 'string', default: 'pgqueue' },
  'database-url': { type: 'string' },
  from: { type: 'string' },
  'no-transaction': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type OptionName = keyof typeof OPTIONS;

const ACCEPTS: Record<CommandName, readonly OptionName[]> = {
  migrate: ['schema', 'database-url', 'help'],
  status: ['schema', 'database-url', 'help'],
  sql: ['schema', 'from', 'no-transaction', 'help'],
};

/** Reads the arguments (after `nestjs-pgqueue`); options may come before or after the command. */
export function parseInvocation(argv: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  const parsed = parse(argv);
  const [name, ...rest] = parsed.positionals;
  if (name === 'help') return helpFor(rest);
  if (name !== undefined && !isCommand(name)) throw new UsageError(messages.cli.unknownCommand(name));
  if (parsed.values.help) return { command: 'help', topic: name };
  if (name === undefined) throw new UsageError(messages.cli.noCommand());
  if (rest.length > 0) throw new UsageError(messages.cli.unexpectedArgument(rest[0]), name);
  for (const option of given(parsed.tokens)) {
    if (!ACCEPTS[name].includes(option)) throw new UsageError(messages.cli.optionNotFor(`--${option}`, name), name);
  }
  const schema = parsed.values.schema;
  const quotedSchema = checked(() => quoteSchema(schema), name);
  if (name === 'sql')
    return { command: name, schema, quotedSchema, from: parsed.values.from, transaction: !parsed.values['no-transaction'] };
  return { command: name, schema, quotedSchema, databaseUrl: databaseUrl(parsed.values['database-url'], env, name) };
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    // node's own refusals (unknown option, missing value), which say what is wrong in their message.
    if ((error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message);
    throw error;
  }
}

function helpFor(rest: string[]): Invocation {
  const [topic, extra] = rest;
  if (topic !== undefined && !isCommand(topic)) throw new UsageError(messages.cli.unknownCommand(topic));
  if (extra !== undefined) throw new UsageError(messages.cli.unexpectedArgument(extra));
  return { command: 'help', topic };
}

/** The options written on the command line (not those filled in by their defaults). */
function given(tokens: ReadonlyArray<{ kind: string; name?: string }>): Set<OptionName> {
  return new Set(tokens.filter((token) => token.kind === 'option').map((token) => token.name as OptionName));
}

function databaseUrl(option: string | undefined, env: NodeJS.ProcessEnv, command: CommandName): string {
  const url = option ?? env.DATABASE_URL;
  if (url === undefined || url === '') throw new UsageError(messages.cli.needsDatabaseUrl(command), command);
  checked(() => checkConnectionString(option === undefined ? 'DATABASE_URL' : '--database-url', url), command);
  return url;
}

/** The package's refusal of a value (a schema name, a connection string) as bad usage. */
function checked<T>(check: () => T, command: CommandName): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof PgQueueError) throw new UsageError(error.message, command);
    throw error;
  }
}
