/** Every user-facing error text, in one place. */
export const messages = {
  invalidSchemaName: (name: unknown) =>
    `Invalid schema name ${JSON.stringify(String(name))}: use 1-48 characters of a-z, 0-9 and _, not starting with a digit.`,
  invalidJobType: (type: unknown, why: string) =>
    `Invalid job type ${describe(type)}: ${why}. Use 1-128 characters of letters, digits and . _ - : /`,
  invalidPayload: (path: string, why: string) => `Invalid job payload at ${path}: ${why}.`,
  /** The `why` of invalidPayload: what JSON or PostgreSQL would change or refuse in a payload or result. */
  notJson: {
    tooDeep: (max: number) => `nested deeper than ${max} levels`,
    notFinite: (n: number) => `${n} is not representable in JSON`,
    undefined: () => 'undefined is not JSON (use null)',
    type: (type: string) => `a ${type} is not JSON`,
    circular: () => 'circular reference',
    nul: () => 'NUL characters (\\u0000) cannot be stored by PostgreSQL',
    loneSurrogate: () => 'lone UTF-16 surrogate',
    date: () =>
      'a Date would be read back as a string, not a Date: pass date.toISOString() (or getTime()) and convert it back where it is read',
    toJSON: (kind: string) =>
      `this ${kind} has a toJSON method, so JSON would store what toJSON returns instead of its data: pass value.toJSON() if that is what should be stored`,
    collection: (kind: string) =>
      `this ${kind} would be stored as {}, losing its entries: pass them instead, e.g. [...set] or Object.fromEntries(map)`,
    binary: (kind: string) =>
      `this ${kind} is binary data, which JSON turns into an object of numbers: encode it, e.g. buffer.toString('base64')`,
    boxed: (kind: string) => `this boxed ${kind} is not JSON: pass the primitive (value.valueOf())`,
    promise: () => 'a Promise is not data (a missing await?)',
    hidden: (kind: string) =>
      `this ${kind} keeps its data where JSON does not look, so it would be stored without it: pass the data itself`,
    threw: (error: string) => `reading it threw ${error}`,
  },
  payloadTooLarge: (bytes: number, limit: number) =>
    `Job payload is ${bytes} bytes of JSON, over the limit of ${limit} bytes (option maxPayloadBytes).`,
  invalidOption: (option: string, value: unknown, expected: string) =>
    `Invalid option ${option}: ${describe(value)}; expected ${expected}.`,
  conflictingOptions: (a: string, b: string) => `Options ${a} and ${b} cannot be used together.`,
  invalidJobId: (id: unknown) => `Invalid job id ${describe(id)}: job ids are positive integers given as strings.`,
  invalidCursor: (why: string) =>
    `Invalid cursor: ${why}. Pass the nextCursor of the previous page of the same query (same filter), unchanged.`,
  bulkNeedsFilter: (action: string) =>
    `${action} needs a filter: give at least one of type, status, queue, jobKey, createdAfter or createdBefore ` +
    '(to act on every job, name the statuses).',
  noStatusApplies: (action: string, applicable: readonly string[]) =>
    `${action} applies only to ${applicable.join(' or ')} jobs, and the filter's status names none of them.`,
  jobState: (action: string, id: string, status: string, applicable: string) =>
    `Cannot ${action} job ${id}: it is ${status}, and ${action} applies to ${applicable} jobs. Nothing was changed.`,
  jobStateChanged: (action: string, id: string, status: string) =>
    `Could not ${action} job ${id}: it changed state while the action ran (it is now ${status}). Nothing was changed.`,
  jobKeyHeld: (id: string) => `Cannot retry job ${id}: another unfinished job holds its job key. Nothing was changed.`,
  invalidProgress: (percent: unknown) => `Invalid progress ${describe(percent)}: expected a number from 0 to 100.`,
  payloadRefusedBySchema: (type: string, issues: Array<{ path: string; message: string }>) =>
    `The payload of ${type} does not match its handler's schema: ` +
    issues.map(({ path, message }) => (path ? `${path}: ${message}` : message)).join('; '),
  jobsFailedInDrain: (jobs: string[]) => `${jobs.length} job(s) failed for good during the drain: ${jobs.join('; ')}`,
  drainTimedOut: (ms: number, outstanding: number) =>
    `The queue did not drain within ${ms} ms: ${outstanding} job(s) this app runs are still due or running.`,
  drainWithoutWorker: () => 'QueueTester.drain() needs an app whose worker runs (worker.enabled is false here).',
  noHandlerToRun: (type: string, types: string[]) =>
    `No handler for job type ${type} in this app; it handles: ${types.length ? types.join(', ') : 'none'}.`,
  batchTooLarge: (bytes: number, limit: number) =>
    `The batch is ${bytes} bytes of JSON, over the limit of ${limit} bytes for the jobs of one statement; ` +
    'split it into several enqueueMany calls (each is all or nothing).',
  invalidBatch: (index: number, reason: string) => `Job ${index} of the batch is invalid: ${reason}`,
  duplicateHandler: (type: string, first: string, second: string) =>
    `Two handlers for job type "${type}": ${first} and ${second}. A job type has exactly one handler.`,
  deadLetterCycle: (types: string[]) =>
    `Dead letters go round in a circle (${types.join(' -> ')}): a job failing for good in it would be wrapped again and again. ` +
    'End the chain with a type that has no deadLetter.',
  duplicateWorker: () =>
    'PgQueueModule was imported more than once with its worker enabled in one application. ' +
    'Import it once (isGlobal: true makes QueueService available everywhere), or set worker.enabled: false on the others.',
  missingConnection: () => 'PgQueueModule needs either connectionString or pool.',
  bothConnections: () => 'PgQueueModule takes connectionString or pool, not both.',
  unknownOption: (option: string, suggestion: string | undefined, level: string, known: readonly string[]) =>
    `Unknown option ${option}: ${suggestion ? `did you mean ${suggestion}?` : `${level} takes ${known.join(', ')}.`}`,
  isGlobalInOptions: () =>
    'Unknown option isGlobal: give it to forRootAsync() itself, beside useFactory, useClass or useExisting, ' +
    'not in the options object they produce.',
  invalidConnectionString: (option: string, why: string) =>
    `Invalid option ${option}: ${why}. node-postgres takes a URL such as ` +
    'postgres://user:password@host:5432/database, or a socket directory such as /var/run/postgresql.',
  waitingForDatabase: (cause: unknown, timeoutMs: number | undefined) =>
    `PostgreSQL is not reachable (${describeCause(cause)}); the bootstrap waits for it, retrying with backoff, ` +
    (timeoutMs === undefined
      ? 'for as long as it takes (connectTimeoutMs sets a limit).'
      : `for up to ${timeoutMs} ms (connectTimeoutMs).`),
  databaseReachableAgain: (waitedMs: number) => `PostgreSQL is reachable again after ${(waitedMs / 1000).toFixed(1)} s.`,
  databaseUnreachable: (timeoutMs: number, cause: unknown) =>
    `PostgreSQL was not reachable within connectTimeoutMs (${timeoutMs} ms); the last failure: ${describeCause(cause)}.`,
  databaseRefused: (cause: unknown) =>
    `PostgreSQL refused the connection: ${describeCause(cause)}. Waiting would not change that, so the bootstrap fails: ` +
    'check the user, password, database name and TLS settings.',
  noListenBehindPooler: () =>
    "pooler: 'transaction' without listenConnectionString: no LISTEN connection, since a transaction pooler drops " +
    'notifications. Workers and watch() find new jobs, changes and cancellations by polling every worker.pollIntervalMs. ' +
    'Set listenConnectionString to a direct connection to PostgreSQL for instant wake-ups.',
  schemaNotMigrated: (schema: string, missing: number[]) =>
    `Schema "${schema}" lacks migration(s) ${missing.join(', ')}, which this version of nestjs-pgqueue needs. ` +
    'Run with migrate: true (the default) once, or apply the migrations yourself.',
  /** `versions`: the unknown versions as a list ("13, 14"). */
  schemaTooNew: (schema: string, versions: string, last: number) =>
    `Schema "${schema}" has migration(s) ${versions}, which this version of nestjs-pgqueue does not know (its last is ${last}): ` +
    'a newer version migrated it, and this one could break it. Upgrade nestjs-pgqueue here too, or give this version a schema of its own.',
  /** What the script of `nestjs-pgqueue sql` says when it refuses a schema; `versions` as in schemaTooNew. */
  migrationScript: {
    outsideTransaction: (schema: string) =>
      `This script sets the search path to schema "${schema}" for its transaction, and it did not hold: run the script in one ` +
      'transaction, as generated without --no-transaction, or inside the transaction of your migration tool.',
    alreadyApplied: (schema: string, versions: string) =>
      `Schema "${schema}" already has migration(s) ${versions} of this script. Nothing was changed: ` +
      'nestjs-pgqueue status lists what the schema lacks, and sql --from <version> prints only that.',
    lacksEarlier: (schema: string, versions: string, from: number) =>
      `Schema "${schema}" lacks migration(s) ${versions}, which come before this script's first (${from}). Nothing was changed: ` +
      'apply those first, or generate the script with an earlier --from.',
  },
  /** The `nestjs-pgqueue` command's refusals of its arguments, and its failures. */
  cli: {
    noCommand: () => 'Give a command: migrate, status or sql.',
    unknownCommand: (name: string) => `Unknown command ${describe(name)}: the commands are migrate, status and sql.`,
    unexpectedArgument: (arg: string) => `Unexpected argument ${describe(arg)}.`,
    optionNotFor: (option: string, command: string) => `${command} takes no option ${option}.`,
    needsDatabaseUrl: (command: string) => `${command} needs a database: pass --database-url, or set DATABASE_URL.`,
    invalidFrom: (value: string, last: number) =>
      `Invalid --from ${describe(value)}: expected the version of a migration, a whole number from 1 to ${last}.`,
    failed: (command: string, cause: unknown) => `${command} failed: ${describeCause(cause)}`,
  },
  queryTimedOut: (ms: number) =>
    `PostgreSQL did not answer within ${ms} ms (option queryTimeoutMs); the connection was dropped. ` +
    'A write may or may not have taken effect.',
  watchEndedByShutdown: (id: string) =>
    `watch(${id}) ended: the queue module is shutting down before the job finished. Watch it again once the application is back.`,
  jobTimedOut: (ms: number) => `Job timed out after ${ms} ms.`,
  jobCancelled: () => 'Job was cancelled.',
  leaseLost: () => 'The worker lost the lease on this job; another worker may be running it.',
  shutdownDeadline: (ms: number) => `Worker shut down before the job finished (shutdownTimeoutMs ${ms}); the job was handed back.`,
  interruptedAtShutdown: () => 'The worker shut down while this attempt was running; it was handed back.',
  leaseExpired: () => 'Lease expired: the worker running this job stopped heartbeating (crashed or lost its connection).',
  resultNotJson: (path: string, why: string) => `Handler result cannot be stored as JSON: at ${path}: ${why}.`,
  resultTooLarge: (bytes: number, limit: number) =>
    `Handler result is ${bytes} bytes of JSON, over the limit of ${limit} bytes (option maxPayloadBytes).`,
  resultRejected: (why: string) => `PostgreSQL refused to store the handler's result: ${why}`,
  jobNotFound: (id: string) => `Job ${id} does not exist.`,
  invalidCron: (expression: unknown, why: string) => `Invalid cron expression ${describe(expression)}: ${why}.`,
  invalidTimeZone: (zone: unknown) => `Invalid time zone ${describe(zone)}: expected an IANA name such as "Europe/Berlin" or "UTC".`,
  invalidSnooze: (ms: unknown, max: number) =>
    `Invalid snooze ${describe(ms)}: expected an integer number of milliseconds from 0 to ${max}.`,
  snoozed: (ms: number) => `Job snoozed for ${ms} ms.`,
  invalidClient: (value: unknown) => `Invalid option client: ${describeHandle(value)}; expected ${TRANSACTION_CLIENTS}.`,
  clientOutsideTransaction: (what: string) =>
    `Invalid option client: this ${what} is not inside a transaction; expected ${TRANSACTION_CLIENTS}.`,
  clientNotOnPg: (what: string) => `Invalid option client: this ${what} does not run on node-postgres; expected ${TRANSACTION_CLIENTS}.`,
};

