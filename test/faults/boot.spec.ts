/**
 * Eight worker processes booting at the same moment on a schema that does not exist yet: the migrations run once
 * (under the advisory lock), and every process comes up and claims work.
 */
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { startQueueApp } from '../support/queue-app';
import { analyzeLedger, expectHealthy, installAudit } from './support/ledger';
import { openScene, type Scene } from './support/scene';

describe('faults: a fleet booting at once', () => {
  let scene: Scene;
  let fresh: TestDatabase;

  beforeAll(async () => {
    scene = await openScene(); // holds the ledger; the queue gets a schema of its own that nobody created yet
    fresh = await createTestDatabase();
  });
  afterAll(async () => {
    await scene?.fleet.killAll();
    await fresh?.close();
    await scene?.close();
  });

  it('eight processes on an empty schema: one migration run, all eight healthy', async () => {
    const [{ exists }] = await fresh.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists', [
      fresh.schema,
    ]);
    expect(exists).toBe(false);

    const workers = Array.from({ length: 8 }, () =>
      scene.fleet.spawn({ SCHEMA: fresh.schema, LEDGER_SCHEMA: scene.schema, CONCURRENCY: 2, HANDLER_CONCURRENCY: 2 }),
    );
    await Promise.all(workers.map((w) => w.ready));

    // One run: every migration recorded once, all by the same transaction (one now() for all of them).
    const migrations = await fresh.query<{ version: number; applied_at: Date }>(
      `SELECT version, applied_at FROM "${fresh.schema}".migrations ORDER BY version`,
    );
    expect(migrations.length).toBeGreaterThanOrEqual(1);
    expect(new Set(migrations.map((m) => m.version)).size).toBe(migrations.length);
    expect(new Set(migrations.map((m) => m.applied_at.getTime())).size).toBe(1);
    for (const w of workers) expect(w.output()).not.toMatch(/error/i);

    // All healthy: sixteen held jobs fill exactly two slots in each of the eight processes.
    await installAudit(fresh.admin, fresh.schema);
    const producer = await startQueueApp(fresh, { worker: { enabled: false } });
    try {
      const jobs = await producer.queue.enqueueMany(Array.from({ length: 16 }, () => ({ type: 'fault.work', payload: { gate: 'go' } })));
      await waitFor(async () => (await scene.ledger("event = 'start'")).length === 16, { timeoutMs: 15_000, message: 'sixteen started' });
      const perProcess = new Map<number, number>();
      for (const r of await scene.ledger("event = 'start'")) perProcess.set(r.pid, (perProcess.get(r.pid) ?? 0) + 1);
      expect([...perProcess.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());
      expect([...perProcess.values()]).toEqual(Array(8).fill(2));

      scene.gates.open('go');
      const ids = jobs.map((j) => j.id);
      await waitFor(
        async () => {
          const rows = await fresh.query<{ status: string }>(`SELECT status FROM "${fresh.schema}".jobs WHERE id = ANY($1::bigint[])`, [
            ids,
          ]);
          return rows.every((r) => r.status === 'completed');
        },
        { message: 'sixteen completed' },
      );
      const report = await analyzeLedger(fresh.admin, fresh.schema, { ledgerSchema: scene.schema });
      expectHealthy(report);
      expect(report.duplicates).toEqual([]);
    } finally {
      await producer.close();
    }
  });
});
