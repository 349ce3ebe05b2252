import { Pool, type PoolClient } from 'pg';
import { queueSql, type QueueSql } from '../../lib/db/queue-sql';
import { createTestDatabase, quoteIdent, type TestDatabase } from '../support/database';
import { startQueueApp } from '../support/queue-app';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
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

describe('query plans', () => {
  let db: TestDatabase;
  let pool: Pool;
  let client: PoolClient;
  let sql: QueueSql;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = queueSql(quoteIdent(db.schema));
    const app = await startQueueApp(db, { worker: { enabled: false } }); // migrates the schema
    await app.close();
    // Statistics taken while every job waits and none runs: what a queue table looks like after a quiet spell.
    await db.query(`INSERT INTO ${db.schema}.jobs (type, payload) SELECT 'plans.job', '{}' FROM generate_series(1, 5000)`);
    await db.query(`ANALYZE ${db.schema}.jobs`);
    pool = new Pool({ connectionString: db.url, max: 1 });
    client = await pool.connect();
    // As the module's own connections plan: once, generically (see open-queue-database.ts).
    await client.query('SET plan_cache_mode = force_generic_plan');
  });
  afterAll(async () => {
    client?.release();
    await pool?.end();
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
