import { Logger } from '@nestjs/common';
import type { PgQueueModuleOptions } from '../interfaces';
import type { ResolvedModuleOptions } from '../pg-queue.options';
import { assertMigrated, migrate } from './migrator';
import { QueueDatabase } from './queue-database';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * Connects (or adopts the given pool) and brings the schema up to date before anything else uses it. A server that
 * is not reachable yet (down, starting up, failing over) is waited for, with backoff, instead of failing the boot.
 */
export async function openQueueDatabase(options: PgQueueModuleOptions, resolved: ResolvedModuleOptions): Promise<QueueDatabase> {
  const db = options.pool
    ? new QueueDatabase(options.pool, resolved.schema, false)
    : QueueDatabase.fromConnectionString(options.connectionString as string, resolved.schema);
  const logger = new Logger('PgQueue');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if (resolved.migrate) await migrate(db.pool, db.schema, db.quotedSchema);
        else await assertMigrated(db.pool, db.schema, db.quotedSchema);
        return db;
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        logger.warn(`PostgreSQL is not reachable (${(error as Error).message}); retrying in ${delay} ms.`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** Failures worth waiting out at boot: no connection, or a server that is starting up or shutting down. */
function isUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof code === 'string' ? code : '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ENOTFOUND',
      'EAI_AGAIN',
      '57P01',
      '57P02',
      '57P03',
    ].includes(text) ||
    text.startsWith('08') ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(typeof message === 'string' ? message : '')
  );
}
