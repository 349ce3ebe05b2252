import { Pool } from 'pg';

/** The database and schema that `migrate` and `status` work on. */
export interface SchemaTarget {
  schema: string;
  quotedSchema: string;
  databaseUrl: string;
}

/** How long to wait for a connection: the command fails rather than hang on a server that does not answer. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Runs `work` on a pool of one connection to `url`, and ends the pool whatever happens. */
export async function withPool<T>(url: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    fallback_application_name: 'nestjs-pgqueue',
  });
  // An idle connection the server ends must fail the command, not crash it with an unhandled 'error' event.
  pool.on('error', () => undefined);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
