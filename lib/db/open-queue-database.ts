import type { PgQueueModuleOptions } from '../interfaces';
import type { ResolvedModuleOptions } from '../pg-queue.options';
import { assertMigrated, migrate } from './migrator';
import { QueueDatabase } from './queue-database';

/** Connects (or adopts the given pool) and brings the schema up to date before anything else uses it. */
export async function openQueueDatabase(options: PgQueueModuleOptions, resolved: ResolvedModuleOptions): Promise<QueueDatabase> {
  const db = options.pool
    ? new QueueDatabase(options.pool, resolved.schema, false)
    : QueueDatabase.fromConnectionString(options.connectionString as string, resolved.schema);
  try {
    if (resolved.migrate) await migrate(db.pool, db.schema, db.quotedSchema);
    else await assertMigrated(db.pool, db.schema, db.quotedSchema);
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}
