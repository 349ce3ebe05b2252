import { types, type ClientBase, type QueryResultRow } from 'pg';
import { InvalidJobOptionError } from '../errors';
import { messages } from '../errors/messages';
import type { TransactionClient } from '../interfaces';
import { serialized } from './serialized-client';

/**
 * The `client` option: a node-postgres client, or the transaction handle of an ORM, each recognised by its shape (no
 * ORM is imported) and given our `$n` statement through its own raw-query API, on its own connection and transaction.
 */

/** One `$n`-parameterised statement on a caller's transaction; its rows as node-postgres returns them. */
type Statement = (sql: string, values: unknown[]) => Promise<QueryResultRow[]>;

interface Orm {
  /** What the handle is, in error messages. */
  name: string;
  is(handle: unknown): boolean;
  /** How to run a statement on the handle, or undefined when it is not inside a transaction. */
  open(handle: unknown): Statement | undefined;
}

/** A node-postgres `Client` or `PoolClient` (or a compatible one): a `Pool` has no transaction and is not one. */
export function isPgClient(client: unknown): client is ClientBase {
  return isMethod(client, 'query') && isMethod(client, 'setTypeParser');
}

/** Refuses, with a typed error, a `client` that is neither a pg client nor an ORM's handle inside a transaction. */
export function checkTransactionClient(client: unknown): void {
  if (!isPgClient(client)) ormStatement(client);
}

/** Runs one statement on the caller's transaction. A pg client takes it as it is, one statement of ours at a time. */
export function queryInTransaction<R extends QueryResultRow>(
  client: TransactionClient,
  sql: string,
  values: unknown[],
): Promise<{ rows: R[] }> {
  if (isPgClient(client)) return serialized(client, () => client.query<R>(sql, values));
  return ormStatement(client)(sql, values).then((rows) => ({ rows: withDates(rows) as R[] }));
}

function ormStatement(handle: unknown): Statement {
  const orm = ORMS.find((candidate) => candidate.is(handle));
  if (!orm) throw new InvalidJobOptionError(messages.invalidClient(handle));
  const statement = orm.open(handle);
  if (!statement) throw new InvalidJobOptionError(messages.clientOutsideTransaction(orm.name));
  return statement;
}

const TYPEORM_ENTITY_MANAGER = Symbol.for('EntityManager'); // TypeORM's own mark of its EntityManagers
const isTypeOrmRunner = (handle: unknown) =>
  isMethod(handle, 'startTransaction') && isMethod(handle, 'query') && typeof get(handle, 'isTransactionActive') === 'boolean';
const isKnex = (handle: unknown) => typeof handle === 'function' && isMethod(handle, 'raw') && isMethod(handle, 'transaction');
const isKysely = (handle: unknown) => typeof get(handle, 'isTransaction') === 'boolean' && isMethod(handle, 'withoutPlugins');

const ORMS: Orm[] = [
  {
    name: 'TypeORM EntityManager',
    is: (manager) => get(manager, '@instanceof') === TYPEORM_ENTITY_MANAGER,
    open: (manager) => typeOrm(get(manager, 'queryRunner')),
  },
  { name: 'TypeORM QueryRunner', is: isTypeOrmRunner, open: typeOrm },
  { name: 'Knex instance', is: isKnex, open: knex },
  { name: 'Kysely instance', is: isKysely, open: kysely },
  {
    name: 'Drizzle database',
    is: (db) => get(get(db, '_'), 'session') !== undefined && isMethod(db, 'execute'),
    open: (tx) => {
      if (!isMethod(tx, 'rollback')) return undefined; // only a transaction can roll back
      const client = get(get(get(tx, '_'), 'session'), 'client'); // the connection the transaction holds
      if (!isPgClient(client)) throw new InvalidJobOptionError(messages.clientNotOnPg('Drizzle transaction'));
      return async (sql, values) => (await serialized(client, () => client.query<QueryResultRow>(sql, values))).rows;
    },
  },
  {
    name: 'MikroORM EntityManager',
    is: (em) => isMethod(em, 'getTransactionContext') && isMethod(em, 'getConnection'),
    // The transaction context is a Knex transaction (MikroORM 6) or a Kysely one (MikroORM 7).
    open: (em) => {
      const context = call(em, 'getTransactionContext');
      return isKnex(context) ? knex(context) : isKysely(context) ? kysely(context) : undefined;
    },
  },
  {
    name: 'Prisma client',
    is: (prisma) => isMethod(prisma, '$queryRawUnsafe'),
    // A transaction client is the client without $connect and $disconnect.
    open: (tx) =>
      isMethod(tx, '$disconnect')
        ? undefined
        : async (sql, values) => (await call(tx, '$queryRawUnsafe', sql, ...values)) as QueryResultRow[],
  },
];

/** TypeORM: the runner's own query, its structured result giving the rows of any statement. */
function typeOrm(runner: unknown): Statement | undefined {
  if (!isTypeOrmRunner(runner) || get(runner, 'isTransactionActive') !== true) return undefined;
  return (sql, values) =>
    serialized(runner as object, async () => {
      const result = (await call(runner, 'query', sql, values, true)) as { records?: QueryResultRow[] };
      return result.records ?? [];
    });
}

/** Knex binds `?` in order: each `$n` becomes a `?` with its value, and a literal `?` is escaped. */
function knex(trx: unknown): Statement | undefined {
  if (get(trx, 'isTransaction') !== true) return undefined;
  return (sql, values) =>
    serialized(trx as object, async () => {
      const bindings: unknown[] = [];
      const text = sql.replace(/\?|\$(\d+)/g, (_, n?: string) => {
        if (n === undefined) return '\\?';
        bindings.push(values[Number(n) - 1]);
        return '?';
      });
      return ((await call(trx, 'raw', text, bindings)) as { rows: QueryResultRow[] }).rows;
    });
}

/**
 * Kysely: the query as `CompiledQuery.raw(sql, values)` builds it, on the transaction's connection (which runs one
 * query at a time). Without the app's plugins: CamelCasePlugin would rename our columns and the payload's keys.
 */
function kysely(trx: unknown): Statement | undefined {
  if (get(trx, 'isTransaction') !== true) return undefined;
  const plain = call(trx, 'withoutPlugins');
  return async (sql, values) => {
    const query = {
      sql,
      parameters: values,
      query: { kind: 'RawNode', sqlFragments: [sql], parameters: [] },
      queryId: { queryId: 'pgqueue' },
    };
    return ((await call(plain, 'executeQuery', query)) as { rows: QueryResultRow[] }).rows;
  };
}

const TIMESTAMPTZ = 1184;
const TIMESTAMP_COLUMNS = ['run_at', 'created_at', 'started_at', 'finished_at'];

/** MikroORM's connections leave timestamps as text: they are parsed as node-postgres parses them. */
function withDates(rows: QueryResultRow[]): QueryResultRow[] {
  for (const row of rows) {
    for (const column of TIMESTAMP_COLUMNS) {
      const value: unknown = row[column];
      if (typeof value === 'string') row[column] = (types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => unknown)(value);
    }
  }
  return rows;
}

function get(value: unknown, key: string): unknown {
  return (typeof value === 'object' || typeof value === 'function') && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function isMethod(value: unknown, key: string): boolean {
  return typeof get(value, key) === 'function';
}

function call(value: unknown, method: string, ...args: unknown[]): unknown {
  return (get(value, method) as (...args: unknown[]) => unknown).apply(value, args);
}
