/**
 * One fault scene: a fresh test schema migrated by an in-process producer (worker disabled), the ledger and the
 * audit trigger installed, file gates, and a fleet of real worker processes. Always close() it.
 */
import type { EnqueueOptions, JobSnapshot, QueueService } from '../../../lib';
import {
  adminTag,
  createTestDatabase,
  fileTag,
  testDatabaseUrl,
  waitFor,
  withApplicationName,
  type TestDatabase,
} from '../../support/database';
import { startQueueApp, type QueueApp } from '../../support/queue-app';
import { Fleet, Gates } from './fleet';
import { analyzeLedger, installAudit, installLedger, type AnalyzeOptions, type LedgerReport } from './ledger';

export interface Scene {
  db: TestDatabase;
  schema: string;
  producer: QueueApp;
  queue: QueueService;
  fleet: Fleet;
  gates: Gates;
  /** Enqueues n jobs of one type with the same payload and options; returns their ids. */
  enqueueN(n: number, type: string, payload: unknown, options?: EnqueueOptions): Promise<string[]>;
  /** Rows of the queue's jobs table. */
  jobs(ids?: string[]): Promise<
    Array<{
      id: string;
      status: string;
      attempts: number;
      locked_by: string | null;
      result: { pid?: number } | null;
      last_error: string | null;
      lease_expires_at: Date | null;
      finished_at: Date | null;
      created_at: Date;
    }>
  >;
  /** Ledger rows (events of handler runs and processes). */
  ledger(
    where?: string,
    params?: unknown[],
  ): Promise<
    Array<{
      run_id: string | null;
      job_id: string | null;
      attempt: number | null;
      token: string | null;
      pid: number;
      event: string;
      detail: Record<string, unknown> | null;
      at: Date;
    }>
  >;
  /** Waits until every given job (default: all) is completed, failed or cancelled. */
  settled(ids?: string[], timeoutMs?: number): Promise<void>;
  analyze(options?: AnalyzeOptions): Promise<LedgerReport>;
  /** The database clock. */
  now(): Promise<Date>;
  close(): Promise<void>;
}

/** Prints figures of a fault test when FAULTS_VERBOSE is set (quiet by default). */
export function note(label: string, value: unknown): void {
  if (process.env.FAULTS_VERBOSE) process.stdout.write(`[faults] ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
}

export async function openScene(): Promise<Scene> {
  const db = await createTestDatabase();
  const schema = db.schema;
  const gates = new Gates();
  let producer: QueueApp | undefined;
  try {
    await installLedger(db.admin, schema);
    producer = await startQueueApp(db, { worker: { enabled: false } });
    await installAudit(db.admin, schema);
  } catch (error) {
    await producer?.close();
    await db.close();
    gates.remove();
    throw error;
  }
  const fleet = new Fleet(db.admin, {
    DATABASE_URL: db.url,
    LEDGER_URL: withApplicationName(testDatabaseUrl(), adminTag(fileTag())),
    SCHEMA: schema,
    GATE_DIR: gates.dir,
  });
  const app = producer;
  let closed: Promise<void> | undefined;

  const scene: Scene = {
    db,
    schema,
    producer: app,
    queue: app.queue,
    fleet,
    gates,
    async enqueueN(n, type, payload, options = {}) {
      const jobs: JobSnapshot[] = await app.queue.enqueueMany(Array.from({ length: n }, () => ({ type, payload, ...options })));
      return jobs.map((j) => j.id);
    },
    async jobs(ids) {
      return db.query(
        `SELECT id::text, status, attempts, locked_by, result, last_error, lease_expires_at, finished_at, created_at
           FROM "${schema}".jobs ${ids ? 'WHERE id = ANY($1::bigint[])' : ''} ORDER BY id`,
        ids ? [ids] : [],
      );
    },
    async ledger(where = 'true', params = []) {
      return db.query(
        `SELECT run_id::text, job_id::text, attempt, token::text, pid, event, detail, at FROM "${schema}".fault_ledger WHERE ${where} ORDER BY seq`,
        params,
      );
    },
    async settled(ids, timeoutMs = 20_000) {
      await waitFor(
        async () => {
          const rows = await scene.jobs(ids);
          return rows.length > 0 && rows.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status));
        },
        { timeoutMs, intervalMs: 50, message: `jobs settled${ids ? ` (${ids.length})` : ''}` },
      ).catch(async (error) => {
        const rows = await scene.jobs(ids);
        const open = rows.filter((r) => !['completed', 'failed', 'cancelled'].includes(r.status));
        throw new Error(
          `${(error as Error).message}; not settled: ${open.map((r) => `#${r.id} ${r.status} attempts ${r.attempts}`).join(', ')}\n${fleet.outputs()}`,
        );
      });
    },
    async analyze(options = {}) {
      return analyzeLedger(db.admin, schema, { deaths: await fleet.deaths(), ...options });
    },
    async now() {
      const [{ now }] = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
      return now;
    },
    close() {
      closed ??= (async () => {
        try {
          await fleet.killAll();
          await app.close();
        } finally {
          await db.close();
          gates.remove();
        }
      })();
      return closed;
    },
  };
  return scene;
}
