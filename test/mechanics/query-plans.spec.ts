import { Pool, type PoolClient } from 'pg';
import { JOB_STATUSES, type JobSelection } from '../../lib/db/job-selection';
import { queueOperationsSql, queueSql, type QueueSql } from '../../lib/db/queue-sql';
import type { BuiltStatement, OperationsSql } from '../../lib/db/sql/operations-sql';
import type { JobStatus } from '../../lib';
import { createTestDatabase, quoteIdent, type TestDatabase } from '../support/database';
import { startQueueApp } from '../support/queue-app';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the scans of the jobs table read under EXPLAIN ANALYZE: those they returned and those they passed over. */
function rowsRead(node: PlanNode): number {
  const own =
    node['Relation Name'] === 'jobs' && node['Node Type'] !== 'ModifyTable'
      ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

/** Every scan of the jobs table in a plan: its node type and index. */
function jobsScans(node: PlanNode, found: string[] = []): string[] {
  if (node['Relation Name'] === 'jobs' && node['Node Type'] !== 'ModifyTable') {
    found.push(`${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`);
  }
  for (const child of node.Plans ?? []) jobsScans(child, found);
  return found;
}

const ids = `'{1,2,3}'`;
const tokens = `'{00000000-0000-4000-8000-000000000001,00000000-0000-4000-8000-000000000002,00000000-0000-4000-8000-000000000003}'`;

/** The writes a worker makes about jobs it holds, each fenced by id, token and status, with arguments as literals. */
const fencedWrites: Array<[keyof QueueSql, string]> = [
  ['completeJobs', `${ids}, ${tokens}, '{null,null,null}', '{NULL,NULL,NULL}', 'e', 'n'`],
  ['completeAndDeleteJobs', `${ids}, ${tokens}, 'e', 'n'`],
  ['extendLeases', `${ids}, ${tokens}, 30000`],
  ['saveProgress', `${ids}, ${tokens}, '{10,20,30}', '{NULL,NULL,NULL}', 'e'`],
  ['handBackJobs', `${ids}, ${tokens}, 'n', 'e', '{false,false,true}', 'stopped'`],
  ['failJob', `1, '00000000-0000-4000-8000-000000000001', 'boom', 0, 0, NULL, 'e', 'n', false`],
  ['snoozeJob', `1, '00000000-0000-4000-8000-000000000001', 1000, 0, NULL, 'e'`],
];

/** A row of `EXPLAIN (FORMAT JSON)`. */
type ExplainRow = { 'QUERY PLAN': Array<{ Plan: PlanNode }> };

/**
 * One connection that plans as the module's own connections do: once, generically (see open-queue-database.ts), or,
 * for listings and counts, for their values (OperationsStore).
 */
async function planning(db: TestDatabase, mode: 'generic' | 'custom'): Promise<{ client: PoolClient; close: () => Promise<void> }> {
  const pool = new Pool({ connectionString: db.url, max: 1 });
  const client = await pool.connect();
  await client.query(`SET plan_cache_mode = force_${mode}_plan`);
  return {
    client,
    close: async () => {
      client.release();
      await pool.end();
    },
  };
}

describe('query plans', () => {
  let db: TestDatabase;
  let client: PoolClient;
  let close: (() => Promise<void>) | undefined;
  let sql: QueueSql;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = queueSql(quoteIdent(db.schema));
    const app = await startQueueApp(db, { worker: { enabled: false } }); // migrates the schema
    await app.close();
    // Statistics taken while every job waits and none runs: what a queue table looks like after a quiet spell.
    await db.query(`INSERT INTO ${db.schema}.jobs (type, payload) SELECT 'plans.job', '{}' FROM generate_series(1, 5000)`);
    await db.query(`ANALYZE ${db.schema}.jobs`);
    ({ client, close } = await planning(db, 'generic'));
  });
  afterAll(async () => {
    await close?.();
    await db?.close();
  });

  it.each(fencedWrites)('%s reaches the jobs it writes through the primary key, never by scanning running jobs', async (name, args) => {
    await client.query(`PREPARE ${name} AS ${sql[name]}`);
    const { rows } = await client.query<ExplainRow>(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${args})`);
    const scans = jobsScans(rows[0]['QUERY PLAN'][0].Plan);
    // Other scans (a serial queue's next head) may use their own indexes; none reads all running jobs or the table.
    expect(scans).toContain('Index Scan using jobs_pkey');
    expect(scans.filter((scan) => scan.includes('jobs_lease_idx') || scan.startsWith('Seq Scan'))).toEqual([]);
  });

  it("finds expired leases through the rescuer's index", async () => {
    await client.query(`PREPARE rescue AS ${sql.rescueExpiredJobs}`);
    const { rows } = await client.query<ExplainRow>(`EXPLAIN (FORMAT JSON) EXECUTE rescue(100, 'expired', 'n', 'e')`);
    expect(jobsScans(rows[0]['QUERY PLAN'][0].Plan)).toContain('Index Scan using jobs_lease_idx');
  });
});

describe('query plans of listings and counts, with many finished jobs kept', () => {
  let db: TestDatabase;
  let client: PoolClient;
  let close: (() => Promise<void>) | undefined;
  let operations: OperationsSql;
  const all = JOB_STATUSES;

  beforeAll(async () => {
    db = await createTestDatabase();
    operations = queueOperationsSql(quoteIdent(db.schema));
    const app = await startQueueApp(db, { worker: { enabled: false } });
    await app.close();
    const jobs = `${db.schema}.jobs`;
    // 200k completed jobs of four types, a few hundred failed, cancelled, pending and running, some queued or keyed,
    // and, oldest of all, a few completed jobs of a rare type.
    await db.query(`INSERT INTO ${jobs} (type, payload, status, finished_at)
                    SELECT 'plans.rare', '{}', 'completed', now() FROM generate_series(1, 30)`);
    await db.query(`INSERT INTO ${jobs} (type, payload, status, finished_at)
                    SELECT 'plans.' || (i % 4), '{}', 'completed', now() FROM generate_series(1, 200000) i`);
    await db.query(`INSERT INTO ${jobs} (type, payload, status, finished_at, last_error)
                    SELECT 'plans.' || (i % 4), '{}', CASE WHEN i % 2 = 0 THEN 'failed' ELSE 'cancelled' END, now(), 'boom'
                      FROM generate_series(1, 400) i`);
    await db.query(`INSERT INTO ${jobs} (type, payload, queue, job_key) SELECT 'plans.' || (i % 4), '{}',
                      CASE WHEN i % 3 = 0 THEN 'q' || (i % 10) END, CASE WHEN i % 5 = 0 THEN 'k' || i END
                      FROM generate_series(1, 300) i`);
    await db.query(`UPDATE ${jobs} SET status = 'running', claim_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'
                     WHERE id IN (SELECT id FROM ${jobs} WHERE status = 'pending' AND job_key IS NULL LIMIT 20)`);
    await db.query(`VACUUM ANALYZE ${jobs}`);
    ({ client, close } = await planning(db, 'custom'));
  });
  afterAll(async () => {
    await close?.();
    await db?.close();
  });

  /** Runs `statement` as OperationsStore does (planned for its values) under EXPLAIN ANALYZE. */
  async function analyzed(name: string, { text, values }: BuiltStatement): Promise<PlanNode> {
    await client.query(`PREPARE ${name} AS ${text}`);
    const args = values.map((value) =>
      value instanceof Date ? `'${value.toISOString()}'` : typeof value === 'string' ? `'${value}'` : String(value),
    );
    const { rows } = await client.query<ExplainRow>(
      `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}${args.length ? `(${args.join(', ')})` : ''}`,
    );
    return rows[0]['QUERY PLAN'][0].Plan;
  }

  const statuses = (...some: JobStatus[]) => all.filter((status) => some.includes(status));
  const listings: Array<[string, JobSelection]> = [
    ['every job', { statuses: all }],
    ['failed', { statuses: statuses('failed') }],
    ['running', { statuses: statuses('running') }],
    ['one type', { statuses: all, type: 'plans.1' }],
    ['a rare type', { statuses: all, type: 'plans.rare' }],
    ['one type, failed or cancelled', { statuses: statuses('failed', 'cancelled'), type: 'plans.2' }],
    ['one serial queue', { statuses: all, queue: 'q3' }],
    ['one job key', { statuses: all, jobKey: 'k15' }],
  ];

  // What holds whatever plan a PostgreSQL version picks: a page reads a few rows per part, never the table (200k
  // rows), and a count of few jobs reads about those jobs. A plan may walk the primary key where the jobs it wants
  // are near its end, or count everything with a sequential scan when it counts most of the table.
  it.each(listings)('lists %s reading a few rows per part, never the table', async (name, selection) => {
    for (const afterId of [undefined, '150000']) {
      const plan = await analyzed(
        `list_${name.replace(/\W/g, '_')}_${afterId ?? 'first'}`,
        operations.listJobs(selection, { limit: 50, afterId }),
      );
      expect({ afterId, read: rowsRead(plan) < 2_000 }).toEqual({ afterId, read: true });
      expect(jobsScans(plan).filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
    }
  });

  const selective = listings.filter(([name]) => name !== 'every job' && name !== 'one type');
  it.each(selective)('counts %s reading about the jobs it counts', async (name, selection) => {
    const plan = await analyzed(`count_${name.replace(/\W/g, '_')}`, operations.countJobs(selection));
    expect(rowsRead(plan)).toBeLessThan(2_000);
    expect(jobsScans(plan).filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
  });
});

describe("query plan of the metrics' gauges, with many finished jobs kept", () => {
  let db: TestDatabase;
  let client: PoolClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    const app = await startQueueApp(db, { worker: { enabled: false } });
    await app.close();
    const jobs = `${db.schema}.jobs`;
    await db.query(`INSERT INTO ${jobs} (type, payload, status, finished_at)
                    SELECT 'gauges.' || (i % 4), '{}', 'completed', now() FROM generate_series(1, 100000) i`);
    await db.query(`INSERT INTO ${jobs} (type, payload, queue) SELECT 'gauges.' || (i % 4), '{}', CASE WHEN i % 3 = 0 THEN 'q' || (i % 10) END
                      FROM generate_series(1, 300) i`);
    await db.query(`UPDATE ${jobs} SET status = 'running', claim_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'
                     WHERE id IN (SELECT id FROM ${jobs} WHERE status = 'pending' LIMIT 20)`);
    await db.query(`VACUUM ANALYZE ${jobs}`);
    ({ client, close } = await planning(db, 'generic'));
  });
  afterAll(async () => {
    await close?.();
    await db?.close();
  });

  it('reads only the unfinished jobs, through their partial indexes, never the table', async () => {
    await client.query(`PREPARE gauges AS ${queueSql(quoteIdent(db.schema)).queueGauges}`);
    const { rows } = await client.query<ExplainRow>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE gauges`);
    const plan = rows[0]['QUERY PLAN'][0].Plan;
    expect(rowsRead(plan)).toBeLessThan(1_000);
    expect(jobsScans(plan).filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
  });
});
