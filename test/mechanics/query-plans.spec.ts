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

/** One connection that plans as the module's own connections do: once, generically (see open-queue-database.ts). */
async function genericPlanning(db: TestDatabase): Promise<{ client: PoolClient; close: () => Promise<void> }> {
  const pool = new Pool({ connectionString: db.url, max: 1 });
  const client = await pool.connect();
  await client.query('SET plan_cache_mode = force_generic_plan');
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
    ({ client, close } = await genericPlanning(db));
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
    // 200k completed jobs of four types, a few hundred failed, cancelled, pending and running, some queued or keyed.
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
    ({ client, close } = await genericPlanning(db));
  });
  afterAll(async () => {
    await close?.();
    await db?.close();
  });

  /** The scans of the jobs table in the generic plan of `statement`, as the module's own connections would run it. */
  async function scansOf(name: string, { text, values }: BuiltStatement): Promise<string[]> {
    await client.query(`PREPARE ${name} AS ${text}`);
    const args = values.map((value) =>
      value instanceof Date ? `'${value.toISOString()}'` : typeof value === 'string' ? `'${value}'` : String(value),
    );
    const { rows } = await client.query<ExplainRow>(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${args.length ? `(${args.join(', ')})` : ''}`);
    return jobsScans(rows[0]['QUERY PLAN'][0].Plan);
  }

  const statuses = (...some: JobStatus[]) => all.filter((status) => some.includes(status));
  const listings: Array<[string, JobSelection]> = [
    ['every job', { statuses: all }],
    ['failed', { statuses: statuses('failed') }],
    ['running', { statuses: statuses('running') }],
    ['one type', { statuses: all, type: 'plans.1' }],
    ['one type, failed or cancelled', { statuses: statuses('failed', 'cancelled'), type: 'plans.2' }],
    ['one serial queue', { statuses: all, queue: 'q3' }],
    ['one job key', { statuses: all, jobKey: 'k15' }],
  ];

  /** How many parts a selection is read in: pending jobs with and without a serial queue are two (job-selection-sql.ts). */
  const partsOf = (selection: JobSelection) => selection.statuses.length + (selection.statuses.includes('pending') ? 1 : 0);
  /** Finished statuses filtered by type, queue or key: what the indexes of migration 007 serve, in id order. */
  const listedByIndex = (selection: JobSelection) =>
    (selection.type ?? selection.queue ?? selection.jobKey)
      ? selection.statuses.filter((status) => ['completed', 'failed', 'cancelled'].includes(status)).length
      : 0;

  it.each(listings)('lists %s through an index per part, never scanning the table', async (name, selection) => {
    const first = await scansOf(`list_${name.replace(/\W/g, '_')}`, operations.listJobs(selection, { limit: 50 }));
    const next = await scansOf(`next_${name.replace(/\W/g, '_')}`, operations.listJobs(selection, { limit: 50, afterId: '150000' }));
    for (const scans of [first, next]) {
      expect(scans.filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
      // One scan per part, and the primary key fetching the page's rows.
      expect(scans).toHaveLength(partsOf(selection) + 1);
      expect(scans.filter((scan) => scan.includes('jobs_list_'))).toHaveLength(listedByIndex(selection));
    }
  });

  it.each(listings)('counts %s through an index per part, never scanning the table', async (name, selection) => {
    const scans = await scansOf(`count_${name.replace(/\W/g, '_')}`, operations.countJobs(selection));
    expect(scans.filter((scan) => scan.startsWith('Seq Scan') || scan.includes('jobs_pkey'))).toEqual([]);
    expect(scans).toHaveLength(partsOf(selection));
    expect(scans.filter((scan) => scan.includes('jobs_list_'))).toHaveLength(listedByIndex(selection));
  });
});
