import { Logger } from '@nestjs/common';
import { DatabaseAccessError, DatabaseUnreachableError } from '../errors';
import { messages } from '../errors/messages';
import type { PgQueueModuleOptions } from '../interfaces';
import type { ResolvedModuleOptions } from '../pg-queue.options';
import { assertMigrated, migrate } from './migrator';
import { QueueDatabase } from './queue-database';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * Connects (or adopts the given pool) and brings the schema up to date before anything else uses it. A server that
 * is not reachable yet (down, starting up, failing over, every connection slot taken) is waited for, with backoff,
 * up to `connectTimeoutMs`; one that turns the connection away for good (authentication, no such database, TLS)
 * fails the bootstrap at once.
 */
export async function openQueueDatabase(options: PgQueueModuleOptions, resolved: ResolvedModuleOptions): Promise<QueueDatabase> {
  const db = options.pool
    ? new QueueDatabase(options.pool, resolved.schema, false, resolved)
    : QueueDatabase.fromConnectionString(options.connectionString as string, resolved.schema, resolved);
  try {
    await whenReachable(
      () => (resolved.migrate ? migrate(db.pool, db.schema, db.quotedSchema) : assertMigrated(db.pool, db.schema, db.quotedSchema)),
      resolved.connectTimeoutMs,
    );
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * Runs `attempt` until it gets through, as long as it fails only because PostgreSQL cannot be reached, and for at
 * most `timeoutMs` (undefined: without limit). A wait is logged once, when it starts, and once when it ends: a
 * line per retry would bury everything else during an outage of minutes.
 */
async function whenReachable(attempt: () => Promise<unknown>, timeoutMs: number | undefined): Promise<void> {
  const logger = new Logger('PgQueue');
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let waitingSince: number | undefined;
  for (let retry = 0; ; retry++) {
    try {
      await attempt();
      if (waitingSince !== undefined) logger.log(messages.databaseReachableAgain(Date.now() - waitingSince));
      return;
    } catch (error) {
      const failure = classify(error);
      if (failure === 'refused') throw new DatabaseAccessError(messages.databaseRefused(error), { cause: error });
      if (failure !== 'unreachable') throw error;
      const left = deadline - Date.now();
      if (left <= 0) throw new DatabaseUnreachableError(messages.databaseUnreachable(timeoutMs!, error), { cause: error });
      if (waitingSince === undefined) {
        waitingSince = Date.now();
        logger.warn(messages.waitingForDatabase(error, timeoutMs));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, RETRY_MAX_MS, RETRY_MIN_MS * 2 ** retry)));
    }
  }
}

/**
 * What a failure of the bootstrap's first statements means. `unreachable`: no connection yet, or a server that
 * cannot take one now (starting up, shutting down, every slot taken); worth waiting for. `refused`: PostgreSQL, or
 * the TLS layer, turned the connection away for a reason that does not heal by itself. `other`: not about the
 * connection at all (a missing privilege, a schema behind with `migrate: false`); the bootstrap fails with it as it is.
 */
function classify(error: unknown): 'unreachable' | 'refused' | 'other' {
  const { code, message, syscall } = (error ?? {}) as { code?: unknown; message?: unknown; syscall?: unknown };
  const text = typeof code === 'string' ? code : '';
  const said = typeof message === 'string' ? message : '';
  // Refusals first: a TLS or authentication failure can also end in "Connection terminated".
  if (
    text.startsWith('28') || // invalid_authorization_specification, invalid_password: wrong user, password or pg_hba.conf
    text === '3D000' || // invalid_catalog_name: the database does not exist
    TLS_CODES.has(text) ||
    /^ERR_(TLS|SSL)_/.test(text) ||
    /does not support SSL|^SASL: |password must be a/i.test(said)
  )
    return 'refused';
  if (
    UNREACHABLE_CODES.has(text) ||
    (text === 'ENOENT' && syscall === 'connect') || // no socket file yet: a local server that has not started
    text.startsWith('08') || // connection_exception
    /Connection terminated|timeout exceeded when trying to connect/i.test(said)
  )
    return 'unreachable';
  return 'other';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // DNS: in a cluster, a database's name can resolve only once its service is up.
  'ENOTFOUND',
  'EAI_AGAIN',
  '53300', // too_many_connections: max_connections, or the role's or database's CONNECTION LIMIT; slots free up
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
]);

/** Certificate checks that fail the same way on every attempt until someone changes a certificate or the settings. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);
