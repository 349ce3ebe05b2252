import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface SentStatement {
  text: string;
  /** The prepared statement's name, when it was sent as one. */
  name?: string;
}

export interface CountingPool {
  pool: Pool;
  /** Every statement sent through the pool's clients, in order. */
  statements: SentStatement[];
  /** Statements sent so far whose text contains `fragment`. */
  count(fragment: string): number;
}

/** A real pool that records what its clients send (wrapped as each client connects), to count round trips. */
export function countingPool(url: string, config: PoolConfig = {}): CountingPool {
  const pool = new Pool({ connectionString: url, ...config });
  pool.on('error', () => undefined);
  const statements: SentStatement[] = [];
  pool.on('connect', (client: PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      const [config] = args as [string | { text: string; name?: string }];
      statements.push(typeof config === 'string' ? { text: config } : { text: config.text, name: config.name });
      return query(...args);
    }) as PoolClient['query'];
  });
  return { pool, statements, count: (fragment) => statements.filter((s) => s.text.includes(fragment)).length };
}
