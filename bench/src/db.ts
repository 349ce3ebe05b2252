import { Client, Pool } from 'pg';

/** Server to run on; each run creates its own databases there and drops them afterwards. */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where the BullMQ reference line looks for Redis; skipped when nothing answers there. */
export const REDIS = { host: '127.0.0.1', port: 6379 };

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A pool for the harness's own queries. pool.end() resolves before its clients have closed, and the database is
 * dropped WITH (FORCE) right after a run: the error listener keeps that from crashing the process.
 */
export function benchPool(url: string, max: number): Pool {
  const pool = new Pool({ connectionString: url, max });
  pool.on('error', () => {});
  return pool;
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `pgqueue_bench_<label>_<pid>`, runs fn against it, and drops it whatever happens. */
export async function inFreshDatabase<T>(label: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `pgqueue_bench_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${process.pid}`;
  await withClient(ADMIN_URL, (c) =>
    c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => c.query(`CREATE DATABASE ${name}`)),
  );
  try {
    return await fn(databaseUrl(name));
  } finally {
    await withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

export interface Storage {
  tableMb: number;
  indexMb: number;
}

const MB = 1024 * 1024;

/** Heap (with TOAST) and index bytes of every user table, or of one schema's tables. */
export async function storage(url: string, schema?: string): Promise<Storage> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT coalesce(sum(pg_table_size(t.oid)), 0)::float8 AS t, coalesce(sum(pg_indexes_size(t.oid)), 0)::float8 AS i
         FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE t.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND ($1::text IS NULL OR n.nspname = $1)`,
      [schema ?? null],
    );
    return { tableMb: rows[0].t / MB, indexMb: rows[0].i / MB };
  });
}

export const SERVER_SETTINGS = [
  'shared_buffers',
  'synchronous_commit',
  'fsync',
  'max_connections',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
  'work_mem',
  'autovacuum',
];

export async function serverFacts(): Promise<Record<string, string>> {
  return withClient(ADMIN_URL, async (c) => {
    const version = (await c.query('SHOW server_version')).rows[0].server_version as string;
    const facts: Record<string, string> = { version };
    for (const name of SERVER_SETTINGS) facts[name] = (await c.query(`SHOW ${name}`)).rows[0][name];
    facts.connections_in_use = String((await c.query('SELECT count(*) FROM pg_stat_activity')).rows[0].count);
    return facts;
  });
}
