import type { QueueLogger } from '../services/queue-logger';
import { DatabaseAccessError, DatabaseUnreachableError } from '../errors';
import { messages } from '../errors/messages';
import type { PgQueueModuleOptions } from '../interfaces';
import { assertMigrated, migrate } from './migrator';
import { connectionFailure } from './pg-errors';
import { cappedBackoff } from '../services/capped-backoff';
import { QueueDatabase, type DatabaseMode } from './queue-database';

/** What opening the database reads of the resolved module options. */
export interface OpeningSettings extends DatabaseMode {
  schema: string;
  migrate: boolean;
  /** How long to wait for an unreachable server at boot; undefined: without limit. */
  connectTimeoutMs: number | undefined;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * Connects (or adopts the given pool) and brings the schema up to date before anything else uses it. A server that
 * is not reachable yet (down, starting up, failing over, every connection slot taken) is waited for, with backoff,
 * up to `connectTimeoutMs`; one that turns the connection away for good (authentication, no such database, TLS)
 * fails the bootstrap at once.
 */
export async function openQueueDatabase(options: PgQueueModuleOptions, resolved: OpeningSettings): Promise<QueueDatabase> {
  const db = options.pool
    ? new QueueDatabase(options.pool, resolved.schema, false, resolved)
    : QueueDatabase.fromConnectionString(options.connectionString as string, resolved.schema, resolved);
  try {
    await whenReachable(
      () => (resolved.migrate ? migrate(db.pool, db.schema, db.quotedSchema) : assertMigrated(db.pool, db.schema, db.quotedSchema)),
      resolved.connectTimeoutMs,
      db.logs.for('PgQueue'),
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
async function whenReachable(attempt: () => Promise<unknown>, timeoutMs: number | undefined, logger: QueueLogger): Promise<void> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let waitingSince: number | undefined;
  for (let retry = 0; ; retry++) {
    try {
      await attempt();
      if (waitingSince !== undefined) logger.log(messages.databaseReachableAgain(Date.now() - waitingSince));
      return;
    } catch (error) {
      const failure = connectionFailure(error);
      if (failure === 'refused') throw new DatabaseAccessError(messages.databaseRefused(error), { cause: error });
      if (failure !== 'unreachable') throw error;
      const left = deadline - Date.now();
      if (left <= 0) throw new DatabaseUnreachableError(messages.databaseUnreachable(timeoutMs!, error), { cause: error });
      if (waitingSince === undefined) {
        waitingSince = Date.now();
        logger.warn(messages.waitingForDatabase(error, timeoutMs));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, cappedBackoff(retry, RETRY_MIN_MS, RETRY_MAX_MS))));
    }
  }
}