/** What the enqueue option `client` accepts (TransactionClient in interfaces/job.interface.ts). */
const TRANSACTION_CLIENTS =
  'a handle on your open transaction: a node-postgres client (PoolClient or Client) after BEGIN, ' +
  'a TypeORM EntityManager from dataSource.transaction() or QueryRunner after startTransaction(), ' +
  'the trx of knex.transaction(), the tx of a Drizzle (node-postgres) db.transaction(), ' +
  'the trx of a Kysely db.transaction().execute(), the em inside MikroORM em.transactional(), ' +
  'or the tx of prisma.$transaction()';

/** A value given as `client`, with its class when it has one (a Pool, a DataSource...). */
function describeHandle(value: unknown): string {
  const name = typeof value === 'object' && value !== null ? (value as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  return typeof name === 'string' && name !== 'Object' && name !== '' ? `${describe(value)} (${name})` : describe(value);
}

// Five characters, starting with a digit or one of the classes F0, HV, P0, XX; Node's codes (EPIPE...) never match.
const SQLSTATE = /^([0-9][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/** An error as one line: its message, plus the SQLSTATE or system code when the message leaves it out. */
function describeCause(cause: unknown): string {
  // Duck-typed, not instanceof: Node's socket errors come from another realm under test runners such as jest.
  const error = cause as { message?: unknown; name?: unknown; code?: unknown; errors?: unknown } | null;
  if (typeof error !== 'object' || error === null || typeof error.message !== 'string') return describe(cause);
  // Node reports a refused connection to a name with several addresses as an AggregateError with an empty message.
  const parts = !error.message && Array.isArray(error.errors) ? error.errors.map((e) => describeCause(e)) : [error.message];
  const text = [...new Set(parts)].join('; ') || String(error.name);
  const code = error.code;
  return typeof code === 'string' && code && !text.includes(code) ? `${text} (${SQLSTATE.test(code) ? 'SQLSTATE ' : ''}${code})` : text;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  return typeof value;
}
